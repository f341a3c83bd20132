#!/usr/bin/env bash
# build.sh [DIR [meson options...]] - configures (once) and builds with Meson.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
if [ ! -f "$dir/build.ninja" ]; then
	meson setup "$dir" "$@" >/dev/null
fi
ninja -C "$dir" >/dev/null
# The web UI vdcd serves (ui/ -> $dir/ui).
scripts/build-ui.sh "$dir"
