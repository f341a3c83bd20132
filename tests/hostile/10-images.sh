# 10-images.sh - host files through images (issue 9's critical finding): a
# template made of /var/lib/vdcd/admin.token or /etc/shadow, whose clone
# (qemu-img as root, following the backing file) gave a tenant the admin
# token. Images are now objects of the library, checked by their header;
# no path a tenant gives reaches a host. Sourced by t_hostile.sh.

IMG_TMP=$TMP/hostile-images
mkdir -p "$IMG_TMP"
# upload TOKEN ID FILE: PUT the file as the image's bytes; sets STATUS, BODY.
upload() {
	local out=$IMG_TMP/up-body
	STATUS=$(curl -s -o "$out" -w '%{http_code}' --max-time 120 -X PUT --cacert "$MGR_CACERT" \
		${1:+-H "Authorization: Bearer $1"} -H 'Content-Type: application/octet-stream' \
		-T "$3" "$MGR_URL/api/v1/images/$2/file")
	BODY=$(cat "$out")
}
spool_empty() { [ -z "$(ls -A "$TMP/vdcd/images/.spool" 2>/dev/null)" ]; }
library_has() { [ -e "$TMP/vdcd/images/$1" ]; }

# I1: host paths as a template's images.
for key in image kernel initrd; do
	as "$T_A" POST /api/v1/templates "$(jq -nc --arg k "$key" '{name:"stolen", image:"x"} | .[$k]="/var/lib/vdcd/admin.token"')"
	attack I1 "a template whose $key is /var/lib/vdcd/admin.token: 400 naming $key, a host path" \
		test "$STATUS/$(jget "$BODY" .error.field)/$(jget "$BODY" .error.message | grep -c 'host path')" = "400/$key/1"
done
as "$T_A" POST /api/v1/vms '{"name":"stolen","template":"/etc/shadow","start":false}'
attack I1 "a VM whose template is a path: 400, nothing made" test "$STATUS" = 400

# I2: imports read vdcd's host: administrators only, and only beneath the
# import directory.
as "$T_A" POST /api/v1/images '{"name":"imp","import_from":"test-guest/vmlinuz","kind":"kernel"}'
attack I2 "an operator's import: 403 naming import_from" test "$STATUS/$(jget "$BODY" .error.field)" = 403/import_from
for p in ../../etc/shadow /etc/shadow test-guest/../../../etc/shadow ./test-guest/vmlinuz; do
	mapi POST /api/v1/images "$(jq -nc --arg p "$p" '{name:"imp", import_from:$p, kind:"kernel"}')"
	attack I2 "an administrator's import of '$p': 400 naming import_from" \
		test "$STATUS/$(jget "$BODY" .error.field)" = 400/import_from
done
link=$CACHE/.hostile-$$-shadow
ln -sf /etc/shadow "$link"
mapi POST /api/v1/images "{\"name\":\"imp-link\",\"import_from\":\"$(basename "$link")\",\"kind\":\"disk\",\"format\":\"raw\"}"
if [ "$STATUS" = 202 ]; then
	tid=$(jget "$BODY" .task.id)
	task_wait "$tid" 30
	mapi GET "/api/v1/tasks/$tid"
	attack I2 "a symlink out of the import directory: the import fails saying it leads out" \
		grep -q "leads out of the import directory" <<<"$(jget "$BODY" .error.message)"
	mapi GET /api/v1/images/imp-link
	attack I2 "... and no image is left behind" test "$STATUS" = 404
else
	attack I2 "a symlink out of the import directory is refused" test "$STATUS" = 400
fi
rm -f "$link"

# I3: uploads judged by their header.
as "$T_A" POST /api/v1/images '{"name":"evil"}'
EVIL=$(jget "$BODY" .id)
attack I3 "an operator makes an image of her project (201, queued)" \
	test "$STATUS/$(jget "$BODY" .state)/$(jget "$BODY" '.project_id != null')" = 201/queued/true
qemu-img create -q -f qcow2 -F raw -b /etc/shadow "$IMG_TMP/backed.qcow2" 1M
upload "$T_A" "$EVIL" "$IMG_TMP/backed.qcow2"
attack I3 "a qcow2 whose backing file is /etc/shadow: 400 invalid_image naming it" \
	test "$STATUS/$(jget "$BODY" .error.code)/$(jget "$BODY" .error.message | grep -c "backing file ('/etc/shadow')")" = 400/invalid_image/1
