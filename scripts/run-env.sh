# run-env.sh - sourced by run.sh and stop.sh: where `make run` keeps
# vdcd's pid, logs and store (its hosts: scripts/pool.sh), each movable by
# an environment variable, and the links that put its programs on the PATH.
RUN=${VDC_RUN_DIR:-/run/vdc-run}
LOGS=${VDC_LOG_DIR:-/var/log/vdc}
DATA=${VDC_DATA_DIR:-/var/lib/vdcd}
MGR=${VDC_MANAGER_ADDR:-127.0.0.1:7443}
BUILD=${VDC_BUILD_DIR:-build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
BIN=${VDC_BIN_DIR:-/usr/local/bin}
CACHE=${VDC_CACHE:-/var/cache/vdc}
export PATH=$BUILD/src/cli:$PATH

alive() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

# Symbolic links, not copies: a rebuild is what the next shell runs. A file
# there that is not our link is left alone and named.
install_links() {
	local p target
	mkdir -p "$BIN"
	for p in cli/vdc manager/vdcd agent/vdc-agent; do
		target=$BUILD/src/$p
		if [ -e "$BIN/${p#*/}" ] && [ ! -L "$BIN/${p#*/}" ]; then
			echo "run: $BIN/${p#*/} exists and is not a link to this build; leaving it (use $target)" >&2
			continue
		fi
		ln -sfn "$target" "$BIN/${p#*/}"
	done
}

# What to type when $BIN is not on the caller's PATH (the PATH this script
# runs with is not the user's shell's, so ask a login shell).
path_hint() {
	local user_path
	user_path=$(env -i HOME="$HOME" bash -lc 'echo "$PATH"' 2>/dev/null)
	case ":$user_path:" in
	*":$BIN:"*) echo "vdc, vdcd and vdc-agent are linked into $BIN." ;;
	*) echo "vdc, vdcd and vdc-agent are linked into $BIN, which is not on your PATH: run" \
		"export PATH=$BIN:\$PATH" ;;
	esac
}
