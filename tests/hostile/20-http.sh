# 20-http.sh - HTTP tricks against vdcd itself, over raw TLS: request
# smuggling (RFC 9112 framing ambiguities, a DELETE hidden in a body), an
# unknown Transfer-Encoding, '/' and NUL hidden as %2f and %00 in a path,
# and invalid UTF-8 in a path id. Sourced by t_hostile.sh.
# shellcheck shell=bash

# raw_tls: sends stdin as raw bytes to vdcd over TLS and prints everything
# vdcd answers until it closes the connection (or 5 s of silence).
raw_tls() {
	python3 -c '
import socket, ssl, sys
host, port, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
data = sys.stdin.buffer.read()
with socket.create_connection((host, port), timeout=5) as raw:
    with ctx.wrap_socket(raw, server_hostname=host) as s:
        s.sendall(data)
        out = b""
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                out += b
        except (socket.timeout, ssl.SSLError, ConnectionError):
            pass
sys.stdout.write(out.decode("latin-1"))
' "$MGR_IP" 7443 "$MGR_CACERT"
}

# A token of alice's that only a smuggled DELETE could remove.
as "$T_A" POST /api/v1/tokens '{"name":"smuggle-victim"}'
H20_VICTIM=$(jget "$BODY" '.id // empty')
[ -n "$H20_VICTIM" ] || diag "could not make the victim token: $STATUS $BODY"

# h20_smuggle NAME FRAMING BODY: alice's POST with FRAMING headers and BODY,
# then a DELETE of the victim token in the same bytes; sets H20_OUT.
h20_smuggle() {
	local framing=$2 body=$3
	H20_OUT=$(printf 'POST /api/v1/tokens HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n%s\r\n%s''DELETE /api/v1/tokens/%s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n' \
		"$MGR_IP" "$T_A" "$framing" "$body" "$H20_VICTIM" "$MGR_IP" "$T_A" | raw_tls)
}

# h20_refused STATUS CODE: H20_OUT is exactly one answer, STATUS with error
# CODE, and the victim token is still there.
h20_refused() {
	local want=$1 code=$2 n
	n=$(grep -c '^HTTP/1\.1 ' <<<"$H20_OUT")
	if ! head -1 <<<"$H20_OUT" | grep -q "^HTTP/1\.1 $want " || ! grep -q "\"code\":\"$code\"" <<<"$H20_OUT" || [ "$n" != 1 ]; then
		diag "want one $want $code, got: $(head -c 600 <<<"$H20_OUT" | tr '\r\n' '  ')"
		return 1
	fi
	as "$T_A" GET /api/v1/tokens
	if [ "$(jget "$BODY" "[.items[] | select(.id == \"$H20_VICTIM\")] | length")" != 1 ]; then
		diag "the victim token is gone: the smuggled DELETE ran"
		return 1
	fi
}

h20_smuggle clte $'Content-Length: 5\r\nTransfer-Encoding: chunked\r\n' $'0\r\n\r\n'
attack H20.1 "Content-Length with Transfer-Encoding, a DELETE smuggled behind the body: 400 ambiguous_framing, the DELETE never runs" \
	h20_refused 400 ambiguous_framing
h20_smuggle tecl $'Transfer-Encoding: chunked\r\nContent-Length: 90\r\n' $'0\r\n\r\n'
attack H20.2 "Transfer-Encoding then Content-Length (the other order): 400, the smuggled DELETE never runs" \
	h20_refused 400 ambiguous_framing
h20_smuggle clcl $'Content-Length: 0\r\nContent-Length: 30\r\n' ''
attack H20.3 "two different Content-Length headers: 400, the smuggled DELETE never runs" \
	h20_refused 400 ambiguous_framing
h20_smuggle clcl-same $'Content-Length: 2\r\nContent-Length: 2\r\n' '{}'
attack H20.4 "two equal Content-Length headers: 400 too (vdcd refuses any repeat)" \
	h20_refused 400 ambiguous_framing
h20_smuggle te-gzip $'Transfer-Encoding: gzip\r\n' ''
attack H20.5 "Transfer-Encoding: gzip (not understood): 501 unsupported_transfer_encoding, nothing after it runs" \
	h20_refused 501 unsupported_transfer_encoding
h20_smuggle te-list $'Transfer-Encoding: gzip, chunked\r\n' $'0\r\n\r\n'
attack H20.6 "Transfer-Encoding: gzip, chunked: 501 unsupported_transfer_encoding" \
	h20_refused 501 unsupported_transfer_encoding

# The control: the same bytes without the ambiguity do delete (so the
# checks above could fail). Done last: it removes the victim.
h20_control() {
	H20_OUT=$(printf 'DELETE /api/v1/tokens/%s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n' \
		"$H20_VICTIM" "$MGR_IP" "$T_A" | raw_tls)
	head -1 <<<"$H20_OUT" | grep -Eq '^HTTP/1\.1 20[04] ' || { diag "control DELETE: $(head -1 <<<"$H20_OUT")"; return 1; }
	as "$T_A" GET /api/v1/tokens
	[ "$(jget "$BODY" "[.items[] | select(.id == \"$H20_VICTIM\")] | length")" = 0 ]
}
attack H20.7 "control: the DELETE sent plainly over the same raw TLS does run" h20_control

# h20_path METHOD PATH NAMES: refused 400 invalid_path, the message naming NAMES.
h20_path() {
	as "$T_A" "$1" "$2"
	if [ "$STATUS" != 400 ] || [ "$(jget "$BODY" .error.code)" != invalid_path ] ||
		! grep -qF "$3" <<<"$(jget "$BODY" .error.message)"; then
		diag "$1 $2: $STATUS $BODY"
		return 1
	fi
}
attack H20.8 "%2f in a path segment (GET /api/v1/vms/a%2fb): 400 invalid_path naming %2f" \
	h20_path GET /api/v1/vms/a%2fb %2f
attack H20.9 "%2F in a path segment of a DELETE: 400 invalid_path naming %2F" \
	h20_path DELETE /api/v1/tokens/x%2F..%2Fy %2F
attack H20.10 "%00 in a path segment (GET /api/v1/vms/web%00.json): 400 invalid_path naming %00" \
	h20_path GET /api/v1/vms/web%00.json %00
attack H20.11 "invalid UTF-8 in a path id (GET /api/v1/vms/%ff): 400 invalid_path, not 500" \
	h20_path GET /api/v1/vms/%ff UTF-8
h20_utf8_ok() {
	as "$T_A" GET /api/v1/vms/caf%C3%A9
	[ "$STATUS" = 404 ] || { diag "GET /api/v1/vms/café: $STATUS $BODY"; return 1; }
}
attack H20.12 "a valid UTF-8 path id that does not exist: 404 not_found, as any unknown id" h20_utf8_ok
