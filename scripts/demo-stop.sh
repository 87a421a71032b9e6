#!/usr/bin/env bash
# Stops the demo cluster(s) started by scripts/demo.sh.
set -uo pipefail
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
BIN=$($PG_CONFIG --bindir)
DEMO_DIR=${PGACTIVE_DEMO_DIR:-/tmp/pgactive-demo}
as_owner() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
for data in "$DEMO_DIR"/node*/; do
    [ -f "$data/postmaster.pid" ] || continue
    as_owner "$BIN/pg_ctl" -D "$data" -m fast -w stop && echo "stopped $(basename "$data")"
done
