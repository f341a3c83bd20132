# 86-cdrom.sh - a VM's CD-ROM drive holds an ISO of the image library,
# named by name or id, never a host file: a tenant can neither point QEMU's
# CD-ROM at a path (at create or as a medium change), nor put another
# project's ISO in their drive (as if it did not exist), nor get a file
# that is not an ISO 9660 image accepted as one; another project's VM's
# drive cannot be changed (404), nor by a viewer (403). Uses upload() of
# 10-images.sh.
# shellcheck shell=bash

CD_TMP=$TMP/hostile-cdrom
mkdir -p "$CD_TMP/tree"
echo "a tenant's ISO" >"$CD_TMP/tree/readme.txt"
genisoimage -quiet -V PB_ISO -o "$CD_TMP/pb.iso" "$CD_TMP/tree"
as "$T_B" POST /api/v1/images '{"name":"pb-iso","kind":"iso"}'
upload "$T_B" "$(jget "$BODY" .id)" "$CD_TMP/pb.iso"
attack CD-1 "bob uploads an ISO of his project (200, active)" test "$STATUS/$(jget "$BODY" .state)" = 200/active

mgr_guest_template cd-tpl "$T_A"
for cd in '{"image":"pb-iso"}|cdrom.image|no image named' '{"image":"/etc/shadow"}|cdrom.image|never a host path' \
	'{"image":"../../../../etc/shadow"}|cdrom.image|never a host path' '{"path":"/etc/shadow"}|cdrom.path|unknown' \
	'"/var/lib/vdcd/admin.token"|cdrom|must be an object' '{"image":"x,file=/etc/shadow"}|cdrom.image|never a host path'; do
	IFS='|' read -r val field words <<<"$cd"
	as "$T_A" POST /api/v1/vms "{\"name\":\"cd-vm\",\"template\":\"cd-tpl\",\"project\":\"pa\",\"start\":false,\"cdrom\":$val}"
	attack CD-2 "alice's VM with cdrom $val: 400 naming $field ($words), no VM" \
		test "$STATUS/$(jget "$BODY" .error.field)/$(jget "$BODY" .error.message | grep -c -- "$words")/$(as "$T_A" GET /api/v1/vms/cd-vm && echo "$STATUS")" = "400/$field/1/404"
done
as "$T_A" POST /api/v1/vms '{"name":"cd-vm","template":"cd-tpl","project":"pa","start":false,"cdrom":{}}'
task_wait "$(jget "$BODY" .task.id)" 60
as "$T_A" GET /api/v1/vms/cd-vm
cd_vm=$(jget "$BODY" .id)
attack CD-3 "alice's VM with an empty drive is made" test "$(jget "$BODY" '.config.cdrom | tojson')" = '{}'
for img in '"pb-iso"' '"/etc/shadow"' '"/dev/sda"'; do
	as "$T_A" POST "/api/v1/vms/$cd_vm/cdrom" "{\"image\":$img}"
	attack CD-4 "alice inserts $img into her VM's drive: 400 naming image" \
		test "$STATUS/$(jget "$BODY" .error.field)" = 400/image
done
attack CD-4 "... her VM's drive is still empty, on vdcd and its host" \
	test "$(as "$T_A" GET "/api/v1/vms/$cd_vm" && jget "$BODY" '.config.cdrom | tojson')/$(vm_field h1 "$cd_vm" '.spec.cdrom | tojson')" = '{}/{}'
as "$T_B" POST "/api/v1/vms/$cd_vm/cdrom" '{"image":"pb-iso"}'
attack CD-5 "bob puts his ISO into alice's VM: 404" test "$STATUS" = 404
as "$T_V" POST "/api/v1/vms/$cd_vm/cdrom" '{"drive":false}'
attack CD-5 "vera (viewer of pa) removes the drive: 403" test "$STATUS" = 403
# A file that is not an ISO, uploaded as one: judged by its header.
qemu-img create -q -f qcow2 -F raw -b /etc/shadow "$CD_TMP/backed.qcow2" 1M
as "$T_A" POST /api/v1/images '{"name":"evil-iso","kind":"iso"}'
evil_iso=$(jget "$BODY" .id)
upload "$T_A" "$evil_iso" "$CD_TMP/backed.qcow2"
attack CD-6 "a qcow2 (backing file /etc/shadow) uploaded as an ISO: 400 invalid_image naming CD001" \
	test "$STATUS/$(jget "$BODY" .error.code)/$(jget "$BODY" .error.message | grep -c CD001)" = 400/invalid_image/1
as "$T_A" POST /api/v1/images '{"name":"evil-iso2","kind":"iso","format":"qcow2"}'
attack CD-6 "an ISO declared qcow2: 400 naming format" test "$STATUS/$(jget "$BODY" .error.field)" = 400/format
as "$T_A" DELETE "/api/v1/images/$evil_iso"
as "$T_A" DELETE "/api/v1/vms/$cd_vm?force=true"
task_wait "$(jget "$BODY" .task.id)" 60
as "$T_A" DELETE /api/v1/templates/cd-tpl
as "$T_B" DELETE /api/v1/images/pb-iso
