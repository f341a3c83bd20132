#!/usr/bin/env bash
# t_tls.sh - TLS everywhere: vdcd serves HTTPS with its own CA and refuses
# plain HTTP except on loopback; an agent joins pinning the CA by its
# fingerprint (a wrong one is refused by the agent and does not burn the
# token), then heartbeats over mutual TLS; heartbeats and the agent's API
# refuse clients without the right certificate (none, another CA's,
# another host's, a removed host's); vdcd also serves an operator's
# certificate; and no key, token or secret is in the logs or the store.
source "$(dirname "$0")/lib.sh"

OSSL=$TMP/ossl
mkdir -p "$OSSL"
# ossl_ca NAME: a P-256 CA made with openssl (not vdc's code).
ossl_ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$OSSL/$1.key" \
		-out "$OSSL/$1.pem" -days 30 -subj "/CN=$1" >/dev/null 2>&1
}
# ossl_leaf CA NAME CN SAN: a leaf of that CA for server and client use.
ossl_leaf() {
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$OSSL/$2.key" \
		-out "$OSSL/$2.csr" -subj "/CN=$3" >/dev/null 2>&1 &&
		openssl x509 -req -in "$OSSL/$2.csr" -CA "$OSSL/$1.pem" -CAkey "$OSSL/$1.key" -days 30 \
			-out "$OSSL/$2.pem" -extfile <(printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=%s\n' "$4") \
			>/dev/null 2>&1
}
fp_of() { echo "sha256:$(openssl x509 -in "$1" -outform DER | sha256sum | cut -d' ' -f1)"; }
TOKENS=()

# --- plain HTTP only on loopback, and only when asked for ----------------
fabric_up
out=$("$VDCD" --listen "$MGR_IP:7443" --data-dir "$TMP/plain" --plain-http 2>&1)
rc=$?
check "vdcd refuses --plain-http on a non-loopback address (exit 2)" test "$rc" = 2
check "... saying it needs a loopback address or HTTPS" grep -q 'only on a loopback --listen' <<<"$out"
diag "$out"
port=$(free_port $((20000 + $$ % 20000)))
"$VDCD" --listen "127.0.0.1:$port" --data-dir "$TMP/plain" --plain-http >>"$TMP/plain.log" 2>&1 &
plain_pid=$!
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.05; done
check "vdcd serves plain HTTP on loopback when asked" curl -sf -o /dev/null "http://127.0.0.1:$port/healthz"
check "... and has no CA to show then (404)" test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/api/v1/ca")" = 404
check "... and stops cleanly (exit 0; fails if it had died already)" daemon_stop "vdcd on plain HTTP" "$plain_pid"

# --- vdcd over HTTPS with its own CA -------------------------------------
vdcd_start --heartbeat-timeout-s 3 || { not_ok "vdcd starts with TLS"; finish; exit 1; }
ok "vdcd starts with TLS by default"
check "the CA key is private (0600)" test "$(stat -c %a "$TMP/vdcd/tls/ca.key")" = 600
check "the server key is private (0600)" test "$(stat -c %a "$TMP/vdcd/tls/server.key")" = 600
check "GET /api/v1/ca gives the CA's fingerprint (sha256 of its DER)" test "$CA_FP" = "$(fp_of "$MGR_CACERT")"
check "vdcd logs the CA fingerprint at start" grep -q "ca_fingerprint=$CA_FP" "$TMP/vdcd.log"
curl -s -o /dev/null --max-time 5 "http://$MGR_IP:7443/healthz"
check "plain HTTP to the HTTPS port gets no answer" test $? -ne 0
check "a client that does not trust vdcd's CA refuses it" \
	test "$(curl -s -o /dev/null -w '%{http_code}' "$MGR_URL/healthz")" = 000
mapi POST /api/v1/clusters '{"name":"c1"}'
check "an admin call over HTTPS works" test "$STATUS" = 201

# --- the join, pinned -------------------------------------------------------
mapi POST /api/v1/hosts/join-tokens '{"cluster":"c1"}'
check "a join token comes with the CA fingerprint" test "$(jget "$BODY" .ca_fingerprint)" = "$CA_FP"
tok=$(jget "$BODY" .token)
TOKENS+=("$tok")
host_ns h1
h1_ip=$(cat "$(dir_of h1)/mgmt_ip")
join_flags=(--listen 0.0.0.0:7441 --manager-url "$MGR_URL" --join-token "$tok" --host-name h1
	--advertise-url "https://$h1_ip:7441")

agent_launch h1 "${join_flags[@]}"
wait_dead "$(agent_pid h1)"
agent_stop h1
check "an agent refuses to join over https without --manager-ca-fingerprint" \
	grep -q 'event=manager_ca_fingerprint_missing' "$(dir_of h1)/agent.log"
agent_launch h1 --listen 0.0.0.0:7441 --manager-url "http://$MGR_IP:7443" --join-token "$tok" --host-name h1
wait_dead "$(agent_pid h1)"
agent_stop h1
check "an agent refuses plain HTTP to a vdcd off loopback" grep -q 'event=plain_http_refused' "$(dir_of h1)/agent.log"
agent_launch h1 --listen 0.0.0.0:7441
wait_dead "$(agent_pid h1)"
agent_stop h1
check "an agent without a certificate refuses to serve plain HTTP off loopback" \
	grep -q 'event=plain_http_refused listen=0.0.0.0:7441' "$(dir_of h1)/agent.log"

wrong=sha256:$(printf '%064d' 0)
agent_launch h1 "${join_flags[@]}" --manager-ca-fingerprint "$wrong"
for _ in $(seq 1 100); do
	grep -q 'event=join_refused' "$(dir_of h1)/agent.log" && break
	sleep 0.1
done
check "the agent refuses a vdcd whose CA does not match the pin, naming both" \
	grep -q "event=join_refused reason=manager_ca_mismatch manager_ca=$CA_FP pinned=$wrong" "$(dir_of h1)/agent.log"
check "... and does not serve its API meanwhile" \
	test "$(in_ns h1 curl -sk -o /dev/null -w '%{http_code}' --max-time 2 https://127.0.0.1:7441/healthz)" = 000
mapi GET /api/v1/hosts/h1
check "... and is not joined" test "$STATUS" = 404
check "the agent with the wrong pin stops cleanly (exit 0)" agent_stop h1

agent_start h1 "${join_flags[@]}" --manager-ca-fingerprint "$CA_FP" || not_ok "h1 starts with the right pin"
for _ in $(seq 1 100); do
	mapi GET /api/v1/hosts/h1
	[ "$(jget "$BODY" '.capacity.cpus // empty')" != "" ] && break
	sleep 0.1
done
check "with the right pin the same token joins (it was not burned)" test "$(jget "$BODY" .state)" = connected
h1_id=$(jget "$BODY" .id)
h1_doc=$BODY
st=$(dir_of h1)/st
check "the host's certificate is what vdcd recorded" test "$(jget "$h1_doc" .cert_fingerprint)" = "$(fp_of "$st/tls/agent.pem")"
check "the host's key is private (0600)" test "$(stat -c %a "$st/tls/agent.key")" = 600
check "the host's certificate names its id and its address" \
	bash -c "openssl x509 -in '$st/tls/agent.pem' -noout -subject -ext subjectAltName | tr -d ' ' | grep -q 'CN=$h1_id' &&
		openssl x509 -in '$st/tls/agent.pem' -noout -ext subjectAltName | grep -q 'IP Address:$h1_ip'"
check "the agent says it runs mutual TLS" grep -q 'event=agent_ready listen=0.0.0.0:7441 tls=mutual' "$(dir_of h1)/agent.log"
beats=$(grep -c 'host.heartbeat' "$TMP/vdcd.log")
mapi GET /api/v1/hosts/h1
last=$(jget "$BODY" .last_heartbeat_epoch)
for _ in $(seq 1 50); do
	sleep 0.1
	mapi GET /api/v1/hosts/h1
	[ "$(jget "$BODY" .last_heartbeat_epoch)" -gt "$last" ] && break
done
check "the joined agent keeps heartbeating over mutual TLS" test "$(jget "$BODY" .last_heartbeat_epoch)" -gt "$last"
check "... with no refusals" test "$(grep -c 'host.heartbeat' "$TMP/vdcd.log")" = "$beats"
h1_secret=$(jq -r .host_secret "$st/manager.json")

# --- who may heartbeat ----------------------------------------------------
# beat [curl flags...]: a heartbeat for h1 with its secret; prints the status.
beat() {
	curl -s -o "$TMP/beat" -w '%{http_code}' --cacert "$MGR_CACERT" -X POST \
		-H "Authorization: Bearer $h1_secret" -H 'Content-Type: application/json' \
		-d '{"cpus":1,"memory_mib":64}' "$@" "$MGR_URL/api/v1/hosts/$h1_id/heartbeat"
}
code() { jq -r .error.code "$TMP/beat"; }
check "a heartbeat with the host's certificate and secret is taken (200)" \
	test "$(beat --cert "$st/tls/agent.pem" --key "$st/tls/agent.key")" = 200
check "a heartbeat without a client certificate is refused (401)" \
	test "$(beat)/$(code)" = 401/client_certificate_required
ossl_ca other
ossl_leaf other fake "$h1_id" "IP:$h1_ip"
check "a heartbeat with a certificate of another CA (CN the host id) is refused (401)" \
	test "$(beat --cert "$OSSL/fake.pem" --key "$OSSL/fake.key")/$(code)" = 401/client_certificate_required
check "a heartbeat with another certificate of vdcd's CA (vdcd's own) is refused (403)" \
	test "$(beat --cert "$TMP/vdcd/tls/server.pem" --key "$TMP/vdcd/tls/server.key")/$(code)" = 403/forbidden
mapi GET '/api/v1/events?limit=1000'
check "refused heartbeats are audit events" \
	test "$(jq '[.items[] | select(.action=="host.heartbeat" and .outcome=="refused")] | length' <<<"$BODY")" -ge 1

# --- who may drive the agent -------------------------------------------------
# aapi [curl flags...]: GET /api/v1/vms on h1's agent with its token; the status.
aapi() {
	curl -s -o "$TMP/aapi" -w '%{http_code}' --max-time 5 --cacert "$TMP/vdcd/tls/ca.pem" \
		-H "Authorization: Bearer $TOKEN" "$@" "https://$h1_ip:7441/api/v1/vms"
}
check "vdcd's client certificate drives the agent (200)" \
	test "$(aapi --cert "$TMP/vdcd/tls/server.pem" --key "$TMP/vdcd/tls/server.key")" = 200
check "the agent's API without a client certificate is refused (401)" \
	test "$(aapi)/$(jq -r .error.code "$TMP/aapi")" = 401/client_certificate_required
check "... with a host's certificate instead of vdcd's (403)" \
	test "$(aapi --cert "$st/tls/agent.pem" --key "$st/tls/agent.key")/$(jq -r .error.code "$TMP/aapi")" = 403/forbidden
ossl_leaf other fakevdcd vdcd "IP:$MGR_IP"
check "... with a certificate of another CA named vdcd (401)" \
	test "$(aapi --cert "$OSSL/fakevdcd.pem" --key "$OSSL/fakevdcd.key")" = 401
check "... and over plain HTTP it answers nothing" \
	test "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$h1_ip:7441/api/v1/vms")" = 000
