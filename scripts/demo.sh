#!/usr/bin/env bash
# Sets everything up on a fresh Debian 12 machine and runs a live pgactive demo: installs the
# prerequisites, builds and installs pgactive, starts a local PostgreSQL 15 cluster with pgactive
# preloaded, creates a group on database "app" and shows the node and its JVM worker.
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
PORT=${PGACTIVE_DEMO_PORT:-55431}

# PostgreSQL refuses to run as root; the demo cluster then belongs to the postgres OS user.
as_owner() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
psql_node() { "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres "$@"; }

bash scripts/demo-stop.sh >/dev/null 2>&1 || true
rm -rf "$DEMO_DIR"
mkdir -p "$DEMO_DIR"
[ "$(id -u)" -eq 0 ] && chown postgres: "$DEMO_DIR"

echo "== creating node1 (PostgreSQL 15 on port $PORT, data in $DEMO_DIR/node1)"
as_owner "$BIN/initdb" -D "$DEMO_DIR/node1" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
cat >>"$DEMO_DIR/node1/postgresql.conf" <<CONF
port = $PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DEMO_DIR'
shared_preload_libraries = 'pgactive'
wal_level = logical
track_commit_timestamp = on
max_replication_slots = 10
max_wal_senders = 10
CONF
as_owner "$BIN/pg_ctl" -D "$DEMO_DIR/node1" -l "$DEMO_DIR/node1.log" -w start >/dev/null

echo "== creating database app with a table and some rows, then the pgactive group"
psql_node -d postgres -c "CREATE DATABASE app"
psql_node -d app <<SQL
CREATE TABLE accounts (id bigint PRIMARY KEY, owner text NOT NULL, balance numeric NOT NULL);
INSERT INTO accounts SELECT g, 'owner ' || g, 100 FROM generate_series(1, 5) g;
CREATE EXTENSION pgactive;
SELECT pgactive.pgactive_create_group(
    node_name := 'node1',
    node_dsn := 'host=127.0.0.1 port=$PORT dbname=app user=postgres');
SELECT pgactive.pgactive_wait_for_node_ready(timeout := 60, progress_interval := 5);
SQL

echo "== the group"
psql_node -d app -c "SELECT node_name, node_status, node_dsn FROM pgactive.pgactive_nodes"
psql_node -d app -c "SELECT pgactive.pgactive_get_local_node_name() AS local_node, pgactive.pgactive_version() AS version, pgactive._worker_pid() AS jvm_worker_pid"
echo "== worker lines in the server log ($DEMO_DIR/node1.log)"
grep "pgactive worker" "$DEMO_DIR/node1.log" | tail -n 5

cat <<MSG

The demo node is running. Connect with:
    psql -h 127.0.0.1 -p $PORT -U postgres app
Stop it with:
    bash scripts/demo-stop.sh
MSG
