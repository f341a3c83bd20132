#!/usr/bin/env bash
# run-pg.sh TEST_STORE - runs the store suite on a throwaway PostgreSQL server
# started for this run (scripts/pg-test-server.sh) and stopped after it.
# Exits 77 (skipped) when PostgreSQL's server binaries are not installed.
set -u
root=$(cd "$(dirname "$0")/../../.." && pwd)
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
	echo "1..0 # SKIP PostgreSQL is not installed (apt-get install postgresql)"
	exit 77
fi
dir=$(mktemp -d /tmp/vdc-pgt.XXXXXX)
trap '"$root/scripts/pg-test-server.sh" stop "$dir"' EXIT
url=$("$root/scripts/pg-test-server.sh" start "$dir") || exit 1
VDC_TEST_PG_URL=$url "$1" postgresql
