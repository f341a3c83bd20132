#!/usr/bin/env bash
# build-test-guest.sh CACHE_DIR [wd]
#
# Builds the vdc test guest (a tiny busybox initramfs guest) into
# CACHE_DIR/test-guest/:
#
#   vmlinuz              kernel of Debian's linux-image-cloud-amd64
#   initrd.img           gzip'd cpio: busybox-static, virtio/evdev/button
#                        modules, guest/init, request handler, dirtier,
#                        qemu-ga (qemu-guest-agent) and the libraries it needs
#   data-template.qcow2  64 MiB ext4 data disk, file "marker" = "vdc-template"
#
# With "wd", the variant test-guest-wd instead, into CACHE_DIR/test-guest-wd/:
# the same initrd on Debian's generic linux-image-amd64, plus the i6300esb
# watchdog module, which the cloud kernel lacks (CONFIG_I6300ESB_WDT is not
# set there). Only the watchdog test needs it: the generic kernel boots
# slower and its modules make a larger initrd, so the default guest, which
# every test boots, stays on the cloud kernel. Build it on demand
# (tests/integration/t_ha_watchdog.sh does, as `make test` runs it).
#
# Boot: -kernel vmlinuz -initrd initrd.img -append 'console=ttyS0 quiet panic=-1'
# (see guest/README.md for the vdc.* parameters and the request protocol).
#
# The kernel and busybox come from `apt-get download` (never installed); the
# versions are the apt candidates on this host.  Idempotent: the kernel and
# initrd are rebuilt only when the kernel/busybox versions or the guest/
# sources change (stamp in CACHE_DIR/test-guest/.stamp).  The data template
# has its own stamp and is only rebuilt when its own definition changes, so
# rebuilding the initrd never changes the backing file of existing clones.
# Concurrent runs serialise on CACHE_DIR/.test-guest.lock.  Writes only below
# CACHE_DIR (work dir: a mktemp dir in CACHE_DIR, removed on exit).  Does not
# need root.
set -euo pipefail

PROG=build-test-guest
log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }

[ $# -eq 1 ] || { [ $# -eq 2 ] && [ "$2" = wd ]; } || die "usage: $0 CACHE_DIR [wd]"
VARIANT=${2:-}
for tool in apt-get apt-cache dpkg-deb depmod gcc strip objdump cpio gzip mkfs.ext4 qemu-img flock sha256sum; do
	command -v "$tool" >/dev/null 2>&1 ||
		die "'$tool' not found (Debian packages: apt dpkg kmod gcc libc6-dev binutils cpio gzip e2fsprogs qemu-utils util-linux)"
done

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CONF=$HERE/test-guest
META_PKG=linux-image-cloud-amd64
BB_PKG=busybox-static
QGA_PKG=qemu-guest-agent
NAME=test-guest
EXTRA_MODULES=
if [ "$VARIANT" = wd ]; then
	META_PKG=linux-image-amd64
	NAME=test-guest-wd
	# The guest arms it when asked (vdc.watchdog=N, see guest/init).
	EXTRA_MODULES=i6300esb
fi

mkdir -p "$1" || die "cannot create cache dir '$1'"
CACHE_DIR=$(cd "$1" && pwd)
OUT=$CACHE_DIR/$NAME
mkdir -p "$OUT"
chmod 0755 "$OUT"

# --- Versions (from apt's lists; run `apt-get update` to pick up new ones). --
# The metapackage's candidate, and the versioned image package it depends on.
META_INFO=$(apt-cache show --no-all-versions "$META_PKG" 2>/dev/null) ||
	die "apt knows no $META_PKG (run 'apt-get update' as root?)"
KPKG=$(printf '%s\n' "$META_INFO" |
	awk '/^Depends:/ { n = split($0, a, /[:,|]/); for (i = 2; i <= n; i++) { sub(/^ +/, "", a[i]); sub(/ .*/, "", a[i]); if (a[i] ~ /^linux-image-/) { print a[i]; exit } } }')
[ -n "$KPKG" ] || die "cannot find the kernel package $META_PKG depends on"
# Candidate versions of the image package and of busybox-static.
POLICY=$(apt-cache policy "$KPKG" "$BB_PKG" "$QGA_PKG" 2>/dev/null)
candidate() { printf '%s\n' "$POLICY" | awk -v p="$1:" '$1 == p { f = 1 } f && /Candidate:/ { print $2; exit }'; }
KVER=$(candidate "$KPKG")
BB_VER=$(candidate "$BB_PKG")
QGA_VER=$(candidate "$QGA_PKG")
case $KVER in '' | '(none)') die "apt has no candidate for $KPKG" ;; esac
case $BB_VER in '' | '(none)') die "apt has no candidate for $BB_PKG" ;; esac
case $QGA_VER in '' | '(none)') die "apt has no candidate for $QGA_PKG" ;; esac
# qemu-ga's library packages (its Depends but libc6, which the build host
# gives, as it gives any library none of these packages holds).
QGA_DEPS=$(apt-cache show --no-all-versions "$QGA_PKG" | awk '/^Depends:/ { n = split(substr($0, 10), a, /,/); for (i = 1; i <= n; i++) { sub(/^ +/, "", a[i]); sub(/[ |].*/, "", a[i]); if (a[i] != "libc6") print a[i] } }')

