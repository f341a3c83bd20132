#!/usr/bin/env bash
# build-installer-iso.sh CACHE_DIR
#
# Builds CACHE_DIR/installer-iso/installer.iso: a bootable ISO 9660 image
# (grub-mkrescue + xorriso: El Torito for BIOS, an EFI image for UEFI) that
# stands in for an OS installer. It boots the test guest's own kernel and
# initrd (guest/build-test-guest.sh) plus a second initrd, install.cpio,
# which GRUB appends to the first:
#
#   /vdc-install             run as rdinit: when the kernel line says
#                            vdc.install=vda and /dev/vda is blank (its first
#                            MiB all zeros), writes the disk-booting test
#                            guest (guest/build-disk-guest.sh) onto it and
#                            prints VDC-INSTALL-DONE dev=/dev/vda; else
#                            VDC-INSTALL-SKIPPED reason=...; then runs the
#                            test guest's /init as usual (hostname installer)
#   /install/disk.raw.gz     that disk, raw and gzip'd
#
# So a VM with an empty disk that boots this ISO "installs" onto its disk,
# and after its boot order is changed to the disk it boots from there (its
# readiness line then says hostname=disk-guest). A disk that is not blank
# is never written. Does not need root.
#
# Idempotent: rebuilt only when the disk guest, GRUB's or xorriso's version
# or this script change (stamp CACHE_DIR/installer-iso/.stamp). Concurrent
# runs serialise on CACHE_DIR/.installer-iso.lock.
set -euo pipefail

PROG=build-installer-iso
log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: $0 CACHE_DIR"
for tool in grub-mkrescue xorriso mformat cpio gzip qemu-img flock sha256sum; do
	command -v "$tool" >/dev/null 2>&1 ||
		die "'$tool' not found (Debian packages: grub-common grub-pc-bin grub-efi-amd64-bin xorriso mtools cpio gzip qemu-utils)"
done

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
"$HERE/build-disk-guest.sh" "$1"
CACHE_DIR=$(cd "$1" && pwd)
GUEST=$CACHE_DIR/test-guest
DISK=$CACHE_DIR/disk-guest/disk.qcow2
OUT=$CACHE_DIR/installer-iso
mkdir -p "$OUT"
chmod 0755 "$OUT"

VERS=$(dpkg-query -W -f='${Version} ' grub-pc-bin grub-efi-amd64-bin xorriso 2>/dev/null || echo unknown)
STAMP="v1 $VERS $( (cat "$GUEST/vmlinuz" "$GUEST/initrd.img" "$DISK" "$HERE/build-installer-iso.sh") | sha256sum | cut -d' ' -f1)"

exec 9>"$CACHE_DIR/.installer-iso.lock"
flock 9
if [ -f "$OUT/installer.iso" ] && [ "$(cat "$OUT/.stamp" 2>/dev/null)" = "$STAMP" ]; then
	log "installer.iso up to date"
	exit 0
fi

WORK=$(mktemp -d "$CACHE_DIR/.installer-iso.XXXXXX")
trap 'rm -rf --one-file-system "$WORK"; rm -f "$OUT/.installer.iso.new"' EXIT
log "building installer.iso (the test guest and the disk guest to install)"