qemu-img create -q -f qcow2 -o data_file="$IMG_TMP/data.raw" "$IMG_TMP/datafile.qcow2" 1M
upload "$T_A" "$EVIL" "$IMG_TMP/datafile.qcow2"
attack I3 "a qcow2 with an external data file: 400 invalid_image" \
	test "$STATUS/$(jget "$BODY" .error.code)/$(jget "$BODY" .error.message | grep -c 'external data file')" = 400/invalid_image/1
as "$T_A" POST /api/v1/images '{"name":"evil-raw","format":"raw"}'
upload "$T_A" "$(jget "$BODY" .id)" "$IMG_TMP/backed.qcow2"
attack I3 "a qcow2 declared raw (to smuggle its header past the check): 400" \
	test "$STATUS/$(jget "$BODY" .error.message | grep -c 'declared raw but is a qcow2')" = 400/1
as "$T_A" POST /api/v1/images '{"name":"evil-kernel","kind":"kernel"}'
upload "$T_A" "$(jget "$BODY" .id)" "$IMG_TMP/backed.qcow2"
attack I3 "a kernel that is no bzImage: 400" \
	test "$STATUS/$(jget "$BODY" .error.message | grep -c 'not an x86 Linux kernel')" = 400/1
mapi GET "/api/v1/images/$EVIL"
attack I3 "refused uploads leave the image queued, with no file in the library or the spool" \
	eval 'test "$(jget "$BODY" .state)" = queued && ! library_has "$EVIL" && spool_empty'

# I4: size, roles, tokens, immutability.
truncate -s 80M "$IMG_TMP/big.raw"
as "$T_A" POST /api/v1/images '{"name":"big","format":"raw"}'
BIG=$(jget "$BODY" .id)
upload "$T_A" "$BIG" "$IMG_TMP/big.raw"
attack I4 "an upload over --image-max-bytes: 413, nothing kept" \
	eval 'test "$STATUS" = 413 && ! library_has "$BIG" && spool_empty'
upload "" "$EVIL" "$GUEST/data-template.qcow2"
attack I4 "an upload without a token: 401, nothing spooled" eval 'test "$STATUS" = 401 && spool_empty'
upload "$T_V" "$EVIL" "$GUEST/data-template.qcow2"
attack I4 "a viewer's upload: 403" test "$STATUS" = 403
upload "$T_B" "$EVIL" "$GUEST/data-template.qcow2"
attack I4 "another project's operator uploading to alice's image: 404" test "$STATUS" = 404
# Judged before the body: at 1 MiB/s a 60 MiB upload would take a minute if
# vdcd read it all before answering.
truncate -s 60M "$IMG_TMP/slow.raw"
start=$SECONDS
STATUS=$(curl -s -o /dev/null -w '%{http_code}' --max-time 90 --limit-rate 1M -X PUT --cacert "$MGR_CACERT" \
	-H "Authorization: Bearer $T_B" -T "$IMG_TMP/slow.raw" "$MGR_URL/api/v1/images/$EVIL/file")
attack I4 "... refused before its bytes are read: 404 within 20 s of a 60 s upload ($((SECONDS - start)) s)" \
	test "$STATUS" = 404 -a $((SECONDS - start)) -lt 20
upload "$T_A" "$EVIL" "$GUEST/data-template.qcow2"
attack I4 "a clean qcow2 is accepted (200, active, its SHA-256 recorded)" \
	test "$STATUS/$(jget "$BODY" .state)/$(jget "$BODY" .sha256)" = "200/active/$(sha256sum <"$GUEST/data-template.qcow2" | cut -d' ' -f1)"
upload "$T_A" "$EVIL" "$GUEST/vmlinuz"
attack I4 "an active image is never overwritten: 409" test "$STATUS" = 409

