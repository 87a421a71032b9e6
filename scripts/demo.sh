#!/usr/bin/env bash
# Sets everything up on a fresh Debian 12 machine and runs a live pgactive demo: installs the
# prerequisites, builds and installs pgactive, starts three local PostgreSQL 15 clusters, creates
# a group on node1, joins node2 and node3, writes on every node and shows the rows arriving
# everywhere, then the replication lag.
# Stop it with: bash scripts/demo-stop.sh
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-prereqs.sh
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
make all
$SUDO make install

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
BIN=$($PG_CONFIG --bindir)
DEMO_DIR=${PGACTIVE_DEMO_DIR:-/tmp/pgactive-demo}
BASE_PORT=${PGACTIVE_DEMO_PORT:-55431}
NODES=(node1 node2 node3)

# PostgreSQL refuses to run as root; the demo clusters then belong to the postgres OS user.
as_owner() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
port_of() { echo $((BASE_PORT + ${1#node} - 1)); }
dsn_of() { echo "host=127.0.0.1 port=$(port_of "$1") dbname=app user=postgres"; }
on() { local node=$1; shift; "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$(port_of "$node")" -U postgres "$@"; }

bash scripts/demo-stop.sh >/dev/null 2>&1 || true
rm -rf "$DEMO_DIR"
mkdir -p "$DEMO_DIR"
[ "$(id -u)" -eq 0 ] && chown postgres: "$DEMO_DIR"

for node in "${NODES[@]}"; do
    echo "== starting $node: PostgreSQL 15 on port $(port_of "$node"), data in $DEMO_DIR/$node"
    as_owner "$BIN/initdb" -D "$DEMO_DIR/$node" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
    cat >>"$DEMO_DIR/$node/postgresql.conf" <<CONF
port = $(port_of "$node")
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DEMO_DIR'
shared_preload_libraries = 'pgactive'
wal_level = logical
track_commit_timestamp = on
max_replication_slots = 10
max_wal_senders = 10
CONF
    # Minor releases that restrict output plugins must allow pgactive's.
    if "$BIN/postgres" --describe-config 2>/dev/null | grep -q '^output_plugin_libraries'; then
        echo "output_plugin_libraries = 'pgoutput, test_decoding, pgactive'" >>"$DEMO_DIR/$node/postgresql.conf"
    fi
    if ! as_owner "$BIN/pg_ctl" -D "$DEMO_DIR/$node" -l "$DEMO_DIR/$node.log" -w start >/dev/null; then
        echo "demo: $node did not start on port $(port_of "$node"); its log ($DEMO_DIR/$node.log) ends with:" >&2
        tail -n 5 "$DEMO_DIR/$node.log" >&2
        echo "demo: if another server holds the port, PGACTIVE_DEMO_PORT=<port> bash scripts/demo.sh uses" \
            "that port and the next two" >&2
        bash scripts/demo-stop.sh >/dev/null 2>&1 || true
        exit 1
    fi
done

echo "== node1: database app with a table and rows written before the group exists"
on node1 -d postgres -c "CREATE DATABASE app"
on node1 -d app <<SQL
CREATE TABLE accounts (id bigint PRIMARY KEY, owner text NOT NULL, balance numeric NOT NULL);
INSERT INTO accounts SELECT g, 'owner ' || g, 100 FROM generate_series(1, 5) g;
CREATE EXTENSION pgactive;
SELECT pgactive.pgactive_create_group(node_name := 'node1', node_dsn := '$(dsn_of node1)');
SELECT pgactive.pgactive_wait_for_node_ready(timeout := 60);
SQL

for node in node2 node3; do
    echo "== $node joins through node1 (copies schema and data, catches up, goes ready)"
    on "$node" -d postgres -c "CREATE DATABASE app"
    on "$node" -d app <<SQL
CREATE EXTENSION pgactive;
SELECT pgactive.pgactive_join_group(node_name := '$node', node_dsn := '$(dsn_of "$node")',
                                    join_using_dsn := '$(dsn_of node1)');
SELECT pgactive.pgactive_wait_for_node_ready(timeout := 120, progress_interval := 5);
SQL
done

echo "== the group, as node3 sees it"
on node3 -d app -c "SELECT node_name, node_status, node_dsn FROM pgactive.pgactive_nodes ORDER BY node_name"

echo "== every node writes a row"
for node in "${NODES[@]}"; do
    on "$node" -d app -c "INSERT INTO accounts VALUES (${node#node}00, 'written on $node', 0)"
done

echo "== and every node has all of them"
for node in "${NODES[@]}"; do
    for attempt in $(seq 1 50); do
        count=$(on "$node" -d app -At -c "SELECT count(*) FROM accounts WHERE id >= 100")
        [ "$count" = 3 ] && break
        sleep 0.1
    done
    echo "-- $node:"
    on "$node" -d app -c "SELECT id, owner FROM accounts WHERE id >= 100 ORDER BY id"
done

echo "== a conflict: node1 and node2 update the same row at the same instant"
at=$(on node1 -d app -At -c "SELECT (clock_timestamp() + interval '1 second')::text")
on node1 -d app -c "SELECT pg_sleep_until('$at'); UPDATE accounts SET balance = 111, owner = 'set on node1' WHERE id = 1" >/dev/null &
on node2 -d app -c "SELECT pg_sleep_until('$at'); UPDATE accounts SET balance = 222, owner = 'set on node2' WHERE id = 1" >/dev/null &
wait
for attempt in $(seq 1 50); do
    values=$(for node in "${NODES[@]}"; do on "$node" -d app -At -c "SELECT balance FROM accounts WHERE id = 1"; done | sort -u | wc -l)
    [ "$values" = 1 ] && break
    sleep 0.1
done
echo "-- every node kept the same row (last update wins):"
for node in "${NODES[@]}"; do
    on "$node" -d app -At -c "SELECT '$node: ' || owner || ', balance ' || balance FROM accounts WHERE id = 1"
done
echo "-- and recorded the conflict it saw:"
for node in node1 node2; do
    on "$node" -d app -c "SELECT '$node' AS node, conflict_type, conflict_resolution, local_tuple->>'owner' AS local, remote_tuple->>'owner' AS remote FROM pgactive.pgactive_conflict_history WHERE object_name = 'accounts'"
done

echo "== replication lag, seen from node1 (one row per peer streaming from it)"
on node1 -d app -c "SELECT node_name, slot_name, active, pending_wal_decoding, pending_wal_to_apply, confirmed_flush_lsn FROM pgactive.pgactive_get_replication_lag_info()"

cat <<MSG

The demo group is running. Connect to any node and write; the others follow:
    psql -h 127.0.0.1 -p $(port_of node1) -U postgres app     # node1
    psql -h 127.0.0.1 -p $(port_of node2) -U postgres app     # node2
    psql -h 127.0.0.1 -p $(port_of node3) -U postgres app     # node3
Server logs: $DEMO_DIR/node*.log
Stop it with:
    bash scripts/demo-stop.sh
MSG
