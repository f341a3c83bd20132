#!/usr/bin/env bash
# pg-test-server.sh - a throwaway PostgreSQL server for the store tests.
#   start DIR: creates (once) and starts a server whose files all live in DIR,
#              with a database "vdc", and prints its connection URL on stdout.
#   stop DIR:  stops it and removes DIR.
# Trust authentication on a unix socket in DIR and on 127.0.0.1 (a free port):
# for tests only. Idempotent; needs Debian's postgresql package, installs
# nothing, starts no system service (pg_ctl directly, no systemd).
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
die() { echo "pg-test-server: $*" >&2; exit 1; }

[ $# -eq 2 ] || usage
cmd=$1
dir=$2
[ -n "$dir" ] || usage
MARK=.vdc-pg-test

bindir=
for d in /usr/lib/postgresql/15/bin $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV); do
	if [ -x "$d/pg_ctl" ]; then bindir=$d; break; fi
done

# initdb and the server refuse to run as root: use the postgres system user.
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

running() { [ -f "$dir/data/PG_VERSION" ] && as_pg "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pick_port() {
	local p tries
	for tries in $(seq 1 200); do
		p=$((20000 + RANDOM % 30000))
		if port_free "$p"; then echo "$p"; return 0; fi
	done
	die "no free TCP port found on 127.0.0.1"
}

url() { echo "postgresql:///vdc?host=$dir/sock&port=$(cat "$dir/port")&user=postgres"; }

start() {
	[ -n "$bindir" ] || die "PostgreSQL server binaries not found under /usr/lib/postgresql: install the postgresql package"
	if [ -e "$dir" ] && [ ! -e "$dir/$MARK" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
		die "$dir exists and is not a pg-test-server directory"
	fi
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	touch "$dir/$MARK"
	# The socket path (DIR/sock/.s.PGSQL.PORT) must fit in sun_path.
	[ ${#dir} -le 80 ] || die "$dir is too long a path for a unix socket: use a shorter one"
	mkdir -p "$dir/sock"
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres: "$dir" "$dir/sock"
		runuser -u postgres -- test -w "$dir" || die "the postgres user cannot reach $dir: use a directory under /tmp"
	fi
	if running; then url; return 0; fi
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		rm -rf "$dir/data"
		as_pg "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
			--no-sync --no-instructions >"$dir/initdb.log" 2>&1 ||
			die "initdb failed: see $dir/initdb.log"
	fi
	local port
	port=$(cat "$dir/port" 2>/dev/null || true)
	if [ -z "$port" ] || ! port_free "$port"; then
		port=$(pick_port)
		echo "$port" >"$dir/port"
	fi
	# Durability is not what these tests measure: no fsync.
	as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o \
		"-p $port -k $dir/sock -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100" \
		start >/dev/null || die "the server did not start: see $dir/server.log"
	if ! as_pg "$bindir/psql" -h "$dir/sock" -p "$port" -U postgres -d postgres -tAq \
		-c "SELECT 1 FROM pg_database WHERE datname = 'vdc'" | grep -q 1; then
		as_pg "$bindir/createdb" -h "$dir/sock" -p "$port" -U postgres vdc || die "createdb vdc failed"
	fi
	url
}

stop() {
	[ -e "$dir" ] || return 0
	[ -e "$dir/$MARK" ] || die "$dir is not a pg-test-server directory: not removing it"
	if [ -f "$dir/data/PG_VERSION" ] && [ -n "$bindir" ]; then
		as_pg "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$dir"
}

case $cmd in
start) start ;;
stop) stop ;;
*) usage ;;
esac
