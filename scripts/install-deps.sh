#!/usr/bin/env bash
# install-deps.sh - installs, from Debian's packages, everything vdc needs to
# build, run, test and benchmark, and prepares the host (the unprivileged
# QEMU user). Idempotent; quick when everything is already there.
set -euo pipefail

packages=(
	# build
	gcc libc6-dev make pkg-config meson ninja-build clang libclang-rt-14-dev
	libjansson-dev libmicrohttpd-dev libcurl4-openssl-dev libcmocka-dev uuid-dev
	libsqlite3-dev libpq-dev libsodium-dev zlib1g-dev libwslay-dev
	# run: QEMU, images, seeds, networking
	qemu-system-x86 qemu-utils genisoimage iproute2 procps
	# the NAT network (DHCP and DNS for guests) and the host guard (in process)
	dnsmasq-base nftables libnftables-dev
	# guests built from Debian packages
	cpio gzip e2fsprogs debootstrap debian-archive-keyring zstd xz-utils ca-certificates kmod
	binutils util-linux
	# firmware boot: OVMF (UEFI; SeaBIOS comes with QEMU), and the
	# disk-booting test image (guest/build-disk-guest.sh): GRUB's BIOS and
	# EFI modules, the ESP's FAT through mtools, sfdisk
	ovmf grub-pc-bin grub-efi-amd64-bin grub-common mtools dosfstools fdisk
	# the installer ISO (guest/build-installer-iso.sh): grub-mkrescue runs xorriso
	xorriso
	# tests and benchmarks (PostgreSQL: the store's second backend)
	curl jq psmisc wrk bsdextrautils postgresql python3
	libvirt-daemon-system libvirt-clients libvirt-daemon-driver-qemu
	# host power through a BMC: vdcd runs ipmitool; tests/integration/
	# t_host_power.sh stands a real IPMI endpoint up with openipmi's ipmi_sim
	# (and reads vdcd's store with sqlite3, as t_tenants.sh does)
	ipmitool openipmi sqlite3
	# the web UI's browser test (tests/integration/t_ui.sh): Playwright
	# drives Debian's chromium; openssl pins vdcd's key for it
	chromium openssl
)

# The web UI is built with node (scripts/build-ui.sh), and the OpenAPI
# linter (tests/lint) runs on it: Debian's nodejs and npm,
# unless a node with npm is there already (NodeSource's nodejs bundles npm
# and conflicts with Debian's npm package).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "install-deps: installing ${missing[*]}" >&2
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# QEMU never runs as root: the agent starts each VM's QEMU as the VM's own
# uid and gid (vm-id-range), with the kvm group for /dev/kvm.
groupadd -f kvm
[ -e /dev/net/tun ] || modprobe tun 2>/dev/null || true