api h1 GET /api/v1/host
check "vdcd's view of the agent (mTLS with vdcd's certificate) works" test "$STATUS" = 200

# --- a removed host's certificate is revoked -------------------------------
mapi DELETE /api/v1/hosts/h1
check "the host is removed" test "$STATUS" = 204
check "a removed host's certificate is refused (403 certificate_revoked)" \
	test "$(beat --cert "$st/tls/agent.pem" --key "$st/tls/agent.key")/$(code)" = 403/certificate_revoked
for _ in $(seq 1 50); do
	grep -q 'event=heartbeat_failed.*status=403.*revoked' "$(dir_of h1)/agent.log" && break
	sleep 0.1
done
check "the removed agent's own heartbeats are refused as revoked" \
	grep -q 'event=heartbeat_failed.*status=403.*revoked' "$(dir_of h1)/agent.log"
mapi GET '/api/v1/events?limit=1000'
check "the revocation is an audit event" \
	test "$(jq -r --arg id "$h1_id" '[.items[] | select(.action=="host.certificate_revoke" and .target_id==$id)] | length' <<<"$BODY")" = 1
check "the agent stops cleanly (exit 0)" agent_stop h1

# --- an operator's certificate --------------------------------------------
vdcd_stop
ossl_ca opca
ossl_leaf opca opsrv vdcd.example "IP:$MGR_IP,DNS:vdcd.example"
VDCD_CACERT=$OSSL/opca.pem vdcd_start --heartbeat-timeout-s 3 --tls-cert "$OSSL/opsrv.pem" \
	--tls-key "$OSSL/opsrv.key" --tls-ca "$OSSL/opca.pem" || not_ok "vdcd starts with an operator's certificate"
