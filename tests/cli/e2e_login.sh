# e2e_login.sh - sourced by t_fake_vdcd.sh: 'vdc login' with a password (typed
# without echo at a terminal, or piped in; never an argument), and trusting
# an https vdcd's CA as ssh trusts host keys: asked, pinned, kept, and a
# changed CA refused. The CAs and certificates are made here with openssl.

# mkpki DIR: a CA and a certificate for 127.0.0.1 it signs (DIR/chain.pem,
# DIR/srv.key, DIR/ca.pem).
mkpki() {
	local d=$1
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-keyout "$d/ca.key" -out "$d/ca.pem" -subj "/CN=vdc test CA" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
		2>/dev/null &&
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/srv.key" \
			-out "$d/srv.csr" -subj /CN=127.0.0.1 2>/dev/null &&
		printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
			>"$d/ext" &&
		openssl x509 -req -in "$d/srv.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
			-days 2 -extfile "$d/ext" -out "$d/srv.pem" 2>/dev/null &&
		cat "$d/srv.pem" "$d/ca.pem" >"$d/chain.pem"
}
# fp_of PEM: the fingerprint as vdcd prints it, by openssl.
fp_of() { echo "sha256:$(openssl x509 -in "$1" -outform DER | sha256sum | cut -d' ' -f1)"; }
# cfg_of FILE KEY: a key's value in a config file.
cfg_of() { sed -n "s/^$2=//p" "$1"; }

printf 'wonderland\n' >"$tmp/pw"
printf 'not-the-password\n' >"$tmp/badpw"

# --- passwords, over plain http (on loopback) ---
ALICE=$tmp/alice/config
t "a password is never an argument" 2 "unknown flag '--password'" -- \
	"$VDC" login --server "$URL" --user alice --password wonderland
t "--user and --token together: exit 2" 2 "give --user (and type the password) or --token, not both" -- \
	"$VDC" login --server "$URL" --user alice --token secret
t "a bad --ttl: exit 2" 2 "flag --ttl: '3 days' is not a duration" -- \
	"$VDC" login --server "$URL" --user alice --ttl "3 days"
t_stdin=$tmp/badpw t "a wrong password: exit 5 and advice" 5 "check the user name and password" -- \
	env VDC_CONFIG="$ALICE" "$VDC" login --server "$URL" --user alice
[ -e "$ALICE" ] && { echo "not ok - a refused password saves nothing"; failed=$((failed + 1)); }
t_stdin=$tmp/pw t "login with a password piped in" 0 "Logged in to $URL as alice" -- \
	env VDC_CONFIG="$ALICE" "$VDC" login --server "$URL" --user alice --ttl 12h
lacks "the token is never printed" "vdct_"
has "the token is saved" "token=vdct_" "$ALICE"
t "whoami shows the user, role and token" 0 "dev (operator)" -- env VDC_CONFIG="$ALICE" "$VDC" whoami
has "whoami names the login's token" "vdc-cli@"
has "whoami shows when the token expires" "(expires: in 1"
t "whoami -o json" 0 '"admin": false' -- env VDC_CONFIG="$ALICE" "$VDC" whoami -o json
for i in 1 2 3; do "$VDC" login --server "$URL" --user mallory <"$tmp/badpw" >/dev/null 2>&1; done
t_stdin=$tmp/badpw t "repeated failures are slowed down, with advice" 1 "wait a while, then try again" -- \
	env VDC_CONFIG="$ALICE" "$VDC" login --server "$URL" --user mallory
t "at a terminal the password is asked for without echo" 0 "Logged in to $URL as alice" -- \
	$PTY "Password for alice at $URL: " wonderland -- \
	env VDC_CONFIG="$tmp/alice2/config" "$VDC" login --server "$URL" --user alice
lacks "the typed password does not show" wonderland
t "an empty password is refused" 2 "no password given" -- \
	env VDC_CONFIG="$tmp/alice2/config" "$VDC" login --server "$URL" --user alice

# --- https: vdcd's CA, trusted like an ssh host key ---
if ! mkpki "$tmp/pki1" || ! mkpki "$tmp/pki2"; then
	echo "not ok - openssl makes the test CAs"
	failed=$((failed + 1))
	return 0
fi
FP1=$(fp_of "$tmp/pki1/ca.pem")
FP2=$(fp_of "$tmp/pki2/ca.pem")
start_fake "$tmp/tport" --tls "$tmp/pki1/chain.pem" "$tmp/pki1/srv.key" "$tmp/pki1/ca.pem"
TPORT=$(cat "$tmp/tport")
SURL=https://127.0.0.1:$TPORT
TLS=$tmp/tls/config
CAFILE=$tmp/tls/ca-127.0.0.1_$TPORT.pem
ZEROS=sha256:0000000000000000000000000000000000000000000000000000000000000000

t_stdin=$tmp/pw t "https: an unknown CA is refused without a terminal, the fingerprint shown" 5 \
	"vdc login --server $SURL --ca-fingerprint $FP1" -- \
	env VDC_CONFIG="$TLS" "$VDC" login --server "$SURL" --user alice
