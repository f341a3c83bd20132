#!/usr/bin/env bash
# build-disk-guest.sh CACHE_DIR
#
# Builds the disk-booting form of the vdc test guest into
# CACHE_DIR/disk-guest/disk.qcow2: the busybox test guest's own kernel and
# initrd (guest/build-test-guest.sh, built first if needed) on a partitioned
# disk that boots through firmware, both ways:
#
#   sector 0        GRUB's boot.img (first 440 bytes) + an MBR partition table
#   sectors 1..2047 GRUB's i386-pc core.img, in the MBR gap (BIOS)
#   partition 1     FAT, type 0xef (an EFI system partition), 1 MiB on:
#                     /EFI/BOOT/BOOTX64.EFI   GRUB for x86_64-efi (UEFI)
#                     /boot/grub/grub.cfg     both GRUBs read it
#                     /vmlinuz, /initrd.img   the test guest's
#
# GRUB's menu and the kernel are on the serial console (ttyS0), so a VM
# booted from this disk prints the test guest's usual VDC-GUEST-READY line
# there. Built from Debian's packages with no loop or nbd devices: the FAT
# with mkfs.fat and mtools on a file, the table with sfdisk on the file, the
# pieces put together with dd. Does not need root. Under UEFI (OVMF) the
# VM needs 256 MiB at least: GRUB's EFI loader runs out of memory at 192.
#
# Idempotent: rebuilt only when the test guest's kernel or initrd, GRUB's
# version or this script change (stamp CACHE_DIR/disk-guest/.stamp).
# Concurrent runs serialise on CACHE_DIR/.disk-guest.lock.
set -euo pipefail

PROG=build-disk-guest
log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: $0 CACHE_DIR"
for tool in grub-mkimage mkfs.fat mmd mcopy sfdisk qemu-img flock sha256sum dd; do
	command -v "$tool" >/dev/null 2>&1 ||
		die "'$tool' not found (Debian packages: grub-common grub-pc-bin grub-efi-amd64-bin dosfstools mtools fdisk qemu-utils)"
done
for d in /usr/lib/grub/i386-pc /usr/lib/grub/x86_64-efi; do
	[ -d "$d" ] || die "$d missing (Debian packages grub-pc-bin and grub-efi-amd64-bin)"
done

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
"$HERE/build-test-guest.sh" "$1"
CACHE_DIR=$(cd "$1" && pwd)
GUEST=$CACHE_DIR/test-guest
OUT=$CACHE_DIR/disk-guest
mkdir -p "$OUT"
chmod 0755 "$OUT"

GRUB_VER=$(dpkg-query -W -f='${Version}' grub-pc-bin 2>/dev/null || echo unknown)/$(dpkg-query -W -f='${Version}' grub-efi-amd64-bin 2>/dev/null || echo unknown)
STAMP="v1 grub=$GRUB_VER $( (cat "$GUEST/vmlinuz" "$GUEST/initrd.img" "$HERE/build-disk-guest.sh") | sha256sum | cut -d' ' -f1)"

exec 9>"$CACHE_DIR/.disk-guest.lock"
flock 9
if [ -f "$OUT/disk.qcow2" ] && [ "$(cat "$OUT/.stamp" 2>/dev/null)" = "$STAMP" ]; then
	log "disk.qcow2 up to date"
	exit 0
fi

WORK=$(mktemp -d "$CACHE_DIR/.disk-guest.XXXXXX")
trap 'rm -rf --one-file-system "$WORK"; rm -f "$OUT/.disk.qcow2.new"' EXIT
log "building disk.qcow2 (BIOS + UEFI GRUB, the test guest's kernel)"

# What both GRUBs run: the kernel line test guests get from vdc otherwise.
cat >"$WORK/grub.cfg" <<'EOF'
serial --unit=0 --speed=115200
terminal_input serial
terminal_output serial
set timeout=0
menuentry "vdc test guest" {
	linux /vmlinuz console=ttyS0 quiet panic=-1 vdc.hostname=disk-guest
	initrd /initrd.img
}
EOF

MODS="part_msdos fat normal linux serial terminal echo test search search_fs_file"
# BIOS: the first partition of the boot disk (SeaBIOS's hd0, the disk the
# VM boots from).
grub-mkimage -O i386-pc -p '(hd0,msdos1)/boot/grub' -o "$WORK/core.img" biosdisk $MODS
# UEFI: no device in the prefix, so GRUB looks on the partition it was
# loaded from (the ESP), whichever disk that is.
grub-mkimage -O x86_64-efi -p /boot/grub -o "$WORK/BOOTX64.EFI" $MODS

CORE_SECTORS=$((($(stat -c %s "$WORK/core.img") + 511) / 512))
[ "$CORE_SECTORS" -lt 2047 ] || die "core.img ($CORE_SECTORS sectors) does not fit the MBR gap"

# The FAT partition, as a file: 64 MiB.
PART_MIB=64
mkfs.fat -C -n VDCBOOT "$WORK/part.img" $((PART_MIB * 1024)) >/dev/null
mmd -i "$WORK/part.img" ::/EFI ::/EFI/BOOT ::/boot ::/boot/grub
mcopy -i "$WORK/part.img" "$WORK/BOOTX64.EFI" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$WORK/part.img" "$WORK/grub.cfg" ::/boot/grub/grub.cfg
mcopy -i "$WORK/part.img" "$GUEST/vmlinuz" ::/vmlinuz
mcopy -i "$WORK/part.img" "$GUEST/initrd.img" ::/initrd.img

# The disk: 1 MiB for the MBR and its gap, then the partition.
truncate -s $((PART_MIB + 1))M "$WORK/disk.raw"
printf 'label: dos\nstart=2048, size=%d, type=ef, bootable\n' $((PART_MIB * 2048)) |
	sfdisk -q "$WORK/disk.raw"
# boot.img's code only: bytes 440.. hold the table sfdisk wrote. grub-mkimage
# already set core.img's block list for sector 1 on, as boot.img expects.
dd if=/usr/lib/grub/i386-pc/boot.img of="$WORK/disk.raw" bs=440 count=1 conv=notrunc status=none
dd if="$WORK/core.img" of="$WORK/disk.raw" bs=512 seek=1 conv=notrunc status=none
dd if="$WORK/part.img" of="$WORK/disk.raw" bs=1M seek=1 conv=notrunc status=none

qemu-img convert -O qcow2 "$WORK/disk.raw" "$OUT/.disk.qcow2.new"
chmod 0644 "$OUT/.disk.qcow2.new"
mv -f "$OUT/.disk.qcow2.new" "$OUT/disk.qcow2"
echo "$STAMP" >"$OUT/.stamp"
chmod 0644 "$OUT/.stamp"
log "disk.qcow2 ready"