# I5: another project's images are invisible and unusable.
as "$T_B" POST /api/v1/images '{"name":"pb-secret"}'
upload "$T_B" "$(jget "$BODY" .id)" "$GUEST/data-template.qcow2"
as "$T_A" GET /api/v1/images/pb-secret
attack I5 "alice reads pb's image: 404" test "$STATUS" = 404
as "$T_A" POST /api/v1/templates '{"name":"steal-pb","image":"pb-secret"}'
attack I5 "alice's template of pb's image: 400 'no image named' (as if missing)" \
	test "$STATUS/$(jget "$BODY" .error.field)/$(jget "$BODY" .error.message | grep -c 'no image named')" = 400/image/1
as "$T_A" GET /api/v1/images
attack I5 "alice's image list holds hers and the shared ones, none of pb's" \
	test "$(jget "$BODY" '[.items[] | select(.name == "pb-secret")] | length')" = 0
as "$T_A" DELETE /api/v1/images/pb-secret
attack I5 "alice deletes pb's image: 404" test "$STATUS" = 404

# I6: the end of the old chain: a template of alice's own image, a VM,
# its clone: the clone's disk is a copy of her VM's disk, found by the
# host itself; no file name crosses the API.
mgr_guest_template hostile-own "$T_A" ".image=\"$EVIL\""
attack I6 "a template of her own uploaded image (201)" test "$STATUS" = 201
as "$T_A" POST /api/v1/vms '{"name":"own","template":"hostile-own","start":false}'
[ "$STATUS" = 202 ] || diag "create own: $STATUS $BODY"
task_wait "$(jget "$BODY" .task.id)" 120
attack I6 "a VM of it is made" test "$TASK_STATE" = succeeded
as "$T_A" POST /api/v1/vms/own/clone '{"name":"own-clone"}'
task_wait "$(jget "$BODY" .task.id)" 120
attack I6 "its clone is made" test "$TASK_STATE" = succeeded
own_id=$(as "$T_A" GET /api/v1/vms/own-clone >/dev/null; jget "$BODY" .id)
api h1 GET "/api/v1/vms/$(as "$T_A" GET /api/v1/vms/own-clone >/dev/null; jget "$BODY" '.config.agent_name // .name')"
attack I6 "the host copied the source VM's own disk (source_vm), given no path" \
	test "$(jget "$BODY" '.spec.disks[0].source_vm')" = "$(as "$T_A" GET /api/v1/vms/own >/dev/null; jget "$BODY" '.config.agent_name // .name')"
as "$T_A" DELETE /api/v1/images/"$EVIL"
attack I6 "an image a template uses cannot be deleted (409 in_use)" test "$STATUS/$(jget "$BODY" .error.code)" = 409/in_use
for v in own-clone own; do
	as "$T_A" DELETE "/api/v1/vms/$v?force=true"
	task_wait "$(jget "$BODY" .task.id)" 60
done
: "$own_id"

# Q1: a VM's disk counts its image's size against the disk quota. (quinn,
# an operator of pdisk alone, so the other files' users keep one project.)
mapi POST /api/v1/projects '{"name":"pdisk","quota":{"disk_mib":100}}'
mapi POST /api/v1/users '{"name":"quinn","password":"password-of-quinn"}'
mapi POST /api/v1/projects/pdisk/members '{"user":"quinn","role":"operator"}'
T_Q=$(token_of quinn)
mgr_guest_template hostile-disk "$T_Q"
as "$T_Q" POST /api/v1/vms '{"name":"dq1","template":"hostile-disk","start":false}'
attack Q1 "a VM of a 64 MiB image fits a 100 MiB disk quota (202)" test "$STATUS" = 202
task_wait "$(jget "$BODY" .task.id)" 120
mapi GET /api/v1/projects/pdisk/quota
attack Q1 "... and is charged 64 MiB of disk" test "$(jget "$BODY" .usage.disk_mib)" = 64
as "$T_Q" POST /api/v1/vms '{"name":"dq2","template":"hostile-disk","start":false}'
attack Q1 "a second one would bring disk to 128 MiB: 409 quota_exceeded on disk_mib" \
	test "$STATUS/$(jget "$BODY" .error.code)/$(jget "$BODY" .error.field)/$(jget "$BODY" .error.would_be)" = 409/quota_exceeded/disk_mib/128
as "$T_Q" DELETE "/api/v1/vms/dq1?force=true"
task_wait "$(jget "$BODY" .task.id)" 60