SRC_HASH=$(
	{
		# Contents only: the checkout's path must not make a new stamp.
		(cd "$HERE" && sha256sum build-test-guest.sh init dirtier.c vdc-listen.c vdc-connect.c vdc-tick.c)
		(cd "$CONF" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
	} | sha256sum | cut -d' ' -f1
)
STAMP="kernel=$KPKG=$KVER busybox=$BB_VER qga=$QGA_VER src=$SRC_HASH extra=$EXTRA_MODULES"

# The data template: its own definition, its own stamp.
TEMPLATE_SIZE=64M
TEMPLATE_LABEL=vdc-data
TEMPLATE_MARKER=vdc-template
TEMPLATE_STAMP="v1 size=$TEMPLATE_SIZE label=$TEMPLATE_LABEL marker=$TEMPLATE_MARKER"

exec 9>"$CACHE_DIR/.$NAME.lock"
if ! flock -n 9; then
	log "another build holds $CACHE_DIR/.$NAME.lock; waiting"
	flock 9
fi

WORK=
cleanup() {
	local rc=$?
	[ -n "$WORK" ] && rm -rf --one-file-system "$WORK"
	rm -f "$OUT/.vmlinuz.new" "$OUT/.initrd.img.new" "$OUT/.data-template.qcow2.new"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
new_work() { [ -n "$WORK" ] || WORK=$(mktemp -d "$CACHE_DIR/.$NAME.XXXXXX"); }

# =============================================================================
# Data template
# =============================================================================
build_template() {
	new_work
	log "building data-template.qcow2 ($TEMPLATE_SIZE ext4, marker=$TEMPLATE_MARKER)"
	local d=$WORK/template
	mkdir -p "$d/root"
	printf '%s\n' "$TEMPLATE_MARKER" >"$d/root/marker"
	chmod 0644 "$d/root/marker"
	truncate -s "$TEMPLATE_SIZE" "$d/data.raw"
	mkfs.ext4 -q -F -L "$TEMPLATE_LABEL" -E root_owner=0:0 -d "$d/root" "$d/data.raw"
	qemu-img convert -O qcow2 "$d/data.raw" "$OUT/.data-template.qcow2.new"
	chmod 0644 "$OUT/.data-template.qcow2.new"
	mv -f "$OUT/.data-template.qcow2.new" "$OUT/data-template.qcow2"
	echo "$TEMPLATE_STAMP" >"$OUT/.template-stamp"
	chmod 0644 "$OUT/.template-stamp"
	rm -rf "$d"
}

if [ -f "$OUT/data-template.qcow2" ] && [ "$(cat "$OUT/.template-stamp" 2>/dev/null)" = "$TEMPLATE_STAMP" ]; then
	log "data-template.qcow2 up to date"
else
	build_template
fi

# =============================================================================
# Kernel + initramfs
# =============================================================================
if [ -f "$OUT/vmlinuz" ] && [ -f "$OUT/initrd.img" ] &&
	[ "$(cat "$OUT/.stamp" 2>/dev/null)" = "$STAMP" ]; then
	log "vmlinuz, initrd.img up to date ($KPKG $KVER, busybox $BB_VER)"
	exit 0
fi

new_work
T0=$(date +%s)
log "downloading $KPKG=$KVER and $BB_PKG=$BB_VER"
mkdir -p "$WORK/debs"
(cd "$WORK/debs" && apt-get download -q "$KPKG=$KVER" "$BB_PKG=$BB_VER" 2>&1 | { grep -v '^W: Download is performed unsandboxed' >&2 || true; }) ||
	die "apt-get download failed"
dpkg-deb -x "$WORK"/debs/linux-image-*.deb "$WORK/kernel"
dpkg-deb -x "$WORK"/debs/busybox-static_*.deb "$WORK/busybox"
log "downloading $QGA_PKG=$QGA_VER and its libraries: $(echo $QGA_DEPS)"
mkdir -p "$WORK/qga-debs"
# shellcheck disable=SC2086 # package names as words
(cd "$WORK/qga-debs" && apt-get download -q "$QGA_PKG=$QGA_VER" $QGA_DEPS 2>&1 | { grep -v '^W: Download is performed unsandboxed' >&2 || true; }) ||
	die "apt-get download of $QGA_PKG failed"
for deb in "$WORK"/qga-debs/*.deb; do dpkg-deb -x "$deb" "$WORK/qga"; done
[ -x "$WORK/qga/usr/sbin/qemu-ga" ] || die "$QGA_PKG has no /usr/sbin/qemu-ga"

KREL=$(cd "$WORK/kernel/lib/modules" && ls)
[ "$(echo "$KREL" | wc -l)" -eq 1 ] || die "expected one kernel release in $KPKG, got: $KREL"
KCONFIG=$WORK/kernel/boot/config-$KREL
[ -f "$WORK/kernel/boot/vmlinuz-$KREL" ] || die "no /boot/vmlinuz-$KREL in $KPKG"
[ -f "$KCONFIG" ] || die "no /boot/config-$KREL in $KPKG"
for opt in BLK_DEV_INITRD RD_GZIP DEVTMPFS; do
	grep -q "^CONFIG_$opt=y" "$KCONFIG" || die "kernel lacks CONFIG_$opt=y"
done
# The package ships no modules.dep (depmod runs in its postinst): make one.
depmod -b "$WORK/kernel" "$KREL"
MODDIR=$WORK/kernel/lib/modules/$KREL

# --- Resolve the module list into load order. ---------------------------------
# modules.dep: "kernel/path/mod.ko[.xz|.zst|.gz]: dep1.ko dep2.ko ..."
# (dependencies are complete, i.e. transitive).  Depth-first: deps first.
declare -A MOD_PATH=() MOD_DEPS=() SEEN=()
while IFS= read -r line; do
	path=${line%%:*}
	name=$(basename "$path")
	name=${name%%.ko*}
	name=${name//-/_}
	MOD_PATH[$name]=$path
	MOD_DEPS[$name]=${line#*:}
done <"$MODDIR/modules.dep"
BUILTIN=" "
while IFS= read -r path; do
	name=$(basename "$path")
	name=${name%%.ko*}
	BUILTIN+="${name//-/_} "
done <"$MODDIR/modules.builtin"

ORDER=()
visit() {
	local name=${1//-/_} dep dname
	[ -n "${SEEN[$name]:-}" ] && return 0
	SEEN[$name]=1
	for dep in ${MOD_DEPS[$name]}; do
		dname=$(basename "$dep")
		dname=${dname%%.ko*}
		visit "$dname"
	done
	ORDER+=("$name")
}
while read -r want _; do
	case $want in '' | '#'*) continue ;; esac
	optional=
	[ "${want#\?}" != "$want" ] && { optional=1; want=${want#\?}; }
	want=${want//-/_}
	if [ -n "${MOD_PATH[$want]:-}" ]; then
		visit "$want"
	elif [[ $BUILTIN == *" $want "* ]]; then
		log "module $want: built into the kernel"
	elif [ -n "$optional" ]; then
		log "module $want: not available (optional, skipped)"
	else
		die "module $want: neither a module nor built into $KREL"
	fi
done < <(cat "$CONF/modules"; for m in $EXTRA_MODULES; do echo "$m"; done)

# --- Stage the initramfs tree. -------------------------------------------------
ROOT=$WORK/initramfs
mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,etc/vdc,etc/acpi/PWRF,lib/modules,proc,sys,run,tmp,data,root,var/log,mnt}
chmod 1777 "$ROOT/tmp"

: >"$ROOT/etc/vdc/modules.order"
for name in "${ORDER[@]}"; do
	src=$MODDIR/${MOD_PATH[$name]}
	dst=$ROOT/lib/modules/$name.ko
	case $src in
	*.ko) cp "$src" "$dst" ;;
	*.ko.xz) xz -dc "$src" >"$dst" ;;
	*.ko.zst) zstd -qdc "$src" >"$dst" ;;
	*.ko.gz) gzip -dc "$src" >"$dst" ;;
	*) die "unknown module format: $src" ;;
	esac
	echo "$name.ko" >>"$ROOT/etc/vdc/modules.order"
done
log "modules (load order): ${ORDER[*]}"

# busybox-static from the downloaded package, with a symlink per applet.
install -m 0755 "$WORK/busybox/bin/busybox" "$ROOT/bin/busybox"
"$ROOT/bin/busybox" --list-full | while IFS= read -r applet; do
	[ -e "$ROOT/$applet" ] || [ -L "$ROOT/$applet" ] || ln -s /bin/busybox "$ROOT/$applet"
done
[ -L "$ROOT/bin/sh" ] || die "busybox has no sh applet"

# The static C helpers: the memory dirtier, the TCP accept loop, the
# outbound connect probe and the 1 ms timestamp stream.
for helper in dirtier vdc-listen vdc-connect vdc-tick; do
	gcc -static -O2 -Wall -Wextra -o "$ROOT/bin/$helper" "$HERE/$helper.c" ||
		die "cannot compile $helper.c (needs gcc and libc6-dev)"
	strip "$ROOT/bin/$helper"
done

# qemu-ga and the shared libraries it needs, found (recursively, by their
# DT_NEEDED) among the downloaded packages first, then on this build host
# (Debian 12 on both sides), with the dynamic loader.
install -m 0755 "$WORK/qga/usr/sbin/qemu-ga" "$ROOT/usr/sbin/qemu-ga"
mkdir -p "$ROOT/lib/x86_64-linux-gnu" "$ROOT/lib64"
declare -A LIB_DONE=()
find_lib() {
	local d
	for d in "$WORK/qga/lib/x86_64-linux-gnu" "$WORK/qga/usr/lib/x86_64-linux-gnu" /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu; do
		[ -e "$d/$1" ] && { readlink -f "$d/$1"; return 0; }
	done
	return 1
}
stage_libs() {
	local lib path
	for lib in $(objdump -p "$1" | awk '$1 == "NEEDED" { print $2 }'); do
		[ -n "${LIB_DONE[$lib]:-}" ] && continue
		LIB_DONE[$lib]=1
		path=$(find_lib "$lib") || die "qemu-ga needs $lib, found neither in the packages nor on this host"
		install -m 0755 "$path" "$ROOT/lib/x86_64-linux-gnu/$lib"
		stage_libs "$path"
	done
}
stage_libs "$ROOT/usr/sbin/qemu-ga"
install -m 0755 "$(readlink -f /lib64/ld-linux-x86-64.so.2)" "$ROOT/lib64/ld-linux-x86-64.so.2"
strip "$ROOT/usr/sbin/qemu-ga" "$ROOT"/lib/x86_64-linux-gnu/*.so* 2>/dev/null || true
log "qemu-ga libraries: ${!LIB_DONE[*]}"
# What guest-get-osinfo reads, and the shutdown qemu-ga runs for
# guest-shutdown (-h -P +0: power off; -r +0: reboot).
install -m 0644 "$CONF/os-release" "$ROOT/etc/os-release"
rm -f "$ROOT/sbin/shutdown"
install -m 0755 "$CONF/shutdown" "$ROOT/sbin/shutdown"
ln -sf /run "$ROOT/var/run"

install -m 0755 "$HERE/init" "$ROOT/init"
install -m 0755 "$CONF/vdc-handler" "$ROOT/bin/vdc-handler"
install -m 0755 "$CONF/udhcpc.script" "$ROOT/etc/udhcpc.script"
install -m 0755 "$CONF/acpi-power-button" "$ROOT/etc/acpi/PWRF/00000080"
install -m 0644 "$CONF/acpid.conf" "$ROOT/etc/acpid.conf"
echo "$KREL" >"$ROOT/etc/vdc/kernel-release"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$ROOT/etc/passwd"
printf 'root:x:0:\n' >"$ROOT/etc/group"
: >"$ROOT/etc/resolv.conf"

# Fixed timestamps: the same inputs give a byte-identical initrd.
find "$ROOT" -exec touch -h -d @0 {} +

# --- Pack: /dev + /dev/console first (hand-written newc entries, so no mknod
# and no root needed), then the tree; one gzip stream. ------------------------
newc_entry() { # name mode(octal) rdevmajor rdevminor
	local name=$1 mode=$2 maj=$3 min=$4 namesize pad
	namesize=$((${#name} + 1))
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
		0 "$((8#$mode))" 0 0 1 0 0 0 0 "$maj" "$min" "$namesize" 0
	printf '%s\0' "$name"
	pad=$(((4 - (110 + namesize) % 4) % 4))
	[ $pad -gt 0 ] && head -c "$pad" /dev/zero
	return 0
}
{
	newc_entry dev 040755 0 0
	newc_entry dev/console 020600 5 1
	newc_entry TRAILER!!! 0 0 0
} >"$WORK/dev.cpio"
(cd "$ROOT" && find . -mindepth 1 | LC_ALL=C sort |
	cpio --quiet -o -H newc -R 0:0 --reproducible) >"$WORK/tree.cpio"
cat "$WORK/dev.cpio" "$WORK/tree.cpio" | gzip -9 -n >"$OUT/.initrd.img.new"
install -m 0644 "$WORK/kernel/boot/vmlinuz-$KREL" "$OUT/.vmlinuz.new"
chmod 0644 "$OUT/.initrd.img.new"

mv -f "$OUT/.vmlinuz.new" "$OUT/vmlinuz"
mv -f "$OUT/.initrd.img.new" "$OUT/initrd.img"
echo "$KREL" >"$OUT/kernel-release"
echo "$STAMP" >"$OUT/.stamp"
chmod 0644 "$OUT/kernel-release" "$OUT/.stamp"
log "built in $(($(date +%s) - T0)) s: $OUT (kernel $KREL, initrd $(du -h "$OUT/initrd.img" | cut -f1))"
