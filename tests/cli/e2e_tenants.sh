# e2e_tenants.sh - sourced by t_fake_vdcd.sh after e2e_login.sh: users and
# their passwords, projects and members, quotas shown, set and enforced, and
# API tokens whose secret is shown once. The saved login is the admin's.

printf 'bobs-password\n' >"$tmp/bobpw"
printf 'bobs-new-password\n' >"$tmp/bobpw2"
printf 'short\n' >"$tmp/shortpw"
BOB=$tmp/bob/config

# --- users ---
t "user list" 0 "alice   false" -- "$VDC" user list
t "user show" 0 "name         alice" -- "$VDC" user show alice
t_stdin=$tmp/bobpw t "user create --password-stdin" 0 "user bob created" -- \
	"$VDC" user create bob --password-stdin
lacks "user create prints no note when a password was given" "no password yet"
t_stdin=$tmp/bobpw t "the new user logs in with that password" 0 "Logged in to $URL as bob" -- \
	env VDC_CONFIG="$BOB" "$VDC" login --server "$URL" --user bob
t "user create without a password says how to set one" 0 "carol has no password yet: set one with 'vdc user passwd carol'" -- \
	"$VDC" user create carol
t "user create: name taken, exit 4" 4 "a user named 'bob' already exists" -- "$VDC" user create bob
t "at a terminal, a new user's password is asked twice without echo" 0 "user dave created (system admin)" -- \
	$PTY "New password for dave (empty: none): " s3cret-pass "Retype it: " s3cret-pass -- \
	"$VDC" user create dave --admin
lacks "... and never shown" s3cret-pass
t "passwords typed differently change nothing" 2 "the passwords typed differ; nothing changed" -- \
	$PTY "New password for bob: " one-password "Retype it: " another-one -- "$VDC" user passwd bob
t_stdin=$tmp/bobpw t "the old password still works" 0 "as bob" -- \
	env VDC_CONFIG="$tmp/bob2/config" "$VDC" login --server "$URL" --user bob
t_stdin=$tmp/shortpw t "a password vdcd refuses: exit 2, named" 2 "invalid password: must be at least 8" -- \
	"$VDC" user passwd bob
t "without a terminal or stdin, passwd refuses" 2 "no password on stdin" -- "$VDC" user passwd bob
t "passwd without NAME changes your own, asked twice" 0 "password of user bob changed" -- \
	$PTY "New password for bob: " bobs-new-password "Retype it: " bobs-new-password -- \
	env VDC_CONFIG="$BOB" "$VDC" user passwd
lacks "... and never shown" bobs-new-password
t_stdin=$tmp/bobpw2 t "the new password works" 0 "as bob" -- \
	env VDC_CONFIG="$tmp/bob3/config" "$VDC" login --server "$URL" --user bob
t "a non-admin may not list users: exit 5" 5 "forbidden: only a system admin may do this" -- \
	env VDC_CONFIG="$BOB" "$VDC" user list
t "user delete" 0 "user carol deleted" -- "$VDC" user delete carol
t "user show: not found, exit 3" 3 "no user has the id or name 'carol' (see 'vdc user list')" -- \
	"$VDC" user show carol

# --- projects and members ---
t "project list shows usage" 0 "dev    0     0       -        the developers' VMs" -- "$VDC" project list
t "project create" 0 "project web created" -- "$VDC" project create web --description frontend
t "project show" 0 "description        frontend" -- "$VDC" project show web
has "project show: no quota is unlimited" "quota.vms          unlimited"
t "project add-member" 0 "user bob added to project web as viewer" -- \
	"$VDC" project add-member web bob --role viewer
t "project add-member again changes the role" 0 "user bob is now operator in project web" -- \
	"$VDC" project add-member web bob --role operator
t "project add-member: an unknown role, exit 2" 2 "unknown role 'owner': use admin, operator or viewer" -- \
	"$VDC" project add-member web bob --role owner
t "project add-member: an unknown user, exit 3" 3 "no user has the id or name 'nobody'" -- \
	"$VDC" project add-member web nobody --role viewer
lacks "... without a hint at the wrong list" "see 'vdc project list'"
t "project members" 0 "bob    operator" -- "$VDC" project members web
t "project members -o json" 0 '"role": "operator"' -- "$VDC" project members web -o json
t "the member sees the project in whoami" 0 "web (operator)" -- env VDC_CONFIG="$BOB" "$VDC" whoami
t "project remove-member" 0 "user bob removed from project web" -- "$VDC" project remove-member web bob
t "project remove-member again: exit 3" 3 "user 'bob' is not a member of project 'web'" -- \
	"$VDC" project remove-member web bob
t "a non-admin may not create projects: exit 5" 5 "forbidden" -- \
	env VDC_CONFIG="$BOB" "$VDC" project create mine
t "project delete" 0 "project web deleted" -- "$VDC" project delete web
t "project show: not found, exit 3" 3 "(see 'vdc project list')" -- "$VDC" project show web

# --- quotas ---
t "quota show: quota next to usage" 0 "vcpus      0      8           8" -- "$VDC" quota show dev
has "quota show: no quota is unlimited" "memory     0      unlimited   -"
t "quota set" 0 "quota of project dev set:" -- "$VDC" quota set dev --vcpus 4 --memory 2G
has "quota set shows the new quota" "memory     0      2Gi         2Gi"
t "quota show -o json" 0 '"memory_mib": 2048' -- "$VDC" quota show dev -o json
t "quota set: a bad size, exit 2" 2 "flag --memory: '2X' is not a size" -- "$VDC" quota set dev --memory 2X
t "quota set: nothing to set, exit 2" 2 "give at least one of --vms, --vcpus, --memory, --disk" -- \
	"$VDC" quota set dev
