#!/usr/bin/env bash
# t_history_pg.sh - t_history.sh with vdcd on PostgreSQL (a throwaway
# server, scripts/pg-test-server.sh): the history's batched writes, reads,
# trims and drops there.
HISTORY_PG=1 exec bash "$(dirname "$0")/t_history.sh"
