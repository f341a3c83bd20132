#!/usr/bin/env bash
# build-cloud-image.sh CACHE_DIR
#
# Builds a small Debian 12 (bookworm) cloud image for vdc with debootstrap:
#
#   CACHE_DIR/cloud-image/debian-12.qcow2   ext4 filesystem (no partition
#                                           table), label vdc-root, qcow2
#   CACHE_DIR/cloud-image/vmlinuz           the image's own kernel
#   CACHE_DIR/cloud-image/initrd.img        the image's own initramfs
#
# The image is meant for direct kernel boot:
#   -kernel vmlinuz -initrd initrd.img -append 'root=LABEL=vdc-root ro console=ttyS0'
# cloud-init only looks for a NoCloud seed (an ISO or disk labelled "cidata").
#
# Idempotent: does nothing when the outputs exist and were built from the same
# inputs (this script, guest/cloud-image/*, mirror, size).  Concurrent runs
# serialise on CACHE_DIR/.cloud-image.lock.  Writes only below CACHE_DIR (the
# work directory is a mktemp dir in CACHE_DIR, removed on exit).  Needs root:
# debootstrap and chroot do.
#
# Environment (optional):
#   VDC_DEBIAN_MIRROR    mirror URL (default: the one apt on this host uses)
#   VDC_SECURITY_MIRROR  security mirror URL (default: likewise)
#   VDC_CLOUD_IMAGE_SIZE virtual size of the root filesystem (default 2G)
set -euo pipefail