t "quota show: no such project, exit 3" 3 "no project has the id or name 'nope' (see 'vdc project list')" -- \
	"$VDC" quota show nope
t "vm create --project counts against its quota" 0 "vm q1 created" -- \
	"$VDC" vm create q1 --template deb --project dev
t "quota show counts the VM" 0 "vcpus      2      4           2" -- "$VDC" quota show dev
has "quota show: memory in units" "memory     1Gi    2Gi         1Gi"
t "over quota: exit 4, the quota and figures named" 4 \
	"project 'dev': the vcpus quota is 4 and 2 in use; this request would bring it to 6 (ask an administrator to raise it, or free some)" -- \
	"$VDC" vm create q2 --template deb --project dev --vcpus 4
t "quota set unlimited lifts a quota" 0 "vcpus      2      unlimited   -" -- \
	"$VDC" quota set dev --vcpus unlimited
t "a non-admin may not set quotas: exit 5" 5 "forbidden" -- \
	env VDC_CONFIG="$ALICE" "$VDC" quota set dev --vms 100

# --- API tokens ---
t "token create shows the secret once, with a warning" 0 "cannot be shown again" -- \
	"$VDC" token create ci --ttl 30d
SECRET=$(grep -o 'vdct_[0-9a-f]*' "$tmp/out" | head -1)
TID=$(sed -n 's/.*(id \([0-9a-f-]*\),.*/\1/p' "$tmp/out")
has "token create prints the secret" "  $SECRET"
t "the token works" 0 "admin (system admin)" -- "$VDC" whoami --token "$SECRET"
has "... and is the one named" "token      ci (expires: in "
t "token list" 0 "ci" -- "$VDC" token list
lacks "token list never shows a secret" "vdct_"
t "token list -o json" 0 '"name": "ci"' -- "$VDC" token list -o json
lacks "token list -o json never shows a secret" "vdct_"
t "token list --user (admin)" 0 "vdc-cli@" -- "$VDC" token list --user alice
t "token list --user (not admin): exit 5" 5 "forbidden" -- \
	env VDC_CONFIG="$BOB" "$VDC" token list --user alice
t "token create: a bad duration, exit 2" 2 "flag --ttl: '30x' is not a duration" -- \
	"$VDC" token create x --ttl 30x
t "token create: a duration vdcd refuses names the flag, as typed" 2 "invalid --ttl 400d (34560000 s): must be from 60 to 31622400" -- \
	"$VDC" token create x --ttl 400d
t "token create --ttl 5s: parsed, and vdcd's refusal shows 5s" 2 "invalid --ttl 5s (5 s): must be from 60 to 31622400" -- \
	"$VDC" token create x --ttl 5s
t "token create --ttl 5m: the confirmation echoes 5m" 0 "lasts 5m, expires: " -- "$VDC" token create five --ttl 5m
"$VDC" token create quiet --ttl 1h >"$tmp/tok.out" 2>"$tmp/tok.err"
n=$((n + 1))
if [ "$(wc -l <"$tmp/tok.out")" = 2 ] && grep -q '^  vdct_' "$tmp/tok.out" && grep -q "Store it now" "$tmp/tok.err"; then
	echo "ok $n - token create: the token on stdout, the advice on stderr"
else
	echo "not ok $n - token create: the token on stdout, the advice on stderr"; sed 's/^/#   /' "$tmp/tok.out" "$tmp/tok.err"
	failed=$((failed + 1))
fi
t "token list: expiry from the RFC 3339 time" 0 "five        admin   in " -- "$VDC" token list
t "token list -o json: expires_at is RFC 3339" 0 '"expires_at": "20' -- "$VDC" token list -o json
t "token revoke NAME" 0 "token five revoked" -- "$VDC" token revoke five
t "token revoke NAME: gone from the list" 0 -- "$VDC" token list
lacks "... five is not listed" "five "
t "token revoke: an unknown name is named, exit 3" 3 "you have no token with the id or name 'nosuch'" -- \
	"$VDC" token revoke nosuch
EXP=$("$VDC" token create soon --ttl 1h 2>/dev/null | sed -n 's/^  \(vdct_.*\)/\1/p')
curl -s -o /dev/null -X POST -H "Authorization: Bearer secret" -d '{"name":"soon"}' "$URL/api/v1/tokens/expire"
t "an expired token: its own message, not 'refused'" 5 "the token expired at 20" -- "$VDC" whoami --token "$EXP"
has "... and what to do" "the token given with --token has expired: make a new one"
lacks "... not the garbage-token words" "was refused"
t "a garbage token still gets 'refused'" 5 "the token given with --token was refused" -- \
	"$VDC" whoami --token vdct_garbage
t "token revoke" 0 "token $TID revoked" -- "$VDC" token revoke "$TID"
t "a revoked token is refused" 5 "the token given with --token was refused" -- \
	"$VDC" whoami --token "$SECRET"
t "token revoke: not found, exit 3" 3 "(see 'vdc token list')" -- "$VDC" token revoke "$TID"