check "with an operator's certificate, agents pin the operator's CA" test "$CA_FP" = "$(fp_of "$OSSL/opca.pem")"
check "... and vdcd serves that certificate" \
	bash -c "openssl s_client -connect $MGR_IP:7443 -CAfile '$OSSL/opca.pem' </dev/null 2>/dev/null | grep -q 'Verify return code: 0'"
mapi POST /api/v1/clusters '{"name":"c2"}'
host_join h2 c2 || not_ok "h2 joins a vdcd with an operator's certificate"
TOKENS+=("$(jget "$BODY" .token)")
for _ in $(seq 1 100); do
	mapi GET /api/v1/hosts/h2
	[ "$(jget "$BODY" '.capacity.cpus // empty')" != "" ] && break
	sleep 0.1
done
check "... and heartbeats to it" test "$(jget "$BODY" .state)" = connected
api h2 GET /api/v1/host
check "... and vdcd drives it with its client certificate" test "$STATUS" = 200
check "h2 stops cleanly (exit 0)" agent_stop h2
check "vdcd stops cleanly (exit 0)" vdcd_stop

# --- no secret in logs or in the store ------------------------------------
secrets=("$ADMIN_TOKEN" "$h1_secret" "${TOKENS[@]}")
[ -f "$(dir_of h2)/st/manager.json" ] && secrets+=("$(jq -r .host_secret "$(dir_of h2)/st/manager.json")")
logs=("$TMP/vdcd.log" "$TMP/plain.log" "$(dir_of h1)/agent.log" "$(dir_of h2)/agent.log")
store=("$TMP/vdcd"/vdcd.db*)
check "no private key in any log or in the store" bash -c '! grep -aq "PRIVATE KEY" "$@"' _ "${logs[@]}" "${store[@]}"
leaked=0
for s in "${secrets[@]}"; do
	[ -n "$s" ] && [ "$s" != null ] || continue
	grep -aqF "$s" "${logs[@]}" "${store[@]}" && { leaked=1; diag "a secret (${s:0:5}...) is in a log or the store"; }
done
check "no token or host secret (${#secrets[@]} of them) in any log or in the store" test "$leaked" = 0
finish