n=$((n + 1))
if [ -e "$tmp/tls" ]; then echo "not ok $n - https: a refused CA keeps nothing"; failed=$((failed + 1))
else echo "ok $n - https: a refused CA keeps nothing"; fi
t "https: calls without a trusted CA fail, saying to log in" 6 "its CA is not trusted here yet" -- \
	env VDC_CONFIG="$TLS" "$VDC" whoami --server "$SURL" --token secret
t "https: a pinned fingerprint that differs is refused" 5 "not $ZEROS as --ca-fingerprint says" -- \
	env VDC_CONFIG="$TLS" "$VDC" login --server "$SURL" --user alice --ca-fingerprint "$ZEROS"
t "https: a malformed --ca-fingerprint: exit 2" 2 "flag --ca-fingerprint expects sha256: and 64 hex" -- \
	"$VDC" login --server "$SURL" --ca-fingerprint abc
t "https: --ca-fingerprint on plain http: exit 2" 2 "is for https servers" -- \
	"$VDC" login --server "$URL" --ca-fingerprint "$FP1" --token secret
t "https: 'n' at the trust prompt refuses" 5 "login cancelled" -- \
	$PTY "Trust it? [y/N] " n -- env VDC_CONFIG="$TLS" "$VDC" login --server "$SURL" --user alice
has "https: the prompt says the server cannot be authenticated" \
	"The authenticity of vdcd at $SURL can't be established."
has "https: the prompt shows the CA's fingerprint (openssl's)" "Its CA fingerprint is $FP1."
t "https: 'y', then the password typed without echo" 0 "Logged in to $SURL as alice" -- \
	$PTY "Trust it? [y/N] " y "Password for alice at $SURL: " wonderland -- \
	env VDC_CONFIG="$TLS" "$VDC" login --server "$SURL" --user alice
lacks "https: the typed password does not show" wonderland
has "https: the config keeps the CA's file" "ca_file=$CAFILE" "$TLS"
has "https: the config keeps the CA's fingerprint" "ca_fingerprint=$FP1" "$TLS"
n=$((n + 1))
if [ "$(fp_of "$CAFILE")" = "$FP1" ] && [ "$(stat -c %a "$CAFILE")" = 600 ] &&
	[ "$(grep -c BEGIN "$CAFILE")" = 1 ]; then
	echo "ok $n - https: the CA alone is kept, 0600"
else
	echo "not ok $n - https: the CA alone is kept, 0600"; failed=$((failed + 1))
fi
t "https: calls verify vdcd with the CA kept" 0 "ca         $FP1" -- env VDC_CONFIG="$TLS" "$VDC" whoami
t "https: --server names the same vdcd: its CA is found" 0 "alice" -- \
	env VDC_CONFIG="$TLS" VDC_SERVER="https://127.0.0.1:$TPORT/" "$VDC" whoami
t_stdin=$tmp/pw t "https: a second login finds the same CA and asks nothing" 0 "as alice" -- \
	env VDC_CONFIG="$TLS" "$VDC" login --user alice
lacks "https: ... and says nothing of trust" "Trusting"
t_stdin=$tmp/pw t "https: the fingerprint pinned in openssl's form" 0 "Trusting the CA $FP1" -- \
	env VDC_CONFIG="$tmp/tls2/config" "$VDC" login --server "$SURL" --user alice --ca-fingerprint \
	"$(openssl x509 -in "$tmp/pki1/ca.pem" -noout -fingerprint -sha256 | cut -d= -f2)"
t "https: --yes trusts unchecked, with a warning" 0 "trusting the CA of vdcd at $SURL unchecked" -- \
	env VDC_CONFIG="$tmp/tls3/config" "$VDC" login --server "$SURL" --token secret --yes

# The same address now shows another CA.
kill "$(tail -1 "$tmp/pids")"
sleep 0.2
start_fake "$tmp/tport" --port "$TPORT" --tls "$tmp/pki2/chain.pem" "$tmp/pki2/srv.key" "$tmp/pki2/ca.pem"
t "https: calls to a vdcd with another CA fail verification" 6 \
	"does not verify with the CA trusted at login ($CAFILE)" -- env VDC_CONFIG="$TLS" "$VDC" whoami
t_stdin=$tmp/pw t "https: a login finding another CA is refused loudly, even with --yes" 5 \
	"WARNING: THE CA OF VDCD HAS CHANGED!" -- env VDC_CONFIG="$TLS" "$VDC" login --user alice --yes
has "https: ... naming both fingerprints" "CA offered:   $FP2"
has "https: ... and how to reset" "vdc login --server $SURL --ca-fingerprint $FP2"
has "https: the config still holds the old CA" "ca_fingerprint=$FP1" "$TLS"
t_stdin=$tmp/pw t "https: --ca-fingerprint of the new CA replaces the old" 0 "is replaced" -- \
	env VDC_CONFIG="$TLS" "$VDC" login --user alice --ca-fingerprint "$FP2"
has "https: the config holds the new CA" "ca_fingerprint=$FP2" "$TLS"
t "https: calls verify with the new CA" 0 "alice" -- env VDC_CONFIG="$TLS" "$VDC" whoami
cp "$tmp/pki1/ca.pem" "$CAFILE"
t "https: a CA file changed behind vdc's back is refused at login" 5 "no longer holds the CA" -- \
	env VDC_CONFIG="$TLS" "$VDC" login --token secret
