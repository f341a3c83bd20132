#!/usr/bin/env bash
# t_cloud_image.sh - a real Debian 12 cloud image (debootstrap, systemd,
# cloud-init), uploaded to the host as images, boots as a linked clone and
# applies the NoCloud seed vdc makes from the VM's user data and metadata:
# hostname, and a runcmd that writes to the console.
source "$(dirname "$0")/lib.sh"

[ -f "$CLOUD/debian-12.qcow2" ] || { not_ok "the cloud image is built (run guest/build-cloud-image.sh)"; finish; exit 1; }
host_up h1 || { not_ok "agent starts"; finish; exit 1; }

user_data='#cloud-config
runcmd:
  - echo "VDC-CLOUDINIT-OK $(hostname) $(cat /var/lib/cloud/data/instance-id)" > /dev/ttyS0
'
# The cloud image's kernel, initrd and disk, uploaded as images.
agent_put_image h1 deb12-kernel kernel raw "$CLOUD/vmlinuz"
check "the cloud kernel is uploaded (201)" test "$STATUS" = 201
agent_put_image h1 deb12-initrd initrd raw "$CLOUD/initrd.img"
check "the cloud initrd is uploaded (201)" test "$STATUS" = 201
agent_put_image h1 deb12 disk qcow2 "$CLOUD/debian-12.qcow2"
check "the cloud disk image is uploaded (201)" test "$STATUS" = 201
check "... with its virtual size" test "$(jget "$BODY" .virtual_bytes)" = \
	"$(qemu-img info --output=json "$CLOUD/debian-12.qcow2" | jq '."virtual-size"')"
spec=$(jq -nc --arg ud "$user_data" \
	'{name:"deb1", vcpus:1, memory_mib:1024, display:"none",
	  boot:{kernel_image:"deb12-kernel", initrd_image:"deb12-initrd", cmdline:"root=LABEL=vdc-root ro console=ttyS0"},
	  disks:[{name:"root", image:"deb12", size_mib:4096}], nics:[{mode:"user"}],
	  cloud_init:{user_data:$ud, meta_data:{"local-hostname":"vdc-ci-test", "instance-id":"iid-vdc-1"}}}')
start=$SECONDS
api h1 POST '/api/v1/vms?start=true' "$spec"
check "the cloud image VM is created and started" test "$STATUS/$(jget "$BODY" .state)" = 201/running
check "the seed ISO is in the datastore" test -f "$(dir_of h1)/ds/deb1/cidata.iso"
check "the seed is labelled cidata" grep -q cidata <(blkid -o value -s LABEL "$(dir_of h1)/ds/deb1/cidata.iso" 2>/dev/null || isoinfo -d -i "$(dir_of h1)/ds/deb1/cidata.iso")
check "cloud-init applies the seed: hostname and runcmd on the console" \
	wait_console h1 deb1 'VDC-CLOUDINIT-OK vdc-ci-test iid-vdc-1' 240
diag "cloud-init finished after $((SECONDS - start)) s"
api h1 POST /api/v1/vms/deb1/stop '{"timeout_s":120}'
# The cloud image has no qemu-ga: the stop presses the ACPI button.
check "systemd powers off on ACPI stop" \
	test "$STATUS/$(jget "$BODY" .last_exit.reason)" = "200/the guest powered off, asked by the ACPI power button"
api h1 DELETE /api/v1/vms/deb1
check "delete removes the clone and the seed" test ! -e "$(dir_of h1)/ds/deb1"
check "the agent stops cleanly (exit 0)" agent_stop h1
finish
