#!/usr/bin/env bash
# build-ui.sh BUILD_DIR - builds the web UI (ui/) into BUILD_DIR/ui, which
# vdcd serves at / (it finds build/ui next to build/src/manager/vdcd).
# The sources are copied to BUILD_DIR/ui-src and their npm dependencies
# installed there (`npm ci`, pinned by ui/package-lock.json; again only
# when the lockfile changes), so that nothing is written into the source
# tree and two build dirs can build at once. Every text file of the output
# gets a .gz twin, which vdcd sends to browsers that take gzip.
# Needs node and npm (scripts/install-deps.sh installs Debian's).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: build-ui.sh BUILD_DIR}
mkdir -p "$build"
build=$(cd "$build" && pwd)
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "build-ui: node and npm are needed to build the web UI; run scripts/install-deps.sh" >&2
	exit 1
fi
work=$build/ui-src
mkdir -p "$work"
# The sources, without what npm or a browser left in the tree.
tar -C ui --exclude=node_modules -cf - . | tar -C "$work" -xf -
if ! cmp -s ui/package-lock.json "$work/.installed-lock" || [ ! -d "$work/node_modules" ]; then
	echo "build-ui: npm ci in $work" >&2
	(cd "$work" && npm ci --no-audit --no-fund --loglevel=error >&2)
	cp ui/package-lock.json "$work/.installed-lock"
fi
(cd "$work" && VDC_UI_OUT="$build/ui" node node_modules/vite/bin/vite.js build --logLevel warn >&2)
find "$build/ui" -type f \( -name '*.js' -o -name '*.css' -o -name '*.html' -o -name '*.svg' -o -name '*.json' \) \
	-exec gzip -9 -k -f -n {} +