# --- install.cpio: the installer step and its payload. ---------------------
mkdir -p "$WORK/cpio/install"
qemu-img convert -O raw "$DISK" "$WORK/disk.raw"
gzip -1 -n -c "$WORK/disk.raw" >"$WORK/cpio/install/disk.raw.gz"
cat >"$WORK/cpio/vdc-install" <<'EOF'
#!/bin/sh
# The installer step (rdinit): writes /install/disk.raw.gz onto the disk the
# kernel line names (vdc.install=vda) when that disk is blank, then hands
# over to the test guest's /init. It loads only the modules the disk needs
# and takes them out of /init's list, so /init loads each module once.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
DEV=
for arg in $(cat /proc/cmdline); do
	case $arg in vdc.install=*) DEV=${arg#vdc.install=} ;; esac
done
install_to() {
	case $1 in '' | *[!a-z0-9]*) echo "VDC-INSTALL-SKIPPED reason=no-target"; return ;; esac
	for ko in $(cat /etc/vdc/modules.order); do
		case $ko in virtio*.ko) insmod "/lib/modules/$ko" 2>/dev/null ;; esac
	done
	i=0
	while [ ! -b "/dev/$1" ] && [ $i -lt 100 ]; do usleep 20000; i=$((i + 1)); done
	if [ ! -b "/dev/$1" ]; then
		echo "VDC-INSTALL-SKIPPED reason=no-disk dev=/dev/$1"
		return
	fi
	if [ -n "$(dd if="/dev/$1" bs=1M count=1 2>/dev/null | tr -d '\000' | head -c 1)" ]; then
		echo "VDC-INSTALL-SKIPPED reason=disk-not-blank dev=/dev/$1"
		return
	fi
	if gunzip -c /install/disk.raw.gz | dd of="/dev/$1" bs=1M 2>/dev/null && sync; then
		echo "VDC-INSTALL-DONE dev=/dev/$1"
	else
		echo "VDC-INSTALL-FAILED dev=/dev/$1"
	fi
}
install_to "$DEV"
# /init loads what is not loaded yet.
loaded=$(cut -d' ' -f1 /proc/modules)
for ko in $(cat /etc/vdc/modules.order); do
	echo "$loaded" | grep -qx "${ko%.ko}" || echo "$ko"
done >/etc/vdc/modules.order.new
mv /etc/vdc/modules.order.new /etc/vdc/modules.order
rm -f /install/disk.raw.gz
umount /sys /proc
# Lazily: this shell still has /dev/console open; /init mounts a fresh one.
umount -l /dev
exec /init
EOF
chmod 0755 "$WORK/cpio/vdc-install"
(cd "$WORK/cpio" && find . -mindepth 1 | LC_ALL=C sort |
	cpio --quiet -o -H newc -R 0:0 --reproducible) >"$WORK/install.cpio"

# --- The ISO tree. ----------------------------------------------------------
mkdir -p "$WORK/iso/boot/grub"
cp "$GUEST/vmlinuz" "$WORK/iso/boot/vmlinuz"
cp "$GUEST/initrd.img" "$WORK/iso/boot/initrd.img"
cp "$WORK/install.cpio" "$WORK/iso/boot/install.cpio"
cat >"$WORK/iso/boot/grub/grub.cfg" <<'EOF'
serial --unit=0 --speed=115200
terminal_input serial
terminal_output serial
set timeout=0
menuentry "vdc test installer" {
	linux /boot/vmlinuz console=ttyS0,115200 quiet panic=-1 rdinit=/vdc-install vdc.install=vda vdc.hostname=installer
	initrd /boot/initrd.img /boot/install.cpio
}
EOF
# SOURCE_DATE_EPOCH: the same inputs give the same ISO.
SOURCE_DATE_EPOCH=1700000000 grub-mkrescue -o "$OUT/.installer.iso.new" "$WORK/iso" \
	--modules="linux normal serial terminal iso9660" -- -volid VDC_INSTALLER >"$WORK/mkrescue.log" 2>&1 ||
	{ cat "$WORK/mkrescue.log" >&2; die "grub-mkrescue failed"; }
[ "$(dd if="$OUT/.installer.iso.new" bs=1 skip=$((0x8001)) count=5 status=none)" = CD001 ] ||
	die "grub-mkrescue made no ISO 9660 image (no CD001 at 0x8001)"
chmod 0644 "$OUT/.installer.iso.new"
mv -f "$OUT/.installer.iso.new" "$OUT/installer.iso"
echo "$STAMP" >"$OUT/.stamp"
chmod 0644 "$OUT/.stamp"
log "installer.iso ready ($(($(stat -c %s "$OUT/installer.iso") >> 20)) MiB)"