PROG=build-cloud-image
log() { printf '%s: [%s] %s\n' "$PROG" "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: $0 CACHE_DIR"
[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap and chroot need it)"
for tool in debootstrap chroot mkfs.ext4 qemu-img flock sha256sum findmnt awk; do
	command -v "$tool" >/dev/null 2>&1 ||
		die "'$tool' not found (install: debootstrap e2fsprogs qemu-utils util-linux coreutils)"
done

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CONF=$HERE/cloud-image
SUITE=bookworm
LABEL=vdc-root
SIZE=${VDC_CLOUD_IMAGE_SIZE:-2G}

# Packages installed by debootstrap (minbase variant + these).  debootstrap
# does not resolve alternatives/virtual packages well, so python3-cffi-backend
# (needed by cloud-init's crypto dependencies) must be named explicitly.
BASE_PKGS=systemd,systemd-sysv,udev,dbus,kmod,iproute2,ifupdown,isc-dhcp-client
BASE_PKGS+=,netbase,openssh-server,sudo,ca-certificates,less,procps
BASE_PKGS+=,cloud-init,python3-cffi-backend,e2fsprogs
# Installed afterwards with apt, once /etc/initramfs-tools/modules is in place
# and the security updates are visible (so the newest kernel is taken).
KERNEL_PKG=linux-image-cloud-amd64

mkdir -p "$1" || die "cannot create cache dir '$1'"
CACHE_DIR=$(cd "$1" && pwd)
OUT=$CACHE_DIR/cloud-image
mkdir -p "$OUT"

# --- Mirrors: take the ones apt on this host is configured with. -------------
# Prints the first URI of the first deb822 stanza (or one-line entry) whose
# suites contain exactly $1.
apt_uri_for_suite() {
	local suite=$1 f uri
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		uri=$(awk -v want="$suite" '
			BEGIN { RS = ""; FS = "\n" }
			{
				uris = ""; suites = ""; types = ""; enabled = "yes"
				for (i = 1; i <= NF; i++) {
					line = $i
					if (line ~ /^URIs:/)    { sub(/^URIs:[ \t]*/, "", line); uris = line }
					if (line ~ /^Suites:/)  { sub(/^Suites:[ \t]*/, "", line); suites = " " line " " }
					if (line ~ /^Types:/)   { types = " " line " " }
					if (line ~ /^Enabled:[ \t]*no/) enabled = "no"
				}
				if (enabled == "yes" && types ~ / deb / && index(suites, " " want " ")) {
					split(uris, u, /[ \t]+/); print u[1]; exit
				}
			}' "$f")
		if [ -n "$uri" ]; then echo "$uri"; return 0; fi
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		uri=$(sed -e 's/\[[^]]*\]//' "$f" |
			awk -v want="$suite" '$1 == "deb" && $3 == want { print $2; exit }')
		if [ -n "$uri" ]; then echo "$uri"; return 0; fi
	done
	return 1
}
MIRROR=${VDC_DEBIAN_MIRROR:-$(apt_uri_for_suite "$SUITE" || echo http://deb.debian.org/debian)}
SECURITY_MIRROR=${VDC_SECURITY_MIRROR:-$(apt_uri_for_suite "$SUITE-security" || echo http://deb.debian.org/debian-security)}
MIRROR=${MIRROR%/}
SECURITY_MIRROR=${SECURITY_MIRROR%/}

# --- Lock and up-to-date check. -----------------------------------------------
exec 9>"$CACHE_DIR/.cloud-image.lock"
if ! flock -n 9; then
	log "another build holds $CACHE_DIR/.cloud-image.lock; waiting"
	flock 9
fi

STAMP=$(
	{
		echo "suite=$SUITE label=$LABEL size=$SIZE mirror=$MIRROR security=$SECURITY_MIRROR"
		echo "pkgs=$BASE_PKGS kernel=$KERNEL_PKG"
		(cd "$HERE" && sha256sum build-cloud-image.sh) # contents, not the checkout's path
		(cd "$CONF" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
	} | sha256sum | cut -d' ' -f1
)
if [ -f "$OUT/debian-12.qcow2" ] && [ -f "$OUT/vmlinuz" ] && [ -f "$OUT/initrd.img" ] &&
	[ "$(cat "$OUT/.stamp" 2>/dev/null)" = "$STAMP" ]; then
	log "up to date: $OUT"
	exit 0
fi

# --- Work directory and cleanup. ----------------------------------------------
WORK=$(mktemp -d "$CACHE_DIR/.cloud-image.XXXXXX")
ROOTFS=$WORK/rootfs

# Unmount everything below $WORK (deepest first).  Returns non-zero if
# anything is still mounted, in which case nothing is deleted.
umount_below() {
	local m
	for _ in 1 2 3; do
		mapfile -t mnts < <(findmnt -rn -o TARGET | awk -v w="$WORK/" 'index($0 "/", w) == 1' | sort -r)
		[ ${#mnts[@]} -eq 0 ] && return 0
		for m in "${mnts[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
	done
	[ -z "$(findmnt -rn -o TARGET | awk -v w="$WORK/" 'index($0 "/", w) == 1')" ]
}
cleanup() {
	local rc=$?
	if [ -d "$WORK" ]; then
		if umount_below; then
			rm -rf --one-file-system "$WORK"
		else
			echo "$PROG: warning: filesystems still mounted below $WORK; not removing it" >&2
		fi
	fi
	rm -f "$OUT/.debian-12.qcow2.new" "$OUT/.vmlinuz.new" "$OUT/.initrd.img.new"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_chroot() {
	LC_ALL=C DEBIAN_FRONTEND=noninteractive DEBCONF_NONINTERACTIVE_SEEN=true \
		PATH=/usr/sbin:/usr/bin:/sbin:/bin chroot "$ROOTFS" "$@"
}

T0=$(date +%s)
log "building Debian $SUITE cloud image in $WORK (mirror $MIRROR)"

# --- 1. debootstrap -------------------------------------------------------------
log "step 1/6: debootstrap --variant=minbase (several minutes)"
if ! debootstrap --variant=minbase --components=main --include="$BASE_PKGS" \
	"$SUITE" "$ROOTFS" "$MIRROR" >"$WORK/debootstrap.log" 2>&1; then
	tail -n 40 "$WORK/debootstrap.log" >&2
	[ -f "$ROOTFS/debootstrap/debootstrap.log" ] && tail -n 40 "$ROOTFS/debootstrap/debootstrap.log" >&2
	die "debootstrap failed (see above)"
fi
log "debootstrap done ($(grep -c '^I: Configuring ' "$WORK/debootstrap.log" || true) packages configured)"

# --- 2. apt sources, updates, kernel --------------------------------------------
log "step 2/6: apt sources, security updates, kernel ($KERNEL_PKG)"
mount -t proc proc "$ROOTFS/proc"
# No daemons may start inside the chroot.
printf '#!/bin/sh\nexit 101\n' >"$ROOTFS/usr/sbin/policy-rc.d"
chmod 0755 "$ROOTFS/usr/sbin/policy-rc.d"
rm -f "$ROOTFS/etc/apt/sources.list"
cat >"$ROOTFS/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY_MIRROR
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
# fstab first: the initramfs hooks read it (root fs type -> fsck.ext4).
cat >"$ROOTFS/etc/fstab" <<EOF
# <file system>  <mount point>  <type>  <options>              <dump> <pass>
LABEL=$LABEL     /              ext4    errors=remount-ro      0      1
EOF
echo 'LANG=C.UTF-8' >"$ROOTFS/etc/default/locale"
# Make sure the initramfs can find a virtio root disk (MODULES=most already
# covers it; this is belt and braces) before the kernel's postinst builds it.
mkdir -p "$ROOTFS/etc/initramfs-tools"
install -m 0644 "$CONF/initramfs-modules" "$ROOTFS/etc/initramfs-tools/modules"
APT_OPTS=(-y -q -o Dpkg::Use-Pty=0 -o APT::Install-Recommends=false -o Dpkg::Options::=--force-confold)
{
	in_chroot apt-get -q -o Acquire::Languages=none update &&
		in_chroot apt-get "${APT_OPTS[@]}" full-upgrade &&
		in_chroot apt-get "${APT_OPTS[@]}" install "$KERNEL_PKG"
} >"$WORK/apt.log" 2>&1 || { tail -n 40 "$WORK/apt.log" >&2; die "apt in chroot failed"; }
grep -q '^MODULES=most' "$ROOTFS/etc/initramfs-tools/initramfs.conf" ||
	log "warning: initramfs.conf does not say MODULES=most"
KVER=$(find "$ROOTFS/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n 1)
if [ -z "$KVER" ] || [ ! -f "$ROOTFS/boot/vmlinuz-$KVER" ] || [ ! -f "$ROOTFS/boot/initrd.img-$KVER" ]; then
	die "kernel '$KVER' or its initrd missing in /boot"
fi
# The initramfs must be able to find a virtio root disk.
in_chroot lsinitramfs "/boot/initrd.img-$KVER" >"$WORK/initramfs.list" ||
	die "lsinitramfs failed"
grep -q '/virtio_blk\.ko' "$WORK/initramfs.list" || die "virtio_blk is not in the image's initramfs"
[ -x "$ROOTFS/usr/bin/cloud-init" ] || die "cloud-init is not installed in the image"
log "kernel $KVER installed (initramfs has virtio_blk)"

# --- 3. system configuration ------------------------------------------------------
log "step 3/6: configuring (cloud-init NoCloud, getty, network, identity)"
echo debian >"$ROOTFS/etc/hostname"
cat >"$ROOTFS/etc/hosts" <<'EOF'
127.0.0.1	localhost
::1		localhost ip6-localhost ip6-loopback
ff02::1		ip6-allnodes
ff02::2		ip6-allrouters
EOF
# ifupdown: loopback here, cloud-init writes the NIC config to interfaces.d.
cat >"$ROOTFS/etc/network/interfaces" <<'EOF'
# Loopback; cloud-init writes the other interfaces to interfaces.d.
source /etc/network/interfaces.d/*

auto lo
iface lo inet loopback
EOF
mkdir -p "$ROOTFS/etc/network/interfaces.d"
install -m 0644 "$CONF/99_vdc.cfg" "$ROOTFS/etc/cloud/cloud.cfg.d/99_vdc.cfg"
echo 'cloud-init cloud-init/datasources multiselect NoCloud, None' | in_chroot debconf-set-selections
# Serial console login (systemd would also start it for console=ttyS0).
in_chroot systemctl enable serial-getty@ttyS0.service >/dev/null 2>&1 ||
	ln -sf /lib/systemd/system/serial-getty@.service \
		"$ROOTFS/etc/systemd/system/getty.target.wants/serial-getty@ttyS0.service"
# e2scrub_reap only matters with LVM snapshots; it costs seconds of CPU at
# every boot under TCG.
in_chroot systemctl mask e2scrub_reap.service >/dev/null 2>&1 || true
# Per-instance identity must be generated on first boot, not shared by clones.
: >"$ROOTFS/etc/machine-id"
rm -f "$ROOTFS/var/lib/dbus/machine-id" "$ROOTFS"/etc/ssh/ssh_host_*
# Root has no password (locked); log in with cloud-init users/ssh keys.
in_chroot passwd -l root >/dev/null

# --- 4. slim down -------------------------------------------------------------------
log "step 4/6: cleaning (apt caches, docs, man pages)"
in_chroot apt-get -q clean >/dev/null
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin \
	"$ROOTFS"/var/log/*.log "$ROOTFS"/var/log/apt/* "$ROOTFS"/var/cache/debconf/*-old \
	"$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/* "$ROOTFS"/usr/share/lintian/* \
	"$ROOTFS"/tmp/* "$ROOTFS"/var/tmp/*
# Keep copyright files, drop the rest of /usr/share/doc.
find "$ROOTFS/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
find "$ROOTFS/usr/share/doc" -mindepth 1 -type d -empty -delete
find "$ROOTFS/usr/share/locale" -mindepth 1 -maxdepth 1 -type d ! -name 'en*' ! -name 'locale.alias' \
	-exec rm -rf {} + 2>/dev/null || true
rm -f "$ROOTFS/usr/sbin/policy-rc.d"
umount "$ROOTFS/proc"

# --- 5. kernel and initrd --------------------------------------------------------------
log "step 5/6: copying kernel and initrd out"
install -m 0644 "$ROOTFS/boot/vmlinuz-$KVER" "$OUT/.vmlinuz.new"
install -m 0644 "$ROOTFS/boot/initrd.img-$KVER" "$OUT/.initrd.img.new"

# --- 6. filesystem image -----------------------------------------------------------------
log "step 6/6: mkfs.ext4 -d (label $LABEL, size $SIZE) and qemu-img convert"
findmnt -rn -o TARGET | awk -v w="$ROOTFS/" 'index($0 "/", w) == 1 { bad = 1 } END { exit bad }' ||
	die "something is still mounted below $ROOTFS"
truncate -s "$SIZE" "$WORK/root.raw"
mkfs.ext4 -q -F -L "$LABEL" -d "$ROOTFS" "$WORK/root.raw"
rm -rf --one-file-system "$ROOTFS" # free the space early
qemu-img convert -c -O qcow2 "$WORK/root.raw" "$OUT/.debian-12.qcow2.new"
chmod 0644 "$OUT/.debian-12.qcow2.new"

mv -f "$OUT/.vmlinuz.new" "$OUT/vmlinuz"
mv -f "$OUT/.initrd.img.new" "$OUT/initrd.img"
mv -f "$OUT/.debian-12.qcow2.new" "$OUT/debian-12.qcow2"
echo "$KVER" >"$OUT/kernel-version"
echo "$STAMP" >"$OUT/.stamp"
chmod 0755 "$OUT"
chmod 0644 "$OUT/kernel-version" "$OUT/.stamp"
log "done in $(($(date +%s) - T0)) s: $OUT/debian-12.qcow2 ($(du -h "$OUT/debian-12.qcow2" | cut -f1)), kernel $KVER"
