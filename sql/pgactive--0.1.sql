-- pgactive extension script, version 0.1
--
-- The SQL API records what the user asked for in the catalog tables below and wakes the JVM
-- worker, which does the actual work and reports back through the same tables. Names, argument
-- lists and catalog columns follow upstream pgactive so that its documentation and habits apply.

\echo Use "CREATE EXTENSION pgactive" to load this file. \quit

-- Schema pgactive exists already: the control file names it, and CREATE EXTENSION creates it.
GRANT USAGE ON SCHEMA pgactive TO PUBLIC;

--------------------------------------------------------------------------------------------------
-- Catalog: group membership (replicated to every node once replication runs)
--------------------------------------------------------------------------------------------------

CREATE TABLE pgactive.pgactive_nodes (
    node_sysid text NOT NULL,
    node_timeline oid NOT NULL,
    node_dboid oid NOT NULL,
    node_status "char" NOT NULL
        CONSTRAINT pgactive_nodes_node_status_check
        CHECK (node_status IN ('b', 'i', 'c', 'o', 'r', 'k')),
    node_name text NOT NULL,
    node_dsn text,
    node_init_from_dsn text,
    node_read_only boolean DEFAULT false,
    node_seq_id smallint,
    PRIMARY KEY (node_sysid, node_timeline, node_dboid)
);
-- A detached node's name may be taken again (as upstream): its row stays, marked 'k', so that
-- it is refused should it come back.
CREATE UNIQUE INDEX pgactive_nodes_node_name ON pgactive.pgactive_nodes (node_name) WHERE node_status <> 'k';

COMMENT ON TABLE pgactive.pgactive_nodes IS
    'Every node of the pgactive group, with its status: b(eginning), i(nitial copy), c(atch-up), o(utbound slots), r(eady), k(illed/detached)';

CREATE TABLE pgactive.pgactive_connections (
    conn_sysid text NOT NULL,
    conn_timeline oid NOT NULL,
    conn_dboid oid NOT NULL,
    conn_dsn text NOT NULL,
    conn_apply_delay integer
        CONSTRAINT pgactive_connections_conn_apply_delay_check CHECK (conn_apply_delay >= 0),
    conn_replication_sets text[],
    PRIMARY KEY (conn_sysid, conn_timeline, conn_dboid)
);

COMMENT ON TABLE pgactive.pgactive_connections IS
    'How to connect to each node, its apply delay (NULL: pgactive.debug_apply_delay) and replication sets';

--------------------------------------------------------------------------------------------------
-- Catalog: conflicts (local to each node, never replicated)
--------------------------------------------------------------------------------------------------

CREATE TYPE pgactive.pgactive_conflict_type AS ENUM (
    'insert_insert',
    'insert_update',
    'update_update',
    'update_delete',
    'delete_delete',
    'unhandled_tx_abort'
);

CREATE TYPE pgactive.pgactive_conflict_resolution AS ENUM (
    'conflict_trigger_skip_change',
    'conflict_trigger_returned_tuple',
    'last_update_wins_keep_local',
    'last_update_wins_keep_remote',
    'apply_change',
    'skip_change',
    'unhandled_tx_abort'
);

CREATE TYPE pgactive.pgactive_conflict_handler_action AS ENUM ('IGNORE', 'ROW', 'SKIP');

CREATE SEQUENCE pgactive.pgactive_conflict_history_id_seq;

CREATE TABLE pgactive.pgactive_conflict_history (
    conflict_id bigint NOT NULL DEFAULT nextval('pgactive.pgactive_conflict_history_id_seq'),
    local_node_sysid text NOT NULL,
    local_conflict_xid xid NOT NULL,
    local_conflict_lsn pg_lsn NOT NULL,
    local_conflict_time timestamptz NOT NULL,
    object_schema text,
    object_name text,
    remote_node_sysid text NOT NULL,
    remote_txid xid NOT NULL,
    remote_commit_time timestamptz NOT NULL,
    remote_commit_lsn pg_lsn NOT NULL,
    conflict_type pgactive.pgactive_conflict_type NOT NULL,
    conflict_resolution pgactive.pgactive_conflict_resolution NOT NULL,
    local_tuple json,
    remote_tuple json,
    local_tuple_xmin xid,
    local_tuple_origin_sysid text,
    error_message text,
    error_sqlstate text CHECK (length(error_sqlstate) = 5),
    error_querystring text,
    error_cursorpos integer,
    error_detail text,
    error_hint text,
    error_context text,
    error_columnname text,
    error_typename text,
    error_constraintname text,
    error_filename text,
    error_lineno integer,
    error_funcname text,
    remote_node_timeline oid,
    remote_node_dboid oid,
    local_tuple_origin_timeline oid,
    local_tuple_origin_dboid oid,
    local_commit_time timestamptz,
    conflict_reason text,
    PRIMARY KEY (local_node_sysid, conflict_id)
);
ALTER SEQUENCE pgactive.pgactive_conflict_history_id_seq
    OWNED BY pgactive.pgactive_conflict_history.conflict_id;
-- The worker forgets rows older than pgactive.conflict_history_retention every few seconds: without
-- an index, each time a scan of the whole history, which a conflict-heavy load makes large. Rows
-- come in time order, so a BRIN index finds the old ones at almost no cost to each insert.
CREATE INDEX pgactive_conflict_history_local_conflict_time_idx
    ON pgactive.pgactive_conflict_history USING brin (local_conflict_time);

-- ch_relname is ours: table oids differ from node to node, so the replicated row carries the
-- table's name and every node fills in its own ch_reloid (trigger below).
CREATE TABLE pgactive.pgactive_conflict_handlers (
    ch_name name NOT NULL,
    ch_type pgactive.pgactive_conflict_type NOT NULL,
    ch_reloid oid NOT NULL,
    ch_fun text NOT NULL,
    ch_timeframe interval,
    ch_relname text NOT NULL,
    PRIMARY KEY (ch_reloid, ch_name)
);
CREATE INDEX pgactive_conflict_handlers_ch_type_reloid_idx
    ON pgactive.pgactive_conflict_handlers (ch_reloid, ch_type);
-- Replicated updates and deletes find the row by (ch_relname, ch_name), the same on every node.
CREATE UNIQUE INDEX pgactive_conflict_handlers_relname_name
    ON pgactive.pgactive_conflict_handlers (ch_relname, ch_name);
ALTER TABLE pgactive.pgactive_conflict_handlers
    REPLICA IDENTITY USING INDEX pgactive_conflict_handlers_relname_name;

CREATE FUNCTION pgactive._conflict_handler_local_oid() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pgactive, pg_temp AS $$
BEGIN
    NEW.ch_reloid := coalesce(to_regclass(NEW.ch_relname)::oid, 0);
    RETURN NEW;
END;
$$;
-- ALWAYS: also when the row arrives by replication (session_replication_role = replica).
CREATE TRIGGER pgactive_conflict_handlers_local_oid
    BEFORE INSERT OR UPDATE ON pgactive.pgactive_conflict_handlers
    FOR EACH ROW EXECUTE FUNCTION pgactive._conflict_handler_local_oid();
ALTER TABLE pgactive.pgactive_conflict_handlers
    ENABLE ALWAYS TRIGGER pgactive_conflict_handlers_local_oid;

CREATE TABLE pgactive.pgactive_replication_set_config (
    set_name name PRIMARY KEY,
    replicate_inserts bool NOT NULL DEFAULT true,
    replicate_updates bool NOT NULL DEFAULT true,
    replicate_deletes bool NOT NULL DEFAULT true
);

--------------------------------------------------------------------------------------------------
-- Catalog: this node's own progress (local, never replicated)
--------------------------------------------------------------------------------------------------

-- One row while this database is (becoming) a node. The SQL API bumps attempt on every
-- create/join call; the worker reports progress and errors tagged with the attempt it worked on,
-- so a late report about an earlier attempt can never be mistaken for the current one.
-- apply_paused_at_postmaster_start is the server's start time when pgactive_apply_pause() was
-- called: once the server restarts it no longer matches, which ends the pause (as upstream).
CREATE TABLE pgactive.pgactive_local_state (
    is_singleton boolean PRIMARY KEY DEFAULT true CHECK (is_singleton),
    attempt integer NOT NULL,
    operation text NOT NULL CHECK (operation IN ('create', 'join')),
    progress text,
    last_error text,
    last_error_time timestamptz,
    join_options jsonb,
    ready_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    apply_paused_at_postmaster_start timestamptz
);

-- This node's identity, generated when it creates or joins a group (as upstream's node
-- identifier) and kept in the database, not taken from pg_control: a promoted physical standby
-- or a point-in-time restore keeps the identity of the node it copies, while a copy that is
-- removed and joins again becomes a node of its own. last_timeline is the server timeline on
-- which this node last had its peers' slots: a new one means that the server was promoted or
-- restored, and that those slots, which no physical copy carries, must be made again.
CREATE TABLE pgactive.pgactive_node_identifier (
    is_singleton boolean PRIMARY KEY DEFAULT true CHECK (is_singleton),
    node_identifier numeric NOT NULL,
    node_timeline oid NOT NULL,
    last_timeline oid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Tables and columns dropped on this node, so that apply can tell a column that is not here yet
-- (added on a peer first: its changes wait for the local ADD COLUMN) from one that is gone (dropped
-- here first: the peers' values for it go too, as they will on every node once it is dropped
-- there). column_name is NULL for a whole table. A name made again here is taken out.
CREATE TABLE pgactive.pgactive_dropped_objects (
    schema_name text NOT NULL,
    table_name text NOT NULL,
    column_name text NOT NULL DEFAULT '',
    dropped_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (schema_name, table_name, column_name)
);
COMMENT ON COLUMN pgactive.pgactive_dropped_objects.column_name IS 'empty for the whole table';

-- The last local rewrite of each table (ALTER TABLE ... TYPE, ADD COLUMN with a volatile default):
-- a rewrite gives every row the rewriting transaction as its last writer, which would make every
-- row look written here at that moment and a concurrent remote change of it lose. Rows still
-- carrying xid count as older than any change still to come (docs/schema-changes.md).
CREATE TABLE pgactive.pgactive_rewritten_tables (
    relid oid PRIMARY KEY,
    xid xid NOT NULL,
    rewritten_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Rows a join copied carry the time of the copy, not of their last write. For rows the upstream
-- changed after the join started, this keeps the true last writer and time, so that this node
-- decides later conflicts on them as the upstream would have; every other copied row counts as
-- older than any change still to come.
CREATE TABLE pgactive.pgactive_copied_row_times (
    relname text NOT NULL,
    key jsonb NOT NULL,
    commit_time timestamptz NOT NULL,
    origin_sysid text NOT NULL,
    origin_timeline oid NOT NULL,
    origin_dboid oid NOT NULL,
    PRIMARY KEY (relname, key)
);

-- Tombstones: when and by whom a row was deleted here, so that a remote UPDATE of a row that is
-- gone can be judged last-update-wins against the DELETE (and applied as an INSERT when newer).
-- key is the row's replica identity as a JSON object; local deletes record their xid and the
-- commit time is looked up when needed. Never replicated; the worker removes old ones.
CREATE TABLE pgactive.pgactive_tombstones (
    relname text NOT NULL,
    key jsonb NOT NULL,
    deleted_at timestamptz,
    deleting_xid xid8,
    origin_sysid text NOT NULL,
    PRIMARY KEY (relname, key)
);

-- Apply counters per upstream, added to by the worker about once a second.
CREATE TABLE pgactive.pgactive_apply_stats (
    riremoteid text PRIMARY KEY,
    nr_commit bigint NOT NULL DEFAULT 0,
    nr_rollback bigint NOT NULL DEFAULT 0,
    nr_insert bigint NOT NULL DEFAULT 0,
    nr_insert_conflict bigint NOT NULL DEFAULT 0,
    nr_update bigint NOT NULL DEFAULT 0,
    nr_update_conflict bigint NOT NULL DEFAULT 0,
    nr_delete bigint NOT NULL DEFAULT 0,
    nr_delete_conflict bigint NOT NULL DEFAULT 0,
    nr_disconnect bigint NOT NULL DEFAULT 0,
    last_commit_time timestamptz,
    -- when this link last had applied everything its peer had sent: a peer that does not write
    -- moves the tombstone horizon forward with this (see Tombstones.collectGarbage)
    caught_up_at timestamptz,
    -- the last transaction applied: its xid on its origin node, and when it committed here
    last_applied_xid bigint,
    last_applied_at timestamptz
);

-- The state of each link "this node <- peer", written by the worker (stream/LinkStatus.java)
-- when it changes, and its positions about once a second: read through view pgactive_links.
CREATE TABLE pgactive.pgactive_link_status (
    riremoteid text PRIMARY KEY,
    state text NOT NULL CHECK (state IN ('connecting', 'streaming', 'catching up', 'retrying', 'stalled', 'lost')),
    state_since timestamptz NOT NULL,
    received_lsn pg_lsn,
    processed_lsn pg_lsn,
    -- how far ahead of this node's clock the peer's timestamps were seen in the last minute (0: within 1 s)
    peer_clock_ahead_ms bigint NOT NULL DEFAULT 0,
    last_error text,
    last_error_time timestamptz,
    retries integer NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

COMMENT ON TABLE pgactive.pgactive_local_state IS
    'Progress and last error of this node''s create/join, as reported by the pgactive worker, and whether apply is paused';


-- The names of pgactive's slots and replication origins, as upstream formats them (the worker's
-- catalog/Names.java builds the same; MeshReplicationTest checks that they agree). Every SQL
-- function and view below builds them through these.
CREATE FUNCTION pgactive.pgactive_format_slot_name(remote_sysid text, remote_timeline oid, remote_dboid oid,
                                                   local_dboid oid, replication_name name) RETURNS name
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $$
    SELECT format('pgactive_%s_%s_%s_%s__%s', local_dboid, remote_sysid, remote_timeline, remote_dboid,
                  replication_name)::name
$$;

CREATE FUNCTION pgactive.pgactive_format_replident_name(remote_sysid text, remote_timeline oid, remote_dboid oid,
                                                        local_dboid oid, replication_name name) RETURNS text
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $$
    SELECT format('pgactive_%s_%s_%s_%s_%s', remote_sysid, remote_timeline, remote_dboid, local_dboid,
                  replication_name)
$$;

--------------------------------------------------------------------------------------------------
-- Launcher interface (C, launcher/pgactive.c)
--------------------------------------------------------------------------------------------------

CREATE FUNCTION pgactive._wake_worker() RETURNS void
    LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'pgactive_wake_worker';
COMMENT ON FUNCTION pgactive._wake_worker() IS
    'Wake the pgactive launcher when the calling transaction commits (starts the JVM worker if needed)';

CREATE FUNCTION pgactive._worker_pid() RETURNS integer
    LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'pgactive_worker_pid';

CREATE FUNCTION pgactive._launcher_pid() RETURNS integer
    LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'pgactive_launcher_pid';

CREATE FUNCTION pgactive._worker_last_error() RETURNS text
    LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'pgactive_worker_last_error';

-- First column of the first row of a query on another server (launcher/pgactive_remote.c).
CREATE FUNCTION pgactive._remote_query(conninfo text, query text) RETURNS text
    LANGUAGE c VOLATILE STRICT AS 'MODULE_PATHNAME', 'pgactive_remote_query';

--------------------------------------------------------------------------------------------------
-- Identity and version
--------------------------------------------------------------------------------------------------

CREATE FUNCTION pgactive.pgactive_version() RETURNS text
    LANGUAGE sql IMMUTABLE AS $$ SELECT '0.1.0'::text $$;

CREATE FUNCTION pgactive.pgactive_version_num() RETURNS integer
    LANGUAGE sql IMMUTABLE AS $$ SELECT 100 $$;

CREATE FUNCTION pgactive.pgactive_variant() RETURNS text
    LANGUAGE sql IMMUTABLE AS $$ SELECT 'pgactive-java'::text $$;

CREATE FUNCTION pgactive.pgactive_min_remote_version_num() RETURNS integer
    LANGUAGE sql IMMUTABLE AS $$ SELECT 100 $$;

-- A node is a database: (node identifier, timeline, database oid). Before the database has a
-- generated identifier (pgactive_node_identifier), the server's system identifier and timeline
-- stand in for it.
-- Declared as a set of one row so that the planner inlines it where it is read in FROM (the
-- write guard asks it for every writing transaction: a call it cannot inline costs ~100 µs).
CREATE FUNCTION pgactive.pgactive_get_local_nodeid(OUT sysid text, OUT timeline oid, OUT dboid oid)
    RETURNS SETOF record ROWS 1
    LANGUAGE sql STABLE AS $$
    -- The pg_control reads (a file read each) only run when there is no identifier.
    SELECT coalesce(i.node_identifier::text, (SELECT s.system_identifier::text FROM pg_catalog.pg_control_system() s)),
           coalesce(i.node_timeline, (SELECT c.timeline_id::oid FROM pg_catalog.pg_control_checkpoint() c)),
           (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())
      FROM (SELECT) AS one
      LEFT JOIN pgactive.pgactive_node_identifier i ON true
$$;

-- This node's generated identifier; NULL before it created or joined a group.
CREATE FUNCTION pgactive.pgactive_get_node_identifier() RETURNS numeric
    LANGUAGE sql STABLE AS $$ SELECT node_identifier FROM pgactive.pgactive_node_identifier $$;

-- The timeline the server writes WAL on now (pg_control's lags until the next checkpoint).
CREATE FUNCTION pgactive._server_timeline() RETURNS oid
    LANGUAGE sql VOLATILE SET search_path = pg_catalog AS $$
    SELECT ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::bigint::oid
$$;

-- A new identity for a database that has none (it never was a node, or pgactive_remove() made
-- it a plain database again); one that has one keeps it, so that a retried create or join
-- replaces what an earlier attempt left. Built as PostgreSQL builds system identifiers: the
-- time in seconds and microseconds, and random bits.
CREATE FUNCTION pgactive._generate_node_identifier() RETURNS void
    LANGUAGE sql SET search_path = pg_catalog AS $$
    INSERT INTO pgactive.pgactive_node_identifier (node_identifier, node_timeline, last_timeline)
    SELECT floor(extract(epoch FROM now))::numeric * 4294967296
           + (floor(extract(microseconds FROM now))::numeric % 1000000) * 4096
           + floor(random() * 4096)::numeric,
           pgactive._server_timeline(), pgactive._server_timeline()
      FROM clock_timestamp() now
    ON CONFLICT (is_singleton) DO NOTHING
$$;

CREATE FUNCTION pgactive._local_node() RETURNS pgactive.pgactive_nodes
    LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    SELECT n.*
      FROM pgactive.pgactive_nodes n, pgactive.pgactive_get_local_nodeid() l
     WHERE (n.node_sysid, n.node_timeline, n.node_dboid) = (l.sysid, l.timeline, l.dboid)
$$;

-- This database's own row in pgactive_nodes; an error when it is not (becoming) a node.
CREATE FUNCTION pgactive._require_local_node() RETURNS pgactive.pgactive_nodes
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
DECLARE
    local_node pgactive.pgactive_nodes := pgactive._local_node();
BEGIN
    IF local_node.node_sysid IS NULL THEN
        RAISE EXCEPTION 'database "%" is not a pgactive node', current_database()
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Call pgactive.pgactive_create_group() or pgactive.pgactive_join_group() first.';
    END IF;
    RETURN local_node;
END;
$$;

CREATE FUNCTION pgactive.pgactive_get_local_node_name() RETURNS text
    LANGUAGE sql STABLE AS $$ SELECT node_name FROM pgactive._local_node() $$;

CREATE FUNCTION pgactive.pgactive_is_active_in_db() RETURNS boolean
    LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    SELECT coalesce((SELECT node_status <> 'k' FROM pgactive._local_node()), false)
$$;

CREATE FUNCTION pgactive.pgactive_node_status_from_char("char") RETURNS text
    LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT CASE $1
        WHEN 'b' THEN 'pgactive_NODE_STATUS_BEGINNING_INIT'
        WHEN 'i' THEN 'pgactive_NODE_STATUS_COPYING_INITIAL_DATA'
        WHEN 'c' THEN 'pgactive_NODE_STATUS_CATCHUP'
        WHEN 'o' THEN 'pgactive_NODE_STATUS_CREATING_OUTBOUND_SLOTS'
        WHEN 'r' THEN 'pgactive_NODE_STATUS_READY'
        WHEN 'k' THEN 'pgactive_NODE_STATUS_KILLED'
    END
$$;

CREATE FUNCTION pgactive.pgactive_node_status_to_char(text) RETURNS "char"
    LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT CASE $1
        WHEN 'pgactive_NODE_STATUS_BEGINNING_INIT' THEN 'b'
        WHEN 'pgactive_NODE_STATUS_COPYING_INITIAL_DATA' THEN 'i'
        WHEN 'pgactive_NODE_STATUS_CATCHUP' THEN 'c'
        WHEN 'pgactive_NODE_STATUS_CREATING_OUTBOUND_SLOTS' THEN 'o'
        WHEN 'pgactive_NODE_STATUS_READY' THEN 'r'
        WHEN 'pgactive_NODE_STATUS_KILLED' THEN 'k'
    END::"char"
$$;

--------------------------------------------------------------------------------------------------
-- Checks shared by create and join: all of them run before anything is written
--------------------------------------------------------------------------------------------------

-- A NULL argument is an error naming it, never a silent skip of the check it controls. (An
-- argument whose NULL has a meaning, such as apply_delay, says so in the reference.)
CREATE FUNCTION pgactive._check_not_null(value anyelement, argument text, function_name text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog AS $$
BEGIN
    IF value IS NULL THEN
        RAISE EXCEPTION 'argument "%" of %() must not be NULL', argument, function_name
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
END;
$$;

CREATE FUNCTION pgactive._check_server_settings() RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    max_nodes integer;
    setting_value integer;
BEGIN
    IF NOT 'pgactive' = ANY (string_to_array(replace(current_setting('shared_preload_libraries'), ' ', ''), ',')) THEN
        RAISE EXCEPTION 'pgactive must be loaded via shared_preload_libraries'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Add pgactive to shared_preload_libraries in postgresql.conf and restart the server.';
    END IF;
    max_nodes := current_setting('pgactive.max_nodes')::integer;
    IF current_setting('wal_level') <> 'logical' THEN
        RAISE EXCEPTION 'pgactive requires wal_level = logical, but it is "%"', current_setting('wal_level')
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Set wal_level = logical in postgresql.conf and restart the server.';
    END IF;
    IF NOT current_setting('track_commit_timestamp')::boolean THEN
        RAISE EXCEPTION 'pgactive requires track_commit_timestamp to be enabled'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Set track_commit_timestamp = on in postgresql.conf and restart the server; conflict resolution reads commit timestamps.';
    END IF;
    -- One slot per peer plus one for a join in progress; replication origins share the limit.
    setting_value := current_setting('max_replication_slots')::integer;
    IF setting_value < max_nodes THEN
        RAISE EXCEPTION 'max_replication_slots = % is too low for pgactive.max_nodes = %', setting_value, max_nodes
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = format('Set max_replication_slots to at least %s and restart the server.', max_nodes);
    END IF;
    -- One walsender per peer streaming from this node plus one for a joining node.
    setting_value := current_setting('max_wal_senders')::integer;
    IF setting_value < max_nodes THEN
        RAISE EXCEPTION 'max_wal_senders = % is too low for pgactive.max_nodes = %', setting_value, max_nodes
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = format('Set max_wal_senders to at least %s and restart the server.', max_nodes);
    END IF;
    -- The launcher is a background worker; it needs a slot besides any the server uses itself.
    setting_value := current_setting('max_worker_processes')::integer;
    IF setting_value < 2 THEN
        RAISE EXCEPTION 'max_worker_processes = % is too low for pgactive', setting_value
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Set max_worker_processes to at least 2 (default 8) and restart the server.';
    END IF;
    IF pgactive._launcher_pid() IS NULL THEN
        RAISE EXCEPTION 'the pgactive launcher background worker is not running'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Check the server log; max_worker_processes may be exhausted.';
    END IF;
END;
$$;

-- Refuses to go on when this database already belongs to a group. A node stuck in 'b' (its
-- create or join never completed) is not a member yet: the caller may start over.
CREATE FUNCTION pgactive._check_not_member() RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    local_node pgactive.pgactive_nodes := pgactive._local_node();
BEGIN
    IF local_node.node_status = 'r' THEN
        RAISE EXCEPTION 'database "%" is already a member of a pgactive group as node "%"',
                current_database(), local_node.node_name
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Use pgactive.pgactive_remove() to leave the group first.';
    END IF;
    IF local_node.node_status IN ('i', 'c', 'o') THEN
        RAISE EXCEPTION 'database "%" is joining a pgactive group as node "%"',
                current_database(), local_node.node_name
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
END;
$$;

CREATE FUNCTION pgactive._check_node_name(node_name text) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    holder pgactive.pgactive_nodes;
BEGIN
    IF node_name IS NULL OR btrim(node_name) = '' THEN
        RAISE EXCEPTION 'node_name must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT n.* INTO holder
      FROM pgactive.pgactive_nodes n, pgactive.pgactive_get_local_nodeid() l
     WHERE n.node_name = _check_node_name.node_name AND n.node_status <> 'k'
       AND (n.node_sysid, n.node_timeline, n.node_dboid) <> (l.sysid, l.timeline, l.dboid);
    IF FOUND THEN
        RAISE EXCEPTION 'node name "%" is already used by node (sysid %, timeline %, dboid %)',
                node_name, holder.node_sysid, holder.node_timeline, holder.node_dboid
            USING ERRCODE = 'duplicate_object',
                  HINT = 'Choose another node_name.';
    END IF;
END;
$$;

-- Forget an unfinished create/join of this database so it can be started again.
CREATE FUNCTION pgactive._forget_unfinished_local_node() RETURNS void
    LANGUAGE sql SET search_path = pg_catalog AS $$
    DELETE FROM pgactive.pgactive_connections c
     USING pgactive.pgactive_get_local_nodeid() l
     WHERE (c.conn_sysid, c.conn_timeline, c.conn_dboid) = (l.sysid, l.timeline, l.dboid);
    DELETE FROM pgactive.pgactive_nodes n
     USING pgactive.pgactive_get_local_nodeid() l
     WHERE (n.node_sysid, n.node_timeline, n.node_dboid) = (l.sysid, l.timeline, l.dboid)
       AND n.node_status IN ('b', 'k');
$$;

-- What a create or join that failed in the worker must not leave behind: this database is no
-- node again, as before the call, so that a plain retry or DROP EXTENSION works. Only
-- pgactive_local_state keeps the attempt and its error, for pgactive_wait_for_node_ready. (What a
-- join copied stays: see docs/installation.md.)
CREATE FUNCTION pgactive._undo_local_node() RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    IF (SELECT node_status FROM pgactive._local_node()) = 'r' THEN
        RETURN;
    END IF;
    -- The node's own rows, and those a join copied from its upstream: before the call, no other
    -- live member was known here (_check_no_other_members), only detached ones.
    DELETE FROM pgactive.pgactive_connections c
     WHERE NOT EXISTS (SELECT 1 FROM pgactive.pgactive_nodes n
                        WHERE n.node_status = 'k'
                          AND (n.node_sysid, n.node_timeline, n.node_dboid) = (c.conn_sysid, c.conn_timeline, c.conn_dboid));
    DELETE FROM pgactive.pgactive_nodes WHERE node_status <> 'k';
    PERFORM pgactive._drop_publications();
    PERFORM pgactive._drop_tombstone_triggers();
END;
$$;

-- Start a new attempt of a create/join, clearing the previous attempt's progress and error.
CREATE FUNCTION pgactive._begin_attempt(operation text, join_options jsonb DEFAULT NULL) RETURNS void
    LANGUAGE sql SET search_path = pg_catalog AS $$
    INSERT INTO pgactive.pgactive_local_state (attempt, operation, join_options)
    VALUES (1, operation, join_options)
    ON CONFLICT (is_singleton) DO UPDATE
       SET attempt = pgactive_local_state.attempt + 1,
           operation = EXCLUDED.operation,
           join_options = EXCLUDED.join_options,
           progress = NULL,
           last_error = NULL,
           last_error_time = NULL,
           updated_at = clock_timestamp();
    SELECT pgactive._wake_worker();
    SELECT pg_notify('pgactive', 'local_state');
$$;

-- Every node streams to its peers from one publication of all tables; pgactive's local-only
-- tables travel too but are skipped by the receiving worker.
CREATE FUNCTION pgactive._ensure_publication() RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'pgactive') THEN
        -- pgactive's own tables; every other table goes to each receiver by its sets
        -- (_sync_receiver_publications).
        CREATE PUBLICATION pgactive FOR TABLES IN SCHEMA pgactive;
    END IF;
END;
$$;

-- The arguments create and join share, checked before anything connects anywhere.
CREATE FUNCTION pgactive._check_node_arguments(node_dsn text, apply_delay integer, replication_sets text[])
    RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    IF node_dsn IS NULL OR btrim(node_dsn) = '' THEN
        RAISE EXCEPTION 'node_dsn must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF apply_delay < 0 THEN
        RAISE EXCEPTION 'apply_delay must not be negative' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF replication_sets IS NULL OR cardinality(replication_sets) = 0 THEN
        RAISE EXCEPTION 'replication_sets must name at least one set' USING ERRCODE = 'invalid_parameter_value';
    END IF;
END;
$$;

-- Records this database as node_name (status 'b') and its connection settings.
CREATE FUNCTION pgactive._insert_local_node(node_name text, node_dsn text, init_from_dsn text,
                                            apply_delay integer, replication_sets text[]) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    local_id record;
BEGIN
    PERFORM pgactive._forget_unfinished_local_node();
    SELECT * INTO local_id FROM pgactive.pgactive_get_local_nodeid();
    INSERT INTO pgactive.pgactive_nodes
        (node_sysid, node_timeline, node_dboid, node_status, node_name, node_dsn,
         node_init_from_dsn, node_read_only, node_seq_id)
    VALUES (local_id.sysid, local_id.timeline, local_id.dboid, 'b', node_name, node_dsn, init_from_dsn,
            false, CASE WHEN init_from_dsn IS NULL THEN 1 END);
    INSERT INTO pgactive.pgactive_connections
        (conn_sysid, conn_timeline, conn_dboid, conn_dsn, conn_apply_delay, conn_replication_sets)
    VALUES (local_id.sysid, local_id.timeline, local_id.dboid, node_dsn, apply_delay, replication_sets);
    PERFORM pgactive._ensure_publication();
    PERFORM pgactive._add_tombstone_triggers();
END;
$$;

CREATE FUNCTION pgactive._check_no_other_members() RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    IF EXISTS (SELECT 1
                 FROM pgactive.pgactive_nodes n, pgactive.pgactive_get_local_nodeid() l
                WHERE (n.node_sysid, n.node_timeline, n.node_dboid) <> (l.sysid, l.timeline, l.dboid)
                  AND n.node_status <> 'k') THEN
        RAISE EXCEPTION 'database "%" already belongs to a pgactive group', current_database()
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'pgactive.pgactive_nodes lists other nodes; use pgactive.pgactive_remove() first.';
    END IF;
END;
$$;

--------------------------------------------------------------------------------------------------
-- Credentials: node_dsn := 'user_mapping=<role> pgactive_foreign_server=<server>'
--------------------------------------------------------------------------------------------------

-- DSNs are stored in replicated tables, where a password would reach every node in clear. A
-- DSN may instead name a foreign server of this wrapper (where to connect) and a user mapping
-- of a role on it (as whom, with what password); the worker looks both up on its own node each
-- time it connects. The wrapper has no handler: nothing queries through it.
CREATE FUNCTION pgactive.pgactive_fdw_validator(options text[], catalog oid) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    option text;
    allowed text[] := CASE catalog
        WHEN 'pg_catalog.pg_foreign_server'::regclass THEN
            ARRAY['host', 'hostaddr', 'port', 'dbname', 'connect_timeout', 'application_name', 'options',
                  'sslmode', 'sslrootcert', 'keepalives', 'keepalives_idle', 'keepalives_interval',
                  'keepalives_count', 'target_session_attrs', 'gssencmode', 'client_encoding']
        WHEN 'pg_catalog.pg_user_mapping'::regclass THEN
            ARRAY['user', 'password', 'passfile', 'sslcert', 'sslkey', 'sslpassword']
        ELSE ARRAY[]::text[]
    END;
BEGIN
    FOREACH option IN ARRAY coalesce(options, '{}') LOOP
        IF NOT split_part(option, '=', 1) = ANY (allowed) THEN
            RAISE EXCEPTION 'invalid option "%"', split_part(option, '=', 1)
                USING ERRCODE = 'fdw_invalid_option_name',
                      HINT = CASE WHEN cardinality(allowed) = 0
                                  THEN 'pgactive_fdw takes no options here.'
                                  ELSE 'Valid options here are: ' || array_to_string(allowed, ', ') || '.' END;
        END IF;
    END LOOP;
END;
$$;

CREATE FOREIGN DATA WRAPPER pgactive_fdw VALIDATOR pgactive.pgactive_fdw_validator;

-- The keyword=value pairs of a libpq connection string, values unquoted.
CREATE FUNCTION pgactive._conninfo_pairs(dsn text, OUT keyword text, OUT value text) RETURNS SETOF record
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $$
    SELECT m[1], regexp_replace(coalesce(m[3], m[4]), '\\(.)', '\1', 'g')
      FROM regexp_matches(dsn, '([A-Za-z_]+)\s*=\s*(''((?:[^''\\]|\\.)*)''|((?:[^\s''\\]|\\.)+))', 'g') AS m
$$;

-- What this node connects with for a node's DSN: the DSN itself, or, for one naming a user
-- mapping, the foreign server's options, then the mapping's, then the DSN's other keywords
-- (libpq lets a later keyword win). The worker resolves DSNs through this function too, each
-- time it connects, so that the rule is in one place.
CREATE FUNCTION pgactive._connection_string(dsn text) RETURNS text
    LANGUAGE plpgsql STABLE STRICT SET search_path = pg_catalog AS $$
DECLARE
    role_name text;
    server_name text;
    wrapper name;
    server_options text[];
    mapping_options text[];
BEGIN
    IF dsn ~ '^\s*postgres(ql)?://' THEN
        RETURN dsn;
    END IF;
    SELECT max(p.value) FILTER (WHERE p.keyword = 'user_mapping'),
           max(p.value) FILTER (WHERE p.keyword = 'pgactive_foreign_server')
      INTO role_name, server_name
      FROM pgactive._conninfo_pairs(dsn) p;
    IF role_name IS NULL AND server_name IS NULL THEN
        RETURN dsn;
    END IF;
    IF role_name IS NULL OR server_name IS NULL THEN
        RAISE EXCEPTION 'a DSN that names a user mapping needs both user_mapping=<role> and pgactive_foreign_server=<server>'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT s.srvoptions, w.fdwname INTO server_options, wrapper
      FROM pg_foreign_server s JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw
     WHERE s.srvname = server_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'foreign server "%" does not exist in database "%" of this node', server_name, current_database()
            USING ERRCODE = 'undefined_object',
                  HINT = 'Every node needs the foreign servers and user mappings of every node (see docs/security.md).';
    END IF;
    IF wrapper <> 'pgactive_fdw' THEN
        RAISE EXCEPTION 'foreign server "%" uses foreign data wrapper "%", not pgactive_fdw', server_name, wrapper
            USING ERRCODE = 'wrong_object_type';
    END IF;
    SELECT m.umoptions INTO mapping_options
      FROM pg_user_mappings m
     WHERE m.srvname = server_name AND m.usename IN (role_name, 'public')
     ORDER BY m.umuser = 0
     LIMIT 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no user mapping for role "%" on foreign server "%" in database "%" of this node',
                role_name, server_name, current_database()
            USING ERRCODE = 'undefined_object';
    END IF;
    RETURN (SELECT string_agg(o.keyword || '=''' || replace(replace(o.value, '\', '\\'), '''', '\''') || '''', ' '
                              ORDER BY o.source, o.position)
              FROM (SELECT split_part(so.option, '=', 1) AS keyword,
                           substr(so.option, strpos(so.option, '=') + 1) AS value, 1 AS source, so.position
                      FROM unnest(server_options) WITH ORDINALITY AS so(option, position)
                    UNION ALL
                    SELECT split_part(mo.option, '=', 1), substr(mo.option, strpos(mo.option, '=') + 1), 2, mo.position
                      FROM unnest(mapping_options) WITH ORDINALITY AS mo(option, position)
                    UNION ALL
                    SELECT p.keyword, p.value, 3, p.position
                      FROM pgactive._conninfo_pairs(dsn) WITH ORDINALITY AS p(keyword, value, position)
                     WHERE p.keyword NOT IN ('user_mapping', 'pgactive_foreign_server')) o);
END;
$$;

-- The answer of a query on the node a DSN reaches; an error naming the DSN's argument when it
-- cannot be used. Without connect_timeout in the DSN, a host that does not answer is given up
-- after 10 seconds.
CREATE FUNCTION pgactive._query_node(dsn text, argument text, query text, connect_timeout integer DEFAULT 10)
    RETURNS text
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog AS $$
DECLARE
    conninfo text := pgactive._connection_string(dsn);
BEGIN
    IF conninfo !~ '^\s*postgres(ql)?://'
       AND NOT EXISTS (SELECT 1 FROM pgactive._conninfo_pairs(conninfo) WHERE keyword = 'connect_timeout') THEN
        conninfo := conninfo || ' connect_timeout=' || connect_timeout;
    END IF;
    RETURN pgactive._remote_query(conninfo, query);
EXCEPTION
    WHEN syntax_error THEN
        RAISE EXCEPTION '% is not a valid connection string: %', argument, SQLERRM
            USING ERRCODE = 'invalid_parameter_value';
    WHEN sqlclient_unable_to_establish_sqlconnection OR connection_exception THEN
        RAISE EXCEPTION 'could not connect with %: %', argument, SQLERRM
            USING ERRCODE = 'sqlclient_unable_to_establish_sqlconnection';
END;
$$;

-- A query that tells whether the database it runs in is this very one: whether it sees this
-- session there. Identities cannot tell: the create or join that asks may have just made this
-- database's identifier, which other sessions see only once it commits, and a physical copy of
-- a node has the same.
CREATE FUNCTION pgactive._this_session_probe() RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    SELECT format('SELECT EXISTS (SELECT FROM pg_catalog.pg_stat_activity a WHERE a.pid OPERATOR(pg_catalog.=) %s'
                  ' AND EXTRACT(epoch FROM a.backend_start) OPERATOR(pg_catalog.=) %s'
                  ' AND a.datname OPERATOR(pg_catalog.=) pg_catalog.current_database())',
                  a.pid, extract(epoch FROM a.backend_start))
      FROM pg_stat_activity a
     WHERE a.pid = pg_backend_pid()
$$;

-- The node a DSN reaches, named as _this_node() names this one: by its pgactive identity, or by
-- its server's where pgactive is not installed.
CREATE FUNCTION pgactive._node_reached(dsn text, argument text) RETURNS text
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog AS $$
BEGIN
    IF pgactive._query_node(dsn, argument,
            'SELECT pg_catalog.to_regprocedure(''pgactive.pgactive_get_local_nodeid()'') IS NOT NULL')::boolean THEN
        RETURN pgactive._query_node(dsn, argument,
            'SELECT pg_catalog.format(''(sysid %s, timeline %s, dboid %s)'', l.sysid, l.timeline, l.dboid)'
            ' FROM pgactive.pgactive_get_local_nodeid() l');
    END IF;
    RETURN pgactive._query_node(dsn, argument,
        'SELECT pg_catalog.format(''(sysid %s, timeline %s, dboid %s)'', s.system_identifier, c.timeline_id, d.oid)'
        ' FROM pg_catalog.pg_control_system() s, pg_catalog.pg_control_checkpoint() c, pg_catalog.pg_database d'
        ' WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database()');
END;
$$;

CREATE FUNCTION pgactive._this_node() RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    SELECT format('(sysid %s, timeline %s, dboid %s)', l.sysid, l.timeline, l.dboid)
      FROM pgactive.pgactive_get_local_nodeid() l
$$;

-- node_dsn is how every other node will reach this one: it must connect, and lead back here.
CREATE FUNCTION pgactive._check_node_dsn(node_dsn text) RETURNS void
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog AS $$
BEGIN
    IF NOT pgactive._query_node(node_dsn, 'node_dsn', pgactive._this_session_probe())::boolean THEN
        RAISE EXCEPTION 'node_dsn reaches database %, not this database %',
                pgactive._node_reached(node_dsn, 'node_dsn'), pgactive._this_node()
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'node_dsn is how the other nodes reach this database: give its own host, port and dbname.';
    END IF;
END;
$$;

-- What in this database pgactive cannot replicate (errors) or replicates with caveats (warnings),
-- as jsonb: asked of this database at create and join, and of the upstream at join.
CREATE FUNCTION pgactive._schema_report() RETURNS jsonb
    LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    SELECT jsonb_build_object(
        'exclusion_constraints', (SELECT string_agg(DISTINCT c.conrelid::regclass::text, ', ')
                                    FROM pg_constraint c
                                   WHERE c.contype = 'x' AND c.conrelid IN (SELECT pgactive._user_tables())),
        'without_key', (SELECT string_agg(t::text, ', ' ORDER BY t::text)
                          FROM pgactive._user_tables() t JOIN pg_class c ON c.oid = t
                         WHERE c.relreplident <> 'f' AND pgactive._identity_columns(t) IS NULL),
        'sequence_keys', (SELECT string_agg(DISTINCT format('%s.%I', t, a.attname), ', ')
                            FROM pgactive._user_tables() t
                            JOIN pg_attribute a ON a.attrelid = t AND a.attname = ANY (pgactive._identity_columns(t))
                            LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                           WHERE (a.attidentity <> '' OR pg_get_serial_sequence(t::text, a.attname) IS NOT NULL)
                             AND coalesce(pg_get_expr(d.adbin, d.adrelid), '')
                                 NOT LIKE 'pgactive.pgactive_snowflake_id_nextval(%'),
        'subscriptions', (SELECT string_agg(DISTINCT s.subname, ', ')
                            FROM pg_subscription s JOIN pg_subscription_rel r ON r.srsubid = s.oid
                            JOIN pg_class c ON c.oid = r.srrelid
                           WHERE c.relnamespace = 'pgactive'::regnamespace),
        'publications', (SELECT string_agg(DISTINCT p.pubname, ', ')
                           FROM pg_publication_tables p
                          WHERE p.schemaname = 'pgactive' AND p.pubname <> 'pgactive'))
$$;

-- Refuses what _schema_report finds pgactive cannot replicate, and warns of the caveats.
CREATE FUNCTION pgactive._check_schema(report jsonb, whose text) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    IF report->>'exclusion_constraints' IS NOT NULL THEN
        RAISE EXCEPTION 'tables of % have exclusion constraints, which pgactive cannot enforce across nodes: %',
                whose, report->>'exclusion_constraints'
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Drop the exclusion constraints (a unique index is enforced per node, an exclusion constraint is not).';
    END IF;
    IF report->>'subscriptions' IS NOT NULL THEN
        RAISE EXCEPTION '% is a native logical replication subscriber of pgactive''s tables (subscriptions %)',
                whose, report->>'subscriptions'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Drop those subscriptions: pgactive replicates its catalog itself.';
    END IF;
    IF report->>'publications' IS NOT NULL THEN
        RAISE EXCEPTION '% publishes pgactive''s tables through native logical replication (publications %)',
                whose, report->>'publications'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Drop those publications, or limit them to your own tables.';
    END IF;
    IF report->>'without_key' IS NOT NULL THEN
        RAISE WARNING 'tables of % have no primary key or replica identity index: %', whose, report->>'without_key'
            USING HINT = 'Their inserts replicate, but their updates and deletes fail to apply on the other nodes.';
    END IF;
    IF report->>'sequence_keys' IS NOT NULL THEN
        RAISE WARNING 'keys of % come from local sequences: %', whose, report->>'sequence_keys'
            USING DETAIL = 'Nodes inserting at once take the same values, and of each pair of rows only one survives.',
                  HINT = 'Switch each to node-unique ids on every node: SELECT pgactive.pgactive_snowflake_id_convert_column(''<table>'', ''<column>'');';
    END IF;
END;
$$;

-- Whether a DSN reaches the database where probe (_this_session_probe) was made: what the
-- upstream answers about the joiner's node_dsn, which is how it and the other nodes will reach
-- the joiner. NULL if it does, else the node it reaches or why it cannot be used.
CREATE FUNCTION pgactive._reaches_or_error(dsn text, probe text) RETURNS text
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog AS $$
BEGIN
    IF pgactive._query_node(dsn, 'node_dsn', probe)::boolean THEN
        RETURN NULL;
    END IF;
    RETURN 'it reaches database ' || pgactive._node_reached(dsn, 'node_dsn');
EXCEPTION WHEN OTHERS THEN
    RETURN SQLERRM;
END;
$$;

-- join_using_dsn must reach another database, a ready node of a group that has room for one
-- more node and where node_name is free, whose settings that must agree do, whose tables pgactive
-- can replicate, and which reaches this database with node_dsn.
CREATE FUNCTION pgactive._check_upstream(join_using_dsn text, node_name text, node_dsn text) RETURNS void
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog AS $$
DECLARE
    answer jsonb;
BEGIN
    IF pgactive._query_node(join_using_dsn, 'join_using_dsn', pgactive._this_session_probe())::boolean THEN
        RAISE EXCEPTION 'join_using_dsn leads to this very database; it must reach a node of the group to join'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF pgactive._query_node(join_using_dsn, 'join_using_dsn',
            'SELECT extversion FROM pg_catalog.pg_extension WHERE extname OPERATOR(pg_catalog.=) ''pgactive''') IS NULL THEN
        RAISE EXCEPTION 'the database join_using_dsn reaches is not in a pgactive group: pgactive is not installed there'
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    answer := pgactive._query_node(join_using_dsn, 'join_using_dsn', format($q$
        SELECT pg_catalog.jsonb_build_object(
                 'name', n.node_name, 'status', n.node_status,
                 'name_taken', EXISTS (SELECT 1 FROM pgactive.pgactive_nodes o
                                        WHERE o.node_name OPERATOR(pg_catalog.=) %1$L
                                          AND o.node_status OPERATOR(pg_catalog.<>) 'k'
                                          AND pg_catalog.format('(sysid %%s, timeline %%s, dboid %%s)', o.node_sysid,
                                                                o.node_timeline, o.node_dboid) OPERATOR(pg_catalog.<>) %2$L),
                 'members', (SELECT pg_catalog.count(*) FROM pgactive.pgactive_nodes o
                              WHERE o.node_status OPERATOR(pg_catalog.<>) 'k'
                                AND pg_catalog.format('(sysid %%s, timeline %%s, dboid %%s)', o.node_sysid,
                                                      o.node_timeline, o.node_dboid) OPERATOR(pg_catalog.<>) %2$L),
                 'max_nodes', pg_catalog.current_setting('pgactive.max_nodes'),
                 'skip_ddl_replication', pg_catalog.current_setting('pgactive.skip_ddl_replication'),
                 'schema', pgactive._schema_report(),
                 'joiner_unreached', pgactive._reaches_or_error(%3$L, %4$L))::text
          FROM pgactive.pgactive_get_local_nodeid() l
          LEFT JOIN pgactive.pgactive_nodes n
            ON (n.node_sysid, n.node_timeline, n.node_dboid) OPERATOR(pg_catalog.=) (l.sysid, l.timeline, l.dboid)
        $q$, node_name, pgactive._this_node(), node_dsn, pgactive._this_session_probe()))::jsonb;
    IF answer->>'status' IS DISTINCT FROM 'r' THEN
        RAISE EXCEPTION 'the database join_using_dsn reaches is not a ready pgactive node (%)',
                CASE WHEN answer->>'name' IS NULL THEN 'it is in no group'
                     ELSE format('node "%s" is %s', answer->>'name',
                                 pgactive.pgactive_node_status_from_char((answer->>'status')::"char")) END
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Join through a ready node of the group.';
    END IF;
    IF (answer->>'name_taken')::boolean THEN
        RAISE EXCEPTION 'node name "%" is already used in the group of node "%"', node_name, answer->>'name'
            USING ERRCODE = 'duplicate_object', HINT = 'Choose another node_name.';
    END IF;
    IF (answer->>'members')::integer >= (answer->>'max_nodes')::integer THEN
        RAISE EXCEPTION 'the group of node "%" already has pgactive.max_nodes = % nodes', answer->>'name',
                answer->>'max_nodes'
            USING ERRCODE = 'program_limit_exceeded';
    END IF;
    IF answer->>'max_nodes' <> current_setting('pgactive.max_nodes') THEN
        RAISE EXCEPTION 'pgactive.max_nodes is % here but % on node "%"; it must be the same on every node',
                current_setting('pgactive.max_nodes'), answer->>'max_nodes', answer->>'name'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF answer->>'skip_ddl_replication' <> current_setting('pgactive.skip_ddl_replication') THEN
        RAISE EXCEPTION 'pgactive.skip_ddl_replication is % here but % on node "%"; it must be the same on every node',
                current_setting('pgactive.skip_ddl_replication'), answer->>'skip_ddl_replication', answer->>'name'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM pgactive._check_schema(answer->'schema', format('the upstream node "%s"', answer->>'name'));
    IF answer->>'joiner_unreached' IS NOT NULL THEN
        RAISE EXCEPTION 'node "%" cannot reach this database with node_dsn: %', answer->>'name',
                answer->>'joiner_unreached'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'node_dsn is how the other nodes reach this database: it must work from them (a user mapping it names must exist on every node).';
    END IF;
END;
$$;

--------------------------------------------------------------------------------------------------
-- Creating a group
--------------------------------------------------------------------------------------------------

CREATE FUNCTION pgactive.pgactive_create_group(
    node_name text,
    node_dsn text,
    apply_delay integer DEFAULT NULL,
    replication_sets text[] DEFAULT ARRAY['default']
) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    PERFORM pgactive._check_not_null(node_name, 'node_name', 'pgactive_create_group');
    PERFORM pgactive._check_not_null(node_dsn, 'node_dsn', 'pgactive_create_group');
    PERFORM pgactive._check_not_null(replication_sets, 'replication_sets', 'pgactive_create_group');
    -- Serialises concurrent create/join calls in this database.
    LOCK TABLE pgactive.pgactive_nodes, pgactive.pgactive_connections IN EXCLUSIVE MODE;

    PERFORM pgactive._check_server_settings();
    PERFORM pgactive._check_not_member();
    PERFORM pgactive._check_no_other_members();
    PERFORM pgactive._generate_node_identifier();
    PERFORM pgactive._check_node_name(node_name);
    PERFORM pgactive._check_node_arguments(node_dsn, apply_delay, replication_sets);
    PERFORM pgactive._check_schema(pgactive._schema_report(), 'this database');
    PERFORM pgactive._check_node_dsn(node_dsn);
    PERFORM pgactive._insert_local_node(node_name, node_dsn, NULL, apply_delay, replication_sets);
    PERFORM pgactive._begin_attempt('create');
END;
$$;

--------------------------------------------------------------------------------------------------
-- Joining a group
--------------------------------------------------------------------------------------------------

-- Checks what can be checked here; the worker checks the upstream (reachable, in a group, name
-- free, room for another node, same encoding and collation) and reports through
-- pgactive_wait_for_node_ready.
CREATE FUNCTION pgactive.pgactive_join_group(
    node_name text,
    node_dsn text,
    join_using_dsn text,
    apply_delay integer DEFAULT NULL,
    replication_sets text[] DEFAULT ARRAY['default'],
    bypass_collation_check boolean DEFAULT false,
    bypass_node_identifier_creation boolean DEFAULT false,
    bypass_user_tables_check boolean DEFAULT false,
    data_only_node_init boolean DEFAULT false
) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    user_table text;
BEGIN
    PERFORM pgactive._check_not_null(node_name, 'node_name', 'pgactive_join_group');
    PERFORM pgactive._check_not_null(node_dsn, 'node_dsn', 'pgactive_join_group');
    PERFORM pgactive._check_not_null(join_using_dsn, 'join_using_dsn', 'pgactive_join_group');
    PERFORM pgactive._check_not_null(replication_sets, 'replication_sets', 'pgactive_join_group');
    PERFORM pgactive._check_not_null(bypass_collation_check, 'bypass_collation_check', 'pgactive_join_group');
    PERFORM pgactive._check_not_null(bypass_node_identifier_creation, 'bypass_node_identifier_creation',
                                     'pgactive_join_group');
    PERFORM pgactive._check_not_null(bypass_user_tables_check, 'bypass_user_tables_check', 'pgactive_join_group');
    PERFORM pgactive._check_not_null(data_only_node_init, 'data_only_node_init', 'pgactive_join_group');
    LOCK TABLE pgactive.pgactive_nodes, pgactive.pgactive_connections IN EXCLUSIVE MODE;

    PERFORM pgactive._check_server_settings();
    PERFORM pgactive._check_not_member();
    PERFORM pgactive._check_no_other_members();
    IF bypass_node_identifier_creation THEN
        RAISE WARNING 'skipping creation of pgactive node identifier for this node'
            USING HINT = CASE WHEN pgactive.pgactive_get_node_identifier() IS NULL
                              THEN 'The node''s identity is then its server''s system identifier and timeline, which a promoted standby does not keep.'
                              ELSE 'The node keeps the identifier it has.' END;
    ELSE
        PERFORM pgactive._generate_node_identifier();
    END IF;
    PERFORM pgactive._check_node_name(node_name);
    PERFORM pgactive._check_node_arguments(node_dsn, apply_delay, replication_sets);
    IF btrim(join_using_dsn) = '' THEN
        RAISE EXCEPTION 'join_using_dsn must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF data_only_node_init THEN
        -- The schema is this database's own, built beforehand; only the rows come from the
        -- upstream, and they must not meet rows of this database's own.
        SELECT t::text INTO user_table FROM pgactive._user_tables() t WHERE pgactive._has_rows(t) LIMIT 1;
        IF user_table IS NOT NULL THEN
            RAISE EXCEPTION 'data_only_node_init needs empty tables, but % has rows', user_table
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'The join copies every row from the upstream node: empty the tables first.';
        END IF;
    ELSIF NOT bypass_user_tables_check THEN
        SELECT t::text INTO user_table FROM pgactive._user_tables() t LIMIT 1;
        IF user_table IS NOT NULL THEN
            RAISE EXCEPTION 'database joining pgactive group has existing user tables (for example %)', user_table
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'Join into an empty database: the join copies schema and data from the upstream node. '
                             'bypass_user_tables_check := true lets the copy replace objects of the same name.';
        END IF;
    END IF;

    PERFORM pgactive._check_schema(pgactive._schema_report(), 'this database');
    PERFORM pgactive._check_node_dsn(node_dsn);
    PERFORM pgactive._check_upstream(join_using_dsn, node_name, node_dsn);
    PERFORM pgactive._insert_local_node(node_name, node_dsn, join_using_dsn, apply_delay, replication_sets);
    PERFORM pgactive._begin_attempt('join', jsonb_build_object(
        'bypass_collation_check', bypass_collation_check,
        'bypass_node_identifier_creation', bypass_node_identifier_creation,
        'bypass_user_tables_check', bypass_user_tables_check,
        'data_only_node_init', data_only_node_init));
END;
$$;

CREATE FUNCTION pgactive._has_rows(rel regclass) RETURNS boolean
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
DECLARE
    found boolean;
BEGIN
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM ONLY %s)', rel) INTO found;
    RETURN found;
END;
$$;

--------------------------------------------------------------------------------------------------
-- Tombstones of local deletes
--------------------------------------------------------------------------------------------------

-- The tables pgactive replicates and copies: ordinary, permanent, outside the system schemas and
-- pgactive's own.
CREATE FUNCTION pgactive._user_tables() RETURNS SETOF regclass
    LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    SELECT c.oid::regclass
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p') AND c.relpersistence = 'p'
       AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgactive') AND n.nspname NOT LIKE 'pg\_toast%'
     ORDER BY c.oid
$$;

-- The replica identity key of a table: primary key (default) or the chosen index; none for FULL.
CREATE FUNCTION pgactive._identity_columns(rel oid) RETURNS text[]
    LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    SELECT array_agg(a.attname::text ORDER BY a.attnum)
      FROM pg_index i
      JOIN pg_class c ON c.oid = i.indrelid
      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
     WHERE i.indrelid = rel
       AND ((c.relreplident = 'd' AND i.indisprimary) OR (c.relreplident = 'i' AND i.indisreplident))
$$;

-- A tombstone of a local delete (key: the deleted key; '{}' for a TRUNCATE, the whole table),
-- timed by the deleting transaction's commit; for the two triggers below.
CREATE FUNCTION pgactive._record_local_tombstone(schema_name name, table_name name, key jsonb) RETURNS void
    LANGUAGE sql SET search_path = pg_catalog AS $$
    INSERT INTO pgactive.pgactive_tombstones (relname, key, deleted_at, deleting_xid, origin_sysid)
    VALUES (format('%I.%I', schema_name, table_name), key, NULL, pg_current_xact_id(),
            (SELECT sysid FROM pgactive.pgactive_get_local_nodeid()))
    ON CONFLICT (relname, key) DO UPDATE
       SET deleted_at = NULL, deleting_xid = EXCLUDED.deleting_xid, origin_sysid = EXCLUDED.origin_sysid
$$;

-- The trigger and event trigger below run in application sessions, as whatever role writes or
-- creates a table. They are SECURITY DEFINER with a pinned search_path so that a role without
-- any pgactive privilege loses nothing (it need not read pgactive's catalog), and so that no
-- object that role creates can be picked up by them in its place.
--
-- Runs for local deletes only: apply sessions (session_replication_role = replica) record
-- their tombstones themselves, with the remote commit time. Fixed settings make the key's JSON
-- the same as the worker computes.
CREATE FUNCTION pgactive._record_local_delete() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pgactive, pg_temp
    SET TimeZone = 'UTC' SET DateStyle = 'ISO'
                     SET IntervalStyle = 'postgres' SET extra_float_digits = 3 AS $$
DECLARE
    key_columns text[] := pgactive._identity_columns(TG_RELID);
BEGIN
    IF key_columns IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM pgactive._record_local_tombstone(TG_TABLE_SCHEMA, TG_TABLE_NAME,
                                             (SELECT jsonb_object_agg(k, to_jsonb(OLD) -> k) FROM unnest(key_columns) k));
    RETURN NULL;
END;
$$;

-- A local TRUNCATE leaves a tombstone for the whole table (key '{}'): as a TRUNCATE is a delete of
-- every row, a change older than it that arrives later must not bring a row back
-- (docs/conflicts.md, "TRUNCATE").
CREATE FUNCTION pgactive._record_local_truncate() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pgactive, pg_temp AS $$
BEGIN
    PERFORM pgactive._record_local_tombstone(TG_TABLE_SCHEMA, TG_TABLE_NAME, '{}');
    RETURN NULL;
END;
$$;

-- Local UPDATEs carry every value in full, out-of-line ones too (launcher/pgactive_toast.c):
-- else a value left unchanged reaches the other nodes as "unchanged", and a node that no longer
-- has the row, or has another value, cannot apply it as the origin did.
CREATE FUNCTION pgactive._full_values() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'pgactive_full_values';

-- A local UPDATE or DELETE of a row another node wrote names the version it replaced, for the
-- receivers' conflict detection (launcher/pgactive_causality.c, docs/conflicts.md).
CREATE FUNCTION pgactive._prior_version() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'pgactive_prior_version';

-- The triggers pgactive puts on every replicated table: tombstones of local deletes, and full
-- values in local updates.
CREATE FUNCTION pgactive._add_tombstone_trigger(rel regclass) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    EXECUTE format('CREATE OR REPLACE TRIGGER pgactive_tombstone AFTER DELETE ON %s'
                   ' FOR EACH ROW EXECUTE FUNCTION pgactive._record_local_delete()', rel);
    EXECUTE format('CREATE OR REPLACE TRIGGER pgactive_full_values BEFORE UPDATE ON %s'
                   ' FOR EACH ROW EXECUTE FUNCTION pgactive._full_values()', rel);
    EXECUTE format('CREATE OR REPLACE TRIGGER pgactive_truncate_tombstone AFTER TRUNCATE ON %s'
                   ' FOR EACH STATEMENT EXECUTE FUNCTION pgactive._record_local_truncate()', rel);
    EXECUTE format('CREATE OR REPLACE TRIGGER pgactive_prior_version BEFORE UPDATE OR DELETE ON %s'
                   ' FOR EACH ROW EXECUTE FUNCTION pgactive._prior_version()', rel);
    IF EXISTS (SELECT 1 FROM pgactive.pgactive_column_level_tables WHERE relname = rel::text) THEN
        PERFORM pgactive._column_level_triggers(rel);
    END IF;
    IF EXISTS (SELECT 1 FROM pgactive.pgactive_conflict_handlers WHERE ch_relname = rel::text) THEN
        PERFORM pgactive._row_version_trigger(rel);
    END IF;
END;
$$;

-- Every ordinary table outside pgactive gets the trigger: those that exist when the node is
-- created or joined, and every one created later.
CREATE FUNCTION pgactive._add_tombstone_triggers() RETURNS void
    LANGUAGE sql SET search_path = pg_catalog AS $$
    SELECT pgactive._add_tombstone_trigger(t) FROM pgactive._user_tables() t;
$$;

CREATE FUNCTION pgactive._drop_tombstone_triggers() RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT tgrelid::regclass AS rel, tgname FROM pg_trigger
              WHERE tgname IN ('pgactive_tombstone', 'pgactive_full_values', 'pgactive_truncate_tombstone',
                               'pgactive_prior_version', 'pgactive_column_changes', 'pgactive_column_versions',
                               'pgactive_row_versions', 'pgactive_row_inserted') LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', t.tgname, t.rel);
    END LOOP;
END;
$$;

CREATE FUNCTION pgactive._tombstone_trigger_on_create() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pgactive, pg_temp AS $$
DECLARE
    created record;
BEGIN
    IF NOT pgactive.pgactive_is_active_in_db() THEN
        RETURN;
    END IF;
    FOR created IN SELECT objid FROM pg_event_trigger_ddl_commands()
                    WHERE object_type = 'table' AND objid IN (SELECT pgactive._user_tables())
    LOOP
        PERFORM pgactive._add_tombstone_trigger(created.objid);
    END LOOP;
END;
$$;

CREATE EVENT TRIGGER pgactive_tombstone_trigger_add ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO')
    EXECUTE FUNCTION pgactive._tombstone_trigger_on_create();
-- ALWAYS: DDL that apply runs (pgactive_replicate_ddl_command) makes tables as well.
ALTER EVENT TRIGGER pgactive_tombstone_trigger_add ENABLE ALWAYS;

-- Local DDL: the apply sessions and the node manager listen on channel pgactive_ddl, so that
-- what apply knows of local tables is read again at once, and links stalled on a missing table or
-- column try again. Drops are recorded (see pgactive_dropped_objects); names made again are
-- taken out of that record.
CREATE FUNCTION pgactive._local_ddl_done() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pgactive, pg_temp AS $$
BEGIN
    DELETE FROM pgactive.pgactive_dropped_objects d
     USING pg_event_trigger_ddl_commands() c
      JOIN pg_class r ON r.oid = c.objid AND c.classid = 'pg_class'::regclass
      JOIN pg_namespace n ON n.oid = r.relnamespace
     WHERE d.schema_name = n.nspname AND d.table_name = r.relname
       AND (d.column_name = '' OR d.column_name IN (SELECT attname FROM pg_attribute
                                                     WHERE attrelid = r.oid AND attnum > 0 AND NOT attisdropped));
    -- Not for temporary objects (apply sessions make their procedures so): waking links that
    -- wait, each of which makes its procedures again, would wake them again.
    IF EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands()
                WHERE schema_name IS NULL OR schema_name NOT LIKE 'pg\_temp%') THEN
        PERFORM pg_notify('pgactive_ddl', '');
    END IF;
END;
$$;

CREATE FUNCTION pgactive._local_drop_done() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pgactive, pg_temp AS $$
BEGIN
    INSERT INTO pgactive.pgactive_dropped_objects (schema_name, table_name, column_name)
    SELECT o.address_names[1], o.address_names[2], coalesce(o.address_names[3], '')
      FROM pg_event_trigger_dropped_objects() o
     WHERE o.object_type IN ('table', 'table column') AND NOT o.is_temporary
       AND o.address_names[1] NOT IN ('pgactive', 'pg_toast')
    ON CONFLICT (schema_name, table_name, column_name) DO UPDATE SET dropped_at = excluded.dropped_at;
    PERFORM pg_notify('pgactive_ddl', '');
END;
$$;

CREATE FUNCTION pgactive._local_rewrite() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pgactive, pg_temp AS $$
BEGIN
    INSERT INTO pgactive.pgactive_rewritten_tables (relid, xid)
    VALUES (pg_event_trigger_table_rewrite_oid(), pg_current_xact_id()::xid)
    ON CONFLICT (relid) DO UPDATE SET xid = excluded.xid, rewritten_at = excluded.rewritten_at;
END;
$$;

CREATE EVENT TRIGGER pgactive_local_rewrite ON table_rewrite EXECUTE FUNCTION pgactive._local_rewrite();
ALTER EVENT TRIGGER pgactive_local_rewrite ENABLE ALWAYS;
CREATE EVENT TRIGGER pgactive_local_ddl ON ddl_command_end EXECUTE FUNCTION pgactive._local_ddl_done();
ALTER EVENT TRIGGER pgactive_local_ddl ENABLE ALWAYS;
CREATE EVENT TRIGGER pgactive_local_drop ON sql_drop EXECUTE FUNCTION pgactive._local_drop_done();
ALTER EVENT TRIGGER pgactive_local_drop ENABLE ALWAYS;

--------------------------------------------------------------------------------------------------
-- User-defined conflict handlers
--------------------------------------------------------------------------------------------------

-- A handler is a function (local_row <table>, remote_row <table>, command_tag text, table_oid
-- regclass, conflict_type pgactive_conflict_type, OUT row <table>, OUT handler_action
-- pgactive_conflict_handler_action). The worker calls it when a conflict of ch_type happens on
-- ch_rel (and, with ch_timeframe, only when the two commits are that close).
CREATE FUNCTION pgactive.pgactive_create_conflict_handler(
    ch_rel regclass,
    ch_name name,
    ch_proc regprocedure,
    ch_type pgactive.pgactive_conflict_type,
    ch_timeframe interval DEFAULT NULL
) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    rowtype oid := (SELECT reltype FROM pg_class WHERE oid = ch_rel);
    fn pg_proc := (SELECT p FROM pg_proc p WHERE p.oid = ch_proc);
BEGIN
    PERFORM pgactive._check_not_null(ch_rel, 'ch_rel', 'pgactive_create_conflict_handler');
    PERFORM pgactive._check_not_null(ch_name, 'ch_name', 'pgactive_create_conflict_handler');
    PERFORM pgactive._check_not_null(ch_proc, 'ch_proc', 'pgactive_create_conflict_handler');
    PERFORM pgactive._check_not_null(ch_type, 'ch_type', 'pgactive_create_conflict_handler');
    IF ch_type NOT IN ('insert_insert', 'update_update', 'update_delete') THEN
        RAISE EXCEPTION 'conflict handlers can handle insert_insert, update_update and update_delete, not %', ch_type
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF fn.proallargtypes IS NULL
       OR fn.proallargtypes::oid[] <> ARRAY[rowtype, rowtype, 'text'::regtype, 'regclass'::regtype,
                                           'pgactive.pgactive_conflict_type'::regtype, rowtype,
                                           'pgactive.pgactive_conflict_handler_action'::regtype]::oid[]
       OR fn.proargmodes::text[] <> ARRAY['i', 'i', 'i', 'i', 'i', 'o', 'o'] THEN
        RAISE EXCEPTION 'function % does not have the signature of a conflict handler for table %', ch_proc, ch_rel
            USING ERRCODE = 'invalid_function_definition',
                  HINT = format('It must be (local_row %1$s, remote_row %1$s, command_tag text, table_oid regclass,'
                                ' conflict_type pgactive.pgactive_conflict_type, OUT row %1$s,'
                                ' OUT handler_action pgactive.pgactive_conflict_handler_action).', ch_rel);
    END IF;
    -- The worker calls the handler as the table's owner; a function someone else owns would let
    -- its owner run code with the table owner's rights (or, with SECURITY DEFINER, the other way).
    IF NOT (SELECT r.rolsuper FROM pg_roles r WHERE r.oid = fn.proowner)
       AND fn.proowner <> (SELECT relowner FROM pg_class WHERE oid = ch_rel) THEN
        RAISE EXCEPTION 'conflict handler function % is owned by role "%", neither a superuser nor the owner of table %',
                ch_proc, pg_get_userbyid(fn.proowner), ch_rel
            USING ERRCODE = 'insufficient_privilege',
                  HINT = format('ALTER FUNCTION %s OWNER TO the table''s owner (%I) or to a superuser.',
                                ch_proc, pg_get_userbyid((SELECT relowner FROM pg_class WHERE oid = ch_rel)));
    END IF;
    INSERT INTO pgactive.pgactive_conflict_handlers (ch_name, ch_type, ch_reloid, ch_fun, ch_timeframe, ch_relname)
    VALUES (ch_name, ch_type, ch_rel, ch_proc::text, ch_timeframe,
            format('%I.%I', (SELECT nspname FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid WHERE c.oid = ch_rel),
                            (SELECT relname FROM pg_class WHERE oid = ch_rel)));
END;
$$;

CREATE FUNCTION pgactive.pgactive_drop_conflict_handler(ch_rel regclass, ch_name name) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    PERFORM pgactive._check_not_null(ch_rel, 'ch_rel', 'pgactive_drop_conflict_handler');
    PERFORM pgactive._check_not_null(ch_name, 'ch_name', 'pgactive_drop_conflict_handler');
    DELETE FROM pgactive.pgactive_conflict_handlers h
     WHERE h.ch_relname = ch_rel::text -- search_path = pg_catalog: schema.table, quoted as %I quotes
       AND h.ch_name = pgactive_drop_conflict_handler.ch_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no conflict handler named "%" on table %', ch_name, ch_rel
            USING ERRCODE = 'undefined_object';
    END IF;
END;
$$;

--------------------------------------------------------------------------------------------------
-- Column-level conflict resolution and conflict-free counters (docs/conflicts.md)
--------------------------------------------------------------------------------------------------

-- Tables whose concurrent updates are merged column by column, and their counter columns
-- (delta apply). Replicated, by the table's name as the handlers are; each node puts the
-- triggers on its own table (below).
CREATE TABLE pgactive.pgactive_column_level_tables (
    relname text PRIMARY KEY,
    counter_columns name[] NOT NULL DEFAULT '{}'
);

-- When each column of a row of such a table was last written here: column name -> the writing
-- transaction (xid8 as text), whose commit time and origin PostgreSQL keeps; for local writes
-- and applied ones alike. Not replicated.
CREATE TABLE pgactive.pgactive_column_versions (
    relname text NOT NULL,
    key jsonb NOT NULL,
    versions jsonb NOT NULL,
    PRIMARY KEY (relname, key)
);

-- A local UPDATE of such a table tells the receivers which columns it changed and, for counter
-- columns, what they held before (launcher/pgactive_columns.c).
CREATE FUNCTION pgactive._column_changes() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'pgactive_column_changes';

-- ... and records that this transaction wrote the other columns it changed (a deleted row's
-- versions go). The arguments are the table's counter columns. Fixed settings make the key's
-- JSON the same as the worker's (RowKeys).
CREATE FUNCTION pgactive._record_column_versions() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pgactive, pg_temp
    SET TimeZone = 'UTC' SET DateStyle = 'ISO'
                     SET IntervalStyle = 'postgres' SET extra_float_digits = 3 AS $$
DECLARE
    old_row jsonb := to_jsonb(OLD);
    new_row jsonb := CASE WHEN TG_OP = 'UPDATE' THEN to_jsonb(NEW) ELSE old_row END;
    row_key jsonb;
BEGIN
    -- The key as _identity_columns finds it, in a query of the trigger's own: PL/pgSQL keeps its
    -- plan, where each call of that SQL function would plan it anew (most of an update's cost).
    SELECT jsonb_object_agg(a.attname, new_row -> a.attname::text) INTO row_key
      FROM pg_index i
      JOIN pg_class c ON c.oid = i.indrelid
      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
     WHERE i.indrelid = TG_RELID
       AND ((c.relreplident = 'd' AND i.indisprimary) OR (c.relreplident = 'i' AND i.indisreplident));
    IF TG_OP = 'DELETE' THEN
        DELETE FROM pgactive.pgactive_column_versions
         WHERE relname = format('%I.%I', TG_TABLE_SCHEMA, TG_TABLE_NAME) AND key = row_key;
        RETURN NULL;
    END IF;
    INSERT INTO pgactive.pgactive_column_versions AS v (relname, key, versions)
    SELECT format('%I.%I', TG_TABLE_SCHEMA, TG_TABLE_NAME), row_key, jsonb_object_agg(c, pg_current_xact_id()::text)
      FROM jsonb_object_keys(new_row) c
     WHERE new_row -> c IS DISTINCT FROM old_row -> c AND c <> ALL (TG_ARGV)
    HAVING count(*) > 0
    ON CONFLICT (relname, key) DO UPDATE SET versions = v.versions || EXCLUDED.versions;
    RETURN NULL;
END;
$$;

-- Puts the two triggers on rel as pgactive_column_level_tables says (or takes them off).
CREATE FUNCTION pgactive._column_level_triggers(rel regclass) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    counters name[] := (SELECT counter_columns FROM pgactive.pgactive_column_level_tables
                         WHERE relname = rel::text); -- search_path = pg_catalog: schema.table, quoted
    args text := (SELECT string_agg(quote_literal(c), ', ') FROM unnest(counters) c);
BEGIN
    IF counters IS NULL THEN
        EXECUTE format('DROP TRIGGER IF EXISTS pgactive_column_changes ON %s', rel);
        EXECUTE format('DROP TRIGGER IF EXISTS pgactive_column_versions ON %s', rel);
        RETURN;
    END IF;
    EXECUTE format('CREATE OR REPLACE TRIGGER pgactive_column_changes BEFORE UPDATE ON %s'
                   ' FOR EACH ROW EXECUTE FUNCTION pgactive._column_changes(%s)', rel, args);
    EXECUTE format('CREATE OR REPLACE TRIGGER pgactive_column_versions AFTER UPDATE OR DELETE ON %s'
                   ' FOR EACH ROW EXECUTE FUNCTION pgactive._record_column_versions(%s)', rel, args);
END;
$$;

-- Each node follows the replicated setting on its own table, if it has it yet (a table created
-- later gets them with pgactive's other triggers). Column versions recorded before are forgotten
-- when the setting goes: columns written while it was off would otherwise look older than they are.
CREATE FUNCTION pgactive._column_level_table_changed() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pgactive, pg_temp AS $$
DECLARE
    rel regclass := to_regclass(CASE WHEN TG_OP = 'DELETE' THEN OLD.relname ELSE NEW.relname END);
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM pgactive.pgactive_column_versions WHERE relname = OLD.relname;
    END IF;
    IF rel IS NOT NULL THEN
        PERFORM pgactive._column_level_triggers(rel);
    END IF;
    RETURN NULL;
END;
$$;
-- ALWAYS: also when the row arrives by replication (session_replication_role = replica).
CREATE TRIGGER pgactive_column_level_tables_changed
    AFTER INSERT OR UPDATE OR DELETE ON pgactive.pgactive_column_level_tables
    FOR EACH ROW EXECUTE FUNCTION pgactive._column_level_table_changed();
ALTER TABLE pgactive.pgactive_column_level_tables
    ENABLE ALWAYS TRIGGER pgactive_column_level_tables_changed;

CREATE FUNCTION pgactive.pgactive_set_column_level(rel regclass, counter_columns name[] DEFAULT '{}')
RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    key_columns text[] := pgactive._identity_columns(rel);
    bad record;
BEGIN
    PERFORM pgactive._check_not_null(rel, 'rel', 'pgactive_set_column_level');
    PERFORM pgactive._check_not_null(counter_columns, 'counter_columns', 'pgactive_set_column_level');
    IF rel NOT IN (SELECT pgactive._user_tables()) THEN
        RAISE EXCEPTION 'table % is not a replicated table', rel USING ERRCODE = 'wrong_object_type';
    END IF;
    IF key_columns IS NULL THEN
        RAISE EXCEPTION 'table % has no primary key or replica identity index', rel
            USING ERRCODE = 'invalid_table_definition',
                  HINT = 'Column-level resolution finds rows by their key.';
    END IF;
    FOR bad IN SELECT c, a.attname IS NULL AS missing, a.atttypid AS typ
                 FROM unnest(counter_columns) c
                 LEFT JOIN pg_attribute a ON a.attrelid = rel AND a.attname = c AND a.attnum > 0 AND NOT a.attisdropped
                WHERE a.attname IS NULL OR c = ANY (key_columns)
                   OR a.atttypid NOT IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype, 'numeric'::regtype,
                                         'float4'::regtype, 'float8'::regtype) LOOP
        IF bad.missing THEN
            RAISE EXCEPTION 'column "%" of table % does not exist', bad.c, rel USING ERRCODE = 'undefined_column';
        ELSIF bad.c = ANY (key_columns) THEN
            RAISE EXCEPTION 'column "%" of table % is part of its key and cannot be a counter', bad.c, rel
                USING ERRCODE = 'invalid_parameter_value';
        ELSE
            RAISE EXCEPTION 'column "%" of table % is of type %, not a number', bad.c, rel, format_type(bad.typ, NULL)
                USING ERRCODE = 'datatype_mismatch',
                      HINT = 'Counters are smallint, integer, bigint, numeric, real or double precision columns.';
        END IF;
    END LOOP;
    INSERT INTO pgactive.pgactive_column_level_tables AS t (relname, counter_columns)
    VALUES (rel::text,
            (SELECT coalesce(array_agg(DISTINCT c ORDER BY c), '{}') FROM unnest(counter_columns) c))
    ON CONFLICT (relname) DO UPDATE SET counter_columns = EXCLUDED.counter_columns;
END;
$$;

CREATE FUNCTION pgactive.pgactive_unset_column_level(rel regclass) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    PERFORM pgactive._check_not_null(rel, 'rel', 'pgactive_unset_column_level');
    DELETE FROM pgactive.pgactive_column_level_tables
     WHERE relname = rel::text; -- with search_path = pg_catalog: schema.table, quoted as %I quotes
    IF NOT FOUND THEN
        RAISE EXCEPTION 'table % does not resolve conflicts by column', rel USING ERRCODE = 'undefined_object';
    END IF;
END;
$$;

--------------------------------------------------------------------------------------------------
-- Concurrent versions of rows of tables with conflict handlers (docs/conflicts.md, "Handlers
-- that converge")
--------------------------------------------------------------------------------------------------

-- Per row of a table with a conflict handler, the versions of it no change has superseded yet:
-- one after a change made knowing all before it, several while changes made without knowing
-- each other meet; the row shows them merged, by the handler, in commit order. A version is
-- {"xid": the transaction that wrote it here, whose commit time and origin PostgreSQL keeps}
-- or, once several meet, {"node": its writer's sysid, "at": its commit time in microseconds
-- since 2000, "row": its values, or null when it is a delete}; and always "seen" (per other
-- node, the commit time of its latest version of this row the writer had seen) and "op" (I, U
-- or D). written_by is the transaction that last wrote the row here: a row whose xmin is
-- another was written without this record, which then no longer describes it. seen is what a
-- local write of the row has seen: per node, the latest of its versions the row holds or they
-- had seen (this node's own may be left out). Not replicated.
CREATE TABLE pgactive.pgactive_row_versions (
    relname text NOT NULL,
    key jsonb NOT NULL,
    written_by xid8 NOT NULL,
    versions jsonb NOT NULL,
    seen jsonb NOT NULL,
    PRIMARY KEY (relname, key)
);

-- The replica identity key's columns from the relcache (launcher/pgactive_causality.c), for the
-- trigger below: _identity_columns' catalog query would cost it more than the write.
CREATE FUNCTION pgactive._key_columns(rel oid) RETURNS text[]
    LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'pgactive_key_columns';

-- Puts the versions of a transaction's next change to a row in the stream, with the row's key
-- (launcher/pgactive_causality.c); for the trigger below only.
CREATE FUNCTION pgactive._seen_versions_message(rel oid, named_row record, seen_count integer, body text)
RETURNS void
    LANGUAGE c AS 'MODULE_PATHNAME', 'pgactive_seen_versions_message';

-- A local write of a row of such a table tells the receivers which versions of the row its
-- writer had seen (the record's seen), so that each receiver keeps,
-- of the versions it has, only those this change did not supersede: before the change, in a
-- message that precedes it in the stream (an INSERT that becomes an UPDATE, ON CONFLICT, sends
-- one for each: the receiver takes the last). And the change becomes the row's one version here:
-- recorded before an UPDATE or DELETE, which hold the row's lock by then, and after an INSERT,
-- which only then holds its key (apply takes the row, then its record). Fixed settings make the
-- key's JSON the same as the worker's (RowKeys).
CREATE FUNCTION pgactive._record_row_version() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pgactive, pg_temp
    SET TimeZone = 'UTC' SET DateStyle = 'ISO'
                     SET IntervalStyle = 'postgres' SET extra_float_digits = 3 AS $$
DECLARE
    table_name text := format('%I.%I', TG_TABLE_SCHEMA, TG_TABLE_NAME);
    key_columns text[] := pgactive._key_columns(TG_RELID);
    named jsonb;
    written jsonb;
    named_key jsonb;
    written_key jsonb;
    seen jsonb;
    seen_count integer;
    body text;
BEGIN
    IF key_columns IS NULL THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    IF TG_OP = 'INSERT' THEN
        named := to_jsonb(NEW);
    ELSE
        named := to_jsonb(OLD);
    END IF;
    written := CASE WHEN TG_OP = 'DELETE' THEN named ELSE to_jsonb(NEW) END;
    named_key := (SELECT jsonb_object_agg(k, named -> k) FROM unnest(key_columns) k);
    written_key := (SELECT jsonb_object_agg(k, written -> k) FROM unnest(key_columns) k);
    -- A statement of its own: it sees what committed while this one waited for the row.
    seen := coalesce((SELECT v.seen FROM pgactive.pgactive_row_versions v
                       WHERE v.relname = table_name AND v.key = named_key), '{}');
    IF TG_WHEN = 'BEFORE' THEN
        SELECT count(*), coalesce(string_agg(format('%s:%s%s:%s', length(n), n, length(t), t), ''), '')
          INTO seen_count, body
          FROM jsonb_each_text(seen) AS s(n, t);
        IF TG_OP = 'INSERT' THEN
            PERFORM pgactive._seen_versions_message(TG_RELID, NEW, seen_count, body);
            RETURN NEW;
        END IF;
        PERFORM pgactive._seen_versions_message(TG_RELID, OLD, seen_count, body);
    END IF;
    IF written_key IS DISTINCT FROM named_key THEN
        DELETE FROM pgactive.pgactive_row_versions WHERE relname = table_name AND key = named_key;
    END IF;
    -- This node's own version, of no commit time yet, is implied in what its next one sees.
    INSERT INTO pgactive.pgactive_row_versions AS v (relname, key, written_by, versions, seen)
    VALUES (table_name, written_key, pg_current_xact_id(),
            jsonb_build_array(jsonb_build_object('xid', pg_current_xact_id()::text, 'seen', seen,
                                                 'op', left(TG_OP, 1))), seen)
    ON CONFLICT (relname, key) DO UPDATE
       SET written_by = EXCLUDED.written_by, versions = EXCLUDED.versions, seen = EXCLUDED.seen;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END;
$$;

-- Puts the triggers on rel while it has a conflict handler (or takes them off, and forgets what
-- was recorded: versions written while it was off would look older than they are).
CREATE FUNCTION pgactive._row_version_trigger(rel regclass) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM pgactive.pgactive_conflict_handlers
                WHERE ch_relname = rel::text) THEN -- search_path = pg_catalog: schema.table, quoted
        EXECUTE format('CREATE OR REPLACE TRIGGER pgactive_row_versions BEFORE INSERT OR UPDATE OR DELETE ON %s'
                       ' FOR EACH ROW EXECUTE FUNCTION pgactive._record_row_version()', rel);
        EXECUTE format('CREATE OR REPLACE TRIGGER pgactive_row_inserted AFTER INSERT ON %s'
                       ' FOR EACH ROW EXECUTE FUNCTION pgactive._record_row_version()', rel);
    ELSE
        EXECUTE format('DROP TRIGGER IF EXISTS pgactive_row_versions ON %s', rel);
        EXECUTE format('DROP TRIGGER IF EXISTS pgactive_row_inserted ON %s', rel);
        DELETE FROM pgactive.pgactive_row_versions WHERE relname = rel::text;
    END IF;
END;
$$;

-- Each node follows the replicated handlers on its own table, if it has it yet (a table created
-- later gets the trigger with pgactive's other triggers).
CREATE FUNCTION pgactive._conflict_handlers_changed() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pgactive, pg_temp AS $$
DECLARE
    rel regclass := to_regclass(CASE WHEN TG_OP = 'DELETE' THEN OLD.ch_relname ELSE NEW.ch_relname END);
BEGIN
    IF rel IS NOT NULL THEN
        PERFORM pgactive._row_version_trigger(rel);
    END IF;
    RETURN NULL;
END;
$$;
-- ALWAYS: also when the row arrives by replication (session_replication_role = replica).
CREATE TRIGGER pgactive_conflict_handlers_changed
    AFTER INSERT OR DELETE ON pgactive.pgactive_conflict_handlers
    FOR EACH ROW EXECUTE FUNCTION pgactive._conflict_handlers_changed();
ALTER TABLE pgactive.pgactive_conflict_handlers
    ENABLE ALWAYS TRIGGER pgactive_conflict_handlers_changed;

--------------------------------------------------------------------------------------------------
-- Monitoring
--------------------------------------------------------------------------------------------------

-- One row per upstream this node applies from (riremoteid is its replication origin's name).
CREATE FUNCTION pgactive.pgactive_get_stats(
    OUT rep_node_id oid, OUT rilocalid oid, OUT riremoteid text, OUT nr_commit int8, OUT nr_rollback int8,
    OUT nr_insert int8, OUT nr_insert_conflict int8, OUT nr_update int8, OUT nr_update_conflict int8,
    OUT nr_delete int8, OUT nr_delete_conflict int8, OUT nr_disconnect int8)
    RETURNS SETOF record
    LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    SELECT o.roident, o.roident, s.riremoteid, s.nr_commit, s.nr_rollback, s.nr_insert, s.nr_insert_conflict,
           s.nr_update, s.nr_update_conflict, s.nr_delete, s.nr_delete_conflict, s.nr_disconnect
      FROM pgactive.pgactive_apply_stats s
      LEFT JOIN pg_replication_origin o ON o.roname = s.riremoteid
     ORDER BY s.riremoteid
$$;

CREATE VIEW pgactive.pgactive_stats AS SELECT * FROM pgactive.pgactive_get_stats();

-- What this node last applied from node (sysid, timeline, dboid), as upstream: the
-- transaction's xid on that node, its commit time there, and when it committed here.
CREATE FUNCTION pgactive.pgactive_get_last_applied_xact_info(sysid text, timeline oid, dboid oid,
    OUT last_applied_xact_id oid, OUT last_applied_xact_committs timestamptz, OUT last_applied_xact_at timestamptz)
    RETURNS record
    LANGUAGE sql STABLE STRICT SET search_path = pg_catalog AS $$
    SELECT (s.last_applied_xid % 4294967296)::text::oid, s.last_commit_time, s.last_applied_at
      FROM pgactive.pgactive_apply_stats s, pgactive.pgactive_get_local_nodeid() l
     WHERE s.riremoteid = pgactive.pgactive_format_replident_name($1, $2, $3, l.dboid, '')
$$;

-- One row per slot from which a peer streams this node's changes, with upstream's columns and
-- formulas. Beyond upstream's: retained_wal, the WAL the slot keeps here, and wal_status ('lost'
-- once the server invalidated it for max_slot_wal_keep_size: that peer must rejoin).
CREATE FUNCTION pgactive._local_replication_lag_info(
    OUT node_name text, OUT node_sysid text, OUT application_name text, OUT slot_name text,
    OUT active boolean, OUT active_pid integer, OUT pending_wal_decoding bigint,
    OUT pending_wal_to_apply bigint, OUT restart_lsn pg_lsn, OUT confirmed_flush_lsn pg_lsn,
    OUT sent_lsn pg_lsn, OUT write_lsn pg_lsn, OUT flush_lsn pg_lsn, OUT replay_lsn pg_lsn,
    OUT retained_wal bigint, OUT wal_status text)
    RETURNS SETOF record
    LANGUAGE sql VOLATILE SET search_path = pg_catalog AS $$
    SELECT n.node_name, n.node_sysid, r.application_name::text, s.slot_name::text,
           s.active, s.active_pid,
           pg_wal_lsn_diff(pg_current_wal_lsn(), coalesce(r.sent_lsn, s.confirmed_flush_lsn))::bigint,
           pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn)::bigint,
           s.restart_lsn, s.confirmed_flush_lsn, r.sent_lsn, r.write_lsn, r.flush_lsn, r.replay_lsn,
           pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn)::bigint, s.wal_status
      FROM pg_replication_slots s
      JOIN pgactive.pgactive_get_local_nodeid() l ON true
      JOIN pgactive.pgactive_nodes n
        ON s.slot_name = pgactive.pgactive_format_slot_name(n.node_sysid, n.node_timeline, n.node_dboid, l.dboid, '')
      LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid
     WHERE s.database = current_database()
     ORDER BY n.node_name
$$;

-- The whole group's slots, from any node, as upstream: it asks every ready node (a node that
-- does not answer within 2 seconds is left out, with a WARNING). sender_node_name (beyond
-- upstream) is the node that keeps the slot and sends from it; node_name the one streaming.
CREATE FUNCTION pgactive.pgactive_get_replication_lag_info(
    OUT node_name text, OUT node_sysid text, OUT application_name text, OUT slot_name text,
    OUT active boolean, OUT active_pid integer, OUT pending_wal_decoding bigint,
    OUT pending_wal_to_apply bigint, OUT restart_lsn pg_lsn, OUT confirmed_flush_lsn pg_lsn,
    OUT sent_lsn pg_lsn, OUT write_lsn pg_lsn, OUT flush_lsn pg_lsn, OUT replay_lsn pg_lsn,
    OUT retained_wal bigint, OUT wal_status text, OUT sender_node_name text)
    RETURNS SETOF record
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog AS $$
DECLARE
    sender pgactive.pgactive_nodes;
    answer text;
BEGIN
    FOR sender IN SELECT * FROM pgactive.pgactive_nodes WHERE node_status = 'r' ORDER BY node_name LOOP
        IF (sender.node_sysid, sender.node_timeline, sender.node_dboid)
           = (SELECT l.sysid, l.timeline, l.dboid FROM pgactive.pgactive_get_local_nodeid() l) THEN
            RETURN QUERY SELECT i.*, sender.node_name FROM pgactive._local_replication_lag_info() i;
            CONTINUE;
        END IF;
        BEGIN
            answer := pgactive._query_node(sender.node_dsn, 'node_dsn',
                'SELECT pg_catalog.json_agg(i)::text FROM pgactive._local_replication_lag_info() i', 2);
        EXCEPTION WHEN OTHERS THEN
            RAISE WARNING 'no replication lag information from node "%": %', sender.node_name, SQLERRM;
            CONTINUE;
        END;
        RETURN QUERY
        SELECT r.*, sender.node_name
          FROM json_to_recordset(coalesce(answer, '[]')::json) AS r(
               node_name text, node_sysid text, application_name text, slot_name text,
               active boolean, active_pid integer, pending_wal_decoding bigint,
               pending_wal_to_apply bigint, restart_lsn pg_lsn, confirmed_flush_lsn pg_lsn,
               sent_lsn pg_lsn, write_lsn pg_lsn, flush_lsn pg_lsn, replay_lsn pg_lsn,
               retained_wal bigint, wal_status text);
    END LOOP;
END;
$$;

-- As upstream: the slots on this node, with their walsenders' positions, and what this node last
-- applied from each slot's node (upstream's last_sent_xact_* columns are not kept here).
CREATE VIEW pgactive.pgactive_node_slots AS
SELECT i.node_name, i.slot_name, i.restart_lsn AS slot_restart_lsn, i.confirmed_flush_lsn AS slot_confirmed_lsn,
       i.active AS walsender_active, i.active_pid AS walsender_pid,
       i.sent_lsn, i.write_lsn, i.flush_lsn, i.replay_lsn,
       a.last_applied_xact_id, a.last_applied_xact_committs, a.last_applied_xact_at
  FROM pgactive._local_replication_lag_info() i
  JOIN pgactive.pgactive_nodes n ON n.node_name = i.node_name AND n.node_sysid = i.node_sysid
  LEFT JOIN LATERAL pgactive.pgactive_get_last_applied_xact_info(n.node_sysid, n.node_timeline, n.node_dboid) a
    ON true;


--------------------------------------------------------------------------------------------------
-- Do the nodes agree? Comparing a table across the group, and repairing it
--------------------------------------------------------------------------------------------------

-- The rows of a table as each node's part of a comparison sees them: the key (the JSON of its
-- replica identity columns), a hash of the row and the row, as JSON whose text the fixed output
-- settings of the functions below make the same on every node.
CREATE FUNCTION pgactive._table_diff_query(rel regclass) RETURNS text
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
DECLARE
    key_columns text[] := pgactive._identity_columns(rel);
    key_json text;
BEGIN
    IF key_columns IS NULL THEN
        RAISE EXCEPTION 'table % has no primary key or replica identity index to compare its rows by', rel
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    SELECT format('jsonb_build_object(%s)', string_agg(format('%L, t.%I', k, k), ', '))
      INTO key_json FROM unnest(key_columns) k;
    RETURN format('SELECT %s AS key, md5(to_jsonb(t)::text) AS row_hash, to_jsonb(t) AS row FROM %s t',
                  key_json, rel);
END;
$$;

-- One hash per bucket of keys (a slice of the keys' hashes), as {"bucket": "hash", ...}.
CREATE FUNCTION pgactive._table_diff_buckets(rel regclass, buckets integer) RETURNS text
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog
    SET TimeZone = 'UTC' SET DateStyle = 'ISO' SET IntervalStyle = 'postgres' SET extra_float_digits = 3 AS $$
DECLARE
    answer text;
BEGIN
    -- A sum of 64-bit row hashes: no sort, and the same whatever order rows are read in.
    EXECUTE format('SELECT coalesce(json_object_agg(b, h), ''{}'')::text FROM ('
                   ' SELECT abs(hashtext(r.key::text)) %% %s AS b, sum(hashtextextended(r.row::text, 0))::text AS h'
                   '   FROM (%s) r GROUP BY 1) x', buckets, pgactive._table_diff_query(rel))
        INTO answer;
    RETURN answer;
END;
$$;

-- The rows of some buckets, or of some keys, as [{"key": ..., "row_hash": ..., "row": ...}, ...].
CREATE FUNCTION pgactive._table_diff_rows(rel regclass, buckets integer, wanted integer[], keys jsonb)
    RETURNS text
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog
    SET TimeZone = 'UTC' SET DateStyle = 'ISO' SET IntervalStyle = 'postgres' SET extra_float_digits = 3 AS $$
DECLARE
    answer text;
BEGIN
    EXECUTE format('SELECT coalesce(json_agg(r), ''[]'')::text FROM (%s) r'
                   ' WHERE abs(hashtext(r.key::text)) %% %s = ANY ($1)'
                   '    OR r.key = ANY (ARRAY(SELECT jsonb_array_elements($2)))',
                   pgactive._table_diff_query(rel), buckets)
        INTO answer USING coalesce(wanted, '{}'), coalesce(keys, '[]');
    RETURN answer;
END;
$$;

-- A query's one-value answer from a node: this one directly, another through its node_dsn.
CREATE FUNCTION pgactive._ask_node(node pgactive.pgactive_nodes, query text) RETURNS text
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog AS $$
DECLARE
    answer text;
BEGIN
    IF (node.node_sysid, node.node_timeline, node.node_dboid)
       = (SELECT l.sysid, l.timeline, l.dboid FROM pgactive.pgactive_get_local_nodeid() l) THEN
        EXECUTE query INTO answer;
        RETURN answer;
    END IF;
    RETURN pgactive._query_node(node.node_dsn, format('node_dsn of node "%s"', node.node_name), query);
END;
$$;

-- Beyond upstream: compares a table across every ready node, while writes go on, and returns the
-- keys whose rows differ, with each node's version (NULL where the node has no such row). Each
-- node hashes its rows by buckets of keys; only buckets that differ are compared row by row; rows
-- that differ are looked at again (three times, a second apart) so that changes still on their
-- way to a node are not reported.
CREATE FUNCTION pgactive.pgactive_table_diff(relation regclass)
    RETURNS TABLE (key jsonb, node_name text, row_version jsonb)
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog AS $$
DECLARE
    buckets constant integer := 1024;
    nodes pgactive.pgactive_nodes[];
    n pgactive.pgactive_nodes;
    rel_text text;
    differing integer[];
    suspects jsonb;
    attempt integer;
BEGIN
    PERFORM pgactive._check_not_null(relation, 'relation', 'pgactive_table_diff');
    PERFORM pgactive._table_diff_query(relation);
    SELECT format('%I.%I', ns.nspname, c.relname) INTO rel_text
      FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace WHERE c.oid = relation;
    SELECT array_agg(x ORDER BY x.node_name) INTO nodes FROM pgactive.pgactive_nodes x WHERE x.node_status = 'r';
    CREATE TEMP TABLE IF NOT EXISTS pgactive_diff_buckets (node_name text, bucket integer, hash text) ON COMMIT DROP;
    CREATE TEMP TABLE IF NOT EXISTS pgactive_diff_seen (node_name text, key jsonb, row_hash text, row_version jsonb)
        ON COMMIT DROP;
    TRUNCATE pgactive_diff_buckets, pgactive_diff_seen;

    FOREACH n IN ARRAY nodes LOOP
        INSERT INTO pgactive_diff_buckets
        SELECT n.node_name, b.key::integer, b.value
          FROM json_each_text(pgactive._ask_node(n, format('SELECT pgactive._table_diff_buckets(%L::regclass, %s)',
                                                          rel_text, buckets))::json) b;
    END LOOP;
    SELECT array_agg(d.bucket) INTO differing
      FROM (SELECT b.bucket FROM pgactive_diff_buckets b GROUP BY b.bucket
             HAVING count(*) < cardinality(nodes) OR count(DISTINCT b.hash) > 1) d;
    IF differing IS NULL THEN
        RETURN;
    END IF;

    FOR attempt IN 1..3 LOOP
        TRUNCATE pgactive_diff_seen;
        FOREACH n IN ARRAY nodes LOOP
            INSERT INTO pgactive_diff_seen
            SELECT n.node_name, r.key, r.row_hash, r."row"
              FROM json_to_recordset(pgactive._ask_node(n, format(
                       'SELECT pgactive._table_diff_rows(%L::regclass, %s, %L::integer[], %L::jsonb)',
                       rel_text, buckets, CASE WHEN suspects IS NULL THEN differing END, suspects))::json)
                   AS r(key jsonb, row_hash text, "row" jsonb);
        END LOOP;
        SELECT jsonb_agg(d.key) INTO suspects
          FROM (SELECT s.key FROM pgactive_diff_seen s GROUP BY s.key
                 HAVING count(*) < cardinality(nodes) OR count(DISTINCT s.row_hash) > 1) d;
        EXIT WHEN suspects IS NULL OR attempt = 3;
        PERFORM pg_sleep(1);
    END LOOP;
    IF suspects IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY
    SELECT k.key, x.node_name, s.row_version
      FROM jsonb_array_elements(suspects) k(key)
      CROSS JOIN unnest(nodes) x
      LEFT JOIN pgactive_diff_seen s ON s.key = k.key AND s.node_name = x.node_name
     ORDER BY k.key::text, x.node_name;
END;
$$;

-- Beyond upstream: makes this node's version of every row pgactive_table_diff finds different
-- win on every node, through normal replication: such a row is written again here (the newer
-- change wins by last update wins everywhere), and a row this node does not have is inserted with
-- another node's version and deleted again, in one transaction, so that the delete wins. Returns
-- how many keys it repaired. Run it on the node whose data is right.
CREATE FUNCTION pgactive.pgactive_table_repair(relation regclass) RETURNS integer
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog AS $$
DECLARE
    here text := pgactive.pgactive_get_local_node_name();
    columns text;
    values_from_row text;
    key_match text;
    d record;
    repaired integer := 0;
BEGIN
    PERFORM pgactive._check_not_null(relation, 'relation', 'pgactive_table_repair');
    IF here IS NULL THEN
        RAISE EXCEPTION 'this database is not a pgactive node' USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    SELECT string_agg(format('%I', a.attname), ', ' ORDER BY a.attnum),
           string_agg(format('r.%I', a.attname), ', ' ORDER BY a.attnum)
      INTO columns, values_from_row
      FROM pg_attribute a
     WHERE a.attrelid = relation AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '';
    SELECT string_agg(format('t.%I IS NOT DISTINCT FROM k.%I', c, c), ' AND ') INTO key_match
      FROM unnest(pgactive._identity_columns(relation)) c;
    FOR d IN
        SELECT f.key, max(f.row_version::text) FILTER (WHERE f.node_name = here)::jsonb AS mine,
               max(f.row_version::text) FILTER (WHERE f.node_name <> here)::jsonb AS other
          FROM pgactive.pgactive_table_diff(relation) f
         GROUP BY f.key
    LOOP
        IF d.mine IS NOT NULL THEN
            EXECUTE format('UPDATE %1$s t SET (%2$s) = (SELECT %3$s FROM jsonb_populate_record(NULL::%1$s, $2) r)'
                           ' FROM jsonb_populate_record(NULL::%1$s, $1) k WHERE %4$s',
                           relation, columns, values_from_row, key_match)
                USING d.key, d.mine;
        ELSE
            EXECUTE format('INSERT INTO %1$s (%2$s) SELECT %3$s FROM jsonb_populate_record(NULL::%1$s, $1) r',
                           relation, columns, values_from_row)
                USING d.other;
            EXECUTE format('DELETE FROM %1$s t USING jsonb_populate_record(NULL::%1$s, $1) k WHERE %2$s',
                           relation, key_match)
                USING d.key;
        END IF;
        repaired := repaired + 1;
    END LOOP;
    RETURN repaired;
END;
$$;

--------------------------------------------------------------------------------------------------
-- Schema changes and escape hatches (docs/schema-changes.md)
--------------------------------------------------------------------------------------------------

-- DDL queued by pgactive_replicate_ddl_command, as upstream: the row replicates in the
-- transaction that ran the command, and apply runs the command when it applies the row, at the
-- same point of the stream on every node.
CREATE TABLE pgactive.pgactive_queued_commands (
    lsn pg_lsn NOT NULL,
    queued_at timestamptz NOT NULL,
    perpetrator text NOT NULL,
    command_tag text NOT NULL,
    command text NOT NULL,
    search_path text DEFAULT ''
);

-- A role queues commands as itself only: apply runs each one as its perpetrator. (Apply's own
-- inserts, in replica mode, do not fire the trigger; transparent DDL replication queues a
-- statement for the role that ran it, as a superuser.)
CREATE FUNCTION pgactive._queued_command_check() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    IF NEW.perpetrator IS DISTINCT FROM current_user::text
       AND NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) THEN
        RAISE EXCEPTION 'a command can be queued only by the role it runs as (%), not for role %',
            current_user, NEW.perpetrator USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER pgactive_queued_command_check BEFORE INSERT ON pgactive.pgactive_queued_commands
    FOR EACH ROW EXECUTE FUNCTION pgactive._queued_command_check();

-- Runs command here and queues it for every other node, in the calling transaction, as the
-- calling role with its search_path. Unlike upstream it does not need
-- pgactive.skip_ddl_replication = off: asking explicitly is enough. replication_sets is accepted
-- for upstream's signature.
CREATE FUNCTION pgactive.pgactive_replicate_ddl_command(command text, replication_sets text[] DEFAULT NULL)
    RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF command IS NULL THEN
        RAISE EXCEPTION 'command must not be NULL';
    END IF;
    PERFORM pgactive._execute_ddl_uncaptured(command); -- queued here, not by transparent DDL replication
    INSERT INTO pgactive.pgactive_queued_commands (lsn, queued_at, perpetrator, command_tag, command, search_path)
    VALUES (pg_catalog.pg_current_wal_insert_lsn(), pg_catalog.now(), current_user,
            coalesce(pg_catalog.upper(pg_catalog.substring(command, '^\s*(\w+(\s+\w+)?)')), ''), command,
            pg_catalog.current_setting('search_path'));
END;
$$;

-- Runs a command here without transparent DDL replication capturing it (launcher/pgactive_ddl.c):
-- for pgactive_replicate_ddl_command, which queues the command itself, and for pgactive's own
-- functions whose DDL is each node's own. Whoever may run pgactive_replicate_ddl_command may run
-- it (checked inside), so one GRANT serves both.
CREATE FUNCTION pgactive._execute_ddl_uncaptured(command text) RETURNS void
    LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'pgactive_execute_ddl_uncaptured';

--------------------------------------------------------------------------------------------------
-- Transparent DDL replication (pgactive.skip_ddl_replication = off) and the global DDL lock.
-- launcher/pgactive_ddl.c asks _ddl_capture_policy about each DDL statement of a user session on a
-- ready node; launcher/pgactive_locks.c keeps the lock; the worker's GlobalLockPeer answers peers.
--------------------------------------------------------------------------------------------------

-- What becomes of a DDL statement: 'local' (run here only), 'nolock', 'ddl_lock' or 'write_lock'
-- (replicated, under the global lock in that mode), or an error (refused, with upstream's
-- messages). features come from the parse tree: with_data (CREATE TABLE AS), concurrently,
-- additive (an ALTER TABLE that only adds), add_column_mutable_default (after an ALTER TABLE ran),
-- pgactive_object (a trigger of pgactive's own).
CREATE FUNCTION pgactive._ddl_capture_policy(tag text, toplevel boolean, persistence "char", features text[],
                                             object text) RETURNS text
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
BEGIN
    IF coalesce((SELECT node_status FROM pgactive._local_node()), 'k') <> 'r' THEN
        RETURN 'local'; -- creating, joining or removing: the node's own business
    END IF;
    -- Global objects, and objects each node has its own of, are not replicated (as upstream);
    -- pgactive's publications are per node.
    IF tag IN ('CREATE ROLE', 'ALTER ROLE', 'DROP ROLE', 'GRANT ROLE', 'REVOKE ROLE',
               'CREATE DATABASE', 'ALTER DATABASE', 'DROP DATABASE',
               'CREATE TABLESPACE', 'ALTER TABLESPACE', 'DROP TABLESPACE', 'ALTER SYSTEM',
               'CREATE EVENT TRIGGER', 'ALTER EVENT TRIGGER', 'DROP EVENT TRIGGER',
               'CREATE SERVER', 'ALTER SERVER', 'DROP SERVER',
               'CREATE USER MAPPING', 'ALTER USER MAPPING', 'DROP USER MAPPING',
               'CREATE PUBLICATION', 'ALTER PUBLICATION', 'DROP PUBLICATION',
               'CREATE SUBSCRIPTION', 'ALTER SUBSCRIPTION', 'DROP SUBSCRIPTION',
               'REFRESH MATERIALIZED VIEW')
       OR persistence IN ('t', 'u') OR 'pgactive_object' = ANY (features) THEN
        RETURN 'local';
    END IF;
    IF NOT toplevel THEN
        RAISE EXCEPTION 'DDL command attempted inside function or multi-statement string'
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = format('pgactive does not support transparent DDL replication for function bodies or DO'
                                  ' blocks containing DDL commands. Problem statement has tag [%s].', tag),
                  HINT = 'Use pgactive.pgactive_replicate_ddl_command(...) instead.';
    END IF;
    IF tag IN ('CREATE TABLE AS', 'SELECT INTO', 'CREATE MATERIALIZED VIEW') AND 'with_data' = ANY (features) THEN
        RAISE EXCEPTION '% is not supported when pgactive is active', tag
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Create the table (or the view WITH NO DATA), then fill it: rows replicate as rows.';
    END IF;
    IF 'concurrently' = ANY (features) THEN
        IF tag = 'CREATE INDEX' THEN
            RAISE EXCEPTION '% may only affect UNLOGGED or TEMPORARY tables when pgactive is active; % is a regular table',
                'CREATE INDEX CONCURRENTLY without pgactive.skip_ddl_replication set', object
                USING ERRCODE = 'feature_not_supported',
                      HINT = 'Run it on each node in a session that first runs SET pgactive.skip_ddl_replication = on (superuser).';
        END IF;
        RAISE EXCEPTION '% CONCURRENTLY is not supported without pgactive.skip_ddl_replication set', tag
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Run it on each node in a session that first runs SET pgactive.skip_ddl_replication = on (superuser).';
    END IF;
    IF 'add_column_mutable_default' = ANY (features) THEN
        RAISE EXCEPTION '% may only affect UNLOGGED or TEMPORARY tables when pgactive is active; % is a regular table',
            'ALTER TABLE ... ADD COLUMN ... DEFAULT', object
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'The default is not immutable: every node would fill the rows it has with values of its own.',
                  HINT = 'Add the column without a default, then ALTER COLUMN ... SET DEFAULT for new rows, then UPDATE the existing ones.';
    END IF;
    IF tag = 'COMMENT' THEN
        RETURN 'nolock';
    END IF;
    -- As upstream: what only adds takes the ddl_lock, everything else the write_lock.
    IF tag IN ('CREATE SCHEMA', 'CREATE TABLE', 'CREATE FOREIGN TABLE', 'CREATE AGGREGATE', 'CREATE OPERATOR',
               'CREATE TYPE', 'CREATE VIEW', 'CREATE FUNCTION', 'CREATE PROCEDURE', 'CREATE DOMAIN',
               'ALTER DEFAULT PRIVILEGES', 'CREATE TABLE AS', 'SELECT INTO', 'CREATE MATERIALIZED VIEW')
       OR (tag = 'ALTER TABLE' AND 'additive' = ANY (features)) THEN
        RETURN 'ddl_lock';
    END IF;
    RETURN 'write_lock';
END;
$$;

-- Queues a captured statement for every node, in the transaction that ran it here.
CREATE FUNCTION pgactive._queue_captured_ddl(tag text, command text, perpetrator text, search_path text)
    RETURNS void LANGUAGE sql SET search_path = pg_catalog AS $$
    INSERT INTO pgactive.pgactive_queued_commands (lsn, queued_at, perpetrator, command_tag, command, search_path)
    VALUES (pg_catalog.pg_current_wal_insert_lsn(), pg_catalog.now(), perpetrator, tag, command, search_path);
$$;

-- This node as the global lock's messages name it.
CREATE FUNCTION pgactive._lock_node_id(sysid text, timeline oid, dboid oid) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$ SELECT sysid || ':' || timeline || ':' || dboid $$;

-- Upstream's global DDL lock: held by this transaction on every node until it commits or aborts.
-- ddl_lock keeps other nodes from running replicated DDL meanwhile; write_lock besides holds their
-- user sessions' writes (they wait; those already writing are cancelled after
-- pgactive.max_ddl_lock_delay). Waits for every ready peer to confirm, at most
-- pgactive.ddl_lock_timeout (-1: lock_timeout; 0: for ever).
CREATE FUNCTION pgactive.pgactive_acquire_global_lock(lockmode text) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    self pgactive.pgactive_nodes;
    peers integer;
BEGIN
    IF current_setting('pgactive.skip_ddl_replication')::boolean THEN
        RAISE WARNING 'pgactive.skip_ddl_replication is set, ignoring explicit pgactive.pgactive_acquire_global_lock(...) call';
        RETURN;
    END IF;
    self := pgactive._local_node();
    IF self.node_status IS DISTINCT FROM 'r' THEN
        RAISE EXCEPTION 'database with oid=% is not configured for pgactive or pgactive is still starting up',
            (SELECT oid FROM pg_database WHERE datname = current_database())
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    SELECT count(*) INTO peers FROM pgactive.pgactive_nodes n
     WHERE n.node_status = 'r' AND (n.node_sysid, n.node_timeline, n.node_dboid)
                                   <> (self.node_sysid, self.node_timeline, self.node_dboid);
    PERFORM pgactive._global_lock_acquire(lockmode,
        pgactive._lock_node_id(self.node_sysid, self.node_timeline, self.node_dboid), peers);
END;
$$;

CREATE FUNCTION pgactive._global_lock_acquire(mode text, self text, npeers integer) RETURNS void
    LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'pgactive_global_lock_acquire';
CREATE FUNCTION pgactive._global_lock_grant(owner text, lock_id bigint, mode text) RETURNS text
    LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'pgactive_global_lock_grant';
CREATE FUNCTION pgactive._global_lock_peer_confirmed(owner text, lock_id bigint) RETURNS void
    LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'pgactive_global_lock_peer_confirmed';
CREATE FUNCTION pgactive._global_lock_release(owner text, lock_id bigint) RETURNS boolean
    LANGUAGE c AS 'MODULE_PATHNAME', 'pgactive_global_lock_release';
CREATE FUNCTION pgactive._global_lock_tally(lock_id bigint, peer text, confirmed boolean) RETURNS void
    LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'pgactive_global_lock_tally';
CREATE FUNCTION pgactive._global_lock_state(OUT owner text, OUT owner_is_local boolean, OUT lock_mode text,
                                            OUT lock_state text, OUT owner_pid integer, OUT npeers integer,
                                            OUT npeers_confirmed integer, OUT npeers_declined integer,
                                            OUT lock_id bigint, OUT since timestamptz)
    RETURNS record LANGUAGE c AS 'MODULE_PATHNAME', 'pgactive_global_lock_state';
-- A non-transactional message in this node's stream, flushed at once (the lock's protocol).
CREATE FUNCTION pgactive._emit_control_message(content text) RETURNS pg_lsn
    LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'pgactive_emit_control_message';

-- Upstream's view of this database's global lock, whoever holds it (plus since when).
CREATE VIEW pgactive.pgactive_global_locks_info AS
SELECT s.owner_is_local AS owner_is_my_node,
       split_part(s.owner, ':', 1) AS owner_sysid,
       nullif(split_part(s.owner, ':', 2), '')::oid AS owner_timeline,
       nullif(split_part(s.owner, ':', 3), '')::oid AS owner_dboid,
       (SELECT n.node_name FROM pgactive.pgactive_nodes n
         WHERE pgactive._lock_node_id(n.node_sysid, n.node_timeline, n.node_dboid) = s.owner) AS owner_node_name,
       nullif(s.lock_mode, 'nolock') AS lock_mode,
       s.lock_state,
       s.owner_pid AS owner_local_pid,
       coalesce(s.owner_pid = pg_backend_pid(), false) AS owner_is_my_backend,
       CASE WHEN s.owner_is_local THEN 0::oid
            ELSE (SELECT o.roident::oid FROM pg_replication_origin o, pgactive.pgactive_nodes n,
                                             pgactive.pgactive_get_local_nodeid() l
                   WHERE pgactive._lock_node_id(n.node_sysid, n.node_timeline, n.node_dboid) = s.owner
                     AND o.roname = format('pgactive_%s_%s_%s_%s_', n.node_sysid, n.node_timeline, n.node_dboid, l.dboid)) END
           AS owner_replorigin,
       (s.lock_mode <> 'nolock')::integer AS lockcount,
       s.npeers, s.npeers_confirmed, s.npeers_declined,
       NULL::integer AS npeers_replayed, NULL::pg_lsn AS replay_upto,
       s.since AS lock_since
  FROM pgactive._global_lock_state() s;

-- Upstream's table of the locks this node granted to a peer, here a view of the same state.
CREATE VIEW pgactive.pgactive_global_locks AS
SELECT s.lock_mode AS locktype,
       split_part(s.owner, ':', 1) AS owning_sysid,
       split_part(s.owner, ':', 2)::oid AS owning_timeline,
       split_part(s.owner, ':', 3)::oid AS owning_datid,
       NULL::pg_lsn AS owner_created_lock_at,
       l.sysid AS acquired_sysid, l.timeline AS acquired_timeline, l.dboid AS acquired_datid,
       NULL::pg_lsn AS acquired_lock_at,
       CASE s.lock_state WHEN 'peer_confirmed' THEN 'acquired' ELSE 'catchup' END AS state
  FROM pgactive._global_lock_state() s, pgactive.pgactive_get_local_nodeid() l
 WHERE s.lock_mode <> 'nolock' AND NOT s.owner_is_local;

-- Makes the link from a node skip its changes up to and including the transaction that commits
-- at upto_lsn (the remote_commit_lsn of pgactive_conflict_history), for a change that can never
-- apply here: the replication origin moves past it and the link starts again from there. As
-- upstream, only with pgactive.skip_ddl_replication on, and never backwards.
CREATE FUNCTION pgactive.pgactive_skip_changes(from_sysid text, from_timeline oid, from_dboid oid, upto_lsn pg_lsn)
    RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    origin text := pgactive.pgactive_format_replident_name(from_sysid, from_timeline, from_dboid,
                       (SELECT oid FROM pg_database WHERE datname = current_database()), '');
    peer text := (SELECT node_name FROM pgactive.pgactive_nodes
                   WHERE (node_sysid, node_timeline, node_dboid) = (from_sysid, from_timeline, from_dboid));
    applied pg_lsn;
    deadline timestamptz := clock_timestamp() + interval '30 seconds';
BEGIN
    IF NOT current_setting('pgactive.skip_ddl_replication')::boolean THEN
        RAISE EXCEPTION 'skipping changes is unsafe and will cause replicas to be out of sync'
            USING HINT = 'Set pgactive.skip_ddl_replication if you are sure you want to do this.';
    END IF;
    IF upto_lsn IS NULL OR upto_lsn = '0/0' THEN
        RAISE EXCEPTION 'target LSN must be nonzero';
    END IF;
    IF pg_replication_origin_oid(origin) IS NULL THEN
        RAISE EXCEPTION 'replication origin "%" does not exist', origin USING ERRCODE = 'undefined_object',
            HINT = 'No link from that node was ever applied here; pgactive.pgactive_nodes lists the nodes.';
    END IF;
    applied := pg_replication_origin_progress(origin, false);
    IF applied > upto_lsn THEN
        RAISE EXCEPTION 'changes from node "%" up to % are applied already (up to %)', peer, upto_lsn, applied;
    END IF;
    -- The link holds the origin while it runs: end it, move the origin while it is free (before
    -- the link starts again), and end any session that started before the move.
    LOOP
        PERFORM pgactive.pgactive_terminate_workers(from_sysid, from_timeline, from_dboid, 'apply');
        BEGIN
            PERFORM pg_replication_origin_advance(origin, upto_lsn + 1);
            EXIT;
        EXCEPTION WHEN object_in_use THEN
            IF clock_timestamp() > deadline THEN
                RAISE EXCEPTION 'the link from node "%" kept its replication origin busy for 30 s', peer
                    USING HINT = 'Pause apply (pgactive_apply_pause) and try again.';
            END IF;
            PERFORM pg_sleep(0.01);
        END;
    END LOOP;
    PERFORM pgactive.pgactive_terminate_workers(from_sysid, from_timeline, from_dboid, 'apply');
    RAISE WARNING 'pgactive: changes from node "%" up to and including % skipped by pgactive_skip_changes', peer, upto_lsn
        USING DETAIL = 'They will not be applied on this node, which may now differ from the others.';
END;
$$;

--------------------------------------------------------------------------------------------------
-- Pausing apply
--------------------------------------------------------------------------------------------------

-- While paused, the worker stops this node's links from its peers: their changes wait in the
-- peers' slots and are applied from where apply stopped once it resumes.
CREATE FUNCTION pgactive.pgactive_is_apply_paused() RETURNS boolean
    LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    SELECT coalesce((SELECT apply_paused_at_postmaster_start = pg_postmaster_start_time()
                       FROM pgactive.pgactive_local_state), false)
$$;

CREATE FUNCTION pgactive._set_apply_paused_at(postmaster_start timestamptz) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    PERFORM pgactive._require_local_node();
    UPDATE pgactive.pgactive_local_state SET apply_paused_at_postmaster_start = postmaster_start;
    PERFORM pg_notify('pgactive', 'apply_pause');
END;
$$;

CREATE FUNCTION pgactive.pgactive_apply_pause() RETURNS void
    LANGUAGE sql SET search_path = pg_catalog AS $$
    SELECT pgactive._set_apply_paused_at(pg_postmaster_start_time());
$$;

CREATE FUNCTION pgactive.pgactive_apply_resume() RETURNS void
    LANGUAGE sql SET search_path = pg_catalog AS $$
    SELECT pgactive._set_apply_paused_at(NULL);
$$;

-- The backends of pgactive's worker for this database, as upstream lists its workers: 'per-db'
-- (the node manager), 'apply' (one per link, named by the node it applies from) and 'walsender'
-- (one per peer streaming from here, named by that peer), with the last error each reported.
CREATE FUNCTION pgactive.pgactive_get_workers_info(
    OUT sysid text, OUT timeline oid, OUT dboid oid, OUT worker_type text, OUT pid int4,
    OUT unregistered boolean, OUT last_error text, OUT last_error_time timestamptz)
    RETURNS SETOF record
    LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    SELECT l.sysid, l.timeline, l.dboid, 'per-db', a.pid, false, st.last_error, st.last_error_time
      FROM pgactive.pgactive_get_local_nodeid() l
      JOIN pg_stat_activity a ON a.datname = current_database()
                             AND a.application_name = format('pgactive:%s:perdb', l.sysid)
      LEFT JOIN pgactive.pgactive_local_state st ON true
    UNION ALL
    SELECT n.node_sysid, n.node_timeline, n.node_dboid, kind.worker_type, a.pid, false,
           CASE WHEN kind.worker_type = 'apply' THEN ls.last_error END,
           CASE WHEN kind.worker_type = 'apply' THEN ls.last_error_time END
      FROM pgactive.pgactive_nodes n
      JOIN pgactive.pgactive_get_local_nodeid() l
        ON (n.node_sysid, n.node_timeline, n.node_dboid) <> (l.sysid, l.timeline, l.dboid)
      CROSS JOIN (VALUES ('apply', 'apply'), ('walsender', 'send')) AS kind(worker_type, role)
      JOIN pg_stat_activity a ON a.datname = current_database()
                             AND a.application_name = format('pgactive:%s:%s', n.node_sysid, kind.role)
      LEFT JOIN pgactive.pgactive_link_status ls
        ON ls.riremoteid = pgactive.pgactive_format_replident_name(n.node_sysid, n.node_timeline, n.node_dboid, l.dboid, '')
     WHERE n.node_status <> 'k'
$$;

-- Ends the backends of pgactive_get_workers_info() of that kind for that node (for 'per-db',
-- this database's), as upstream: the worker starts them again by itself, from where they were,
-- so restarting one link loses nothing. True if it ended any.
CREATE FUNCTION pgactive.pgactive_terminate_workers(text, oid, oid, text) RETURNS boolean
    LANGUAGE sql VOLATILE SET search_path = pg_catalog AS $$
    SELECT coalesce(bool_or(pg_terminate_backend(w.pid)), false)
      FROM pgactive.pgactive_get_workers_info() w
     WHERE NOT w.unregistered
       AND CASE WHEN w.worker_type = 'per-db' THEN (w.dboid, w.worker_type) = ($3, $4)
                ELSE (w.sysid, w.timeline, w.dboid, w.worker_type) = ($1, $2, $3, $4) END
$$;

-- As upstream: ends this database's node manager (dboid: this database), which the worker starts again.
CREATE FUNCTION pgactive.pgactive_terminate_perdb_worker(dboid oid) RETURNS boolean
    LANGUAGE sql VOLATILE SET search_path = pg_catalog AS $$
    SELECT pgactive.pgactive_terminate_workers(NULL, NULL, dboid, 'per-db')
$$;

-- Waits until the named pgactive slot of this database, or all of them when slot_name is NULL,
-- have confirmed target_lsn (the current WAL position when NULL): every peer then has what this
-- node wrote before it.
CREATE FUNCTION pgactive.pgactive_wait_for_slots_confirmed_flush_lsn(slot_name name, target_lsn pg_lsn)
    RETURNS void
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog AS $$
DECLARE
    target pg_lsn := coalesce(target_lsn, pg_current_wal_lsn());
BEGIN
    IF slot_name IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_replication_slots s
                                              WHERE s.slot_name = pgactive_wait_for_slots_confirmed_flush_lsn.slot_name) THEN
        RAISE EXCEPTION 'replication slot "%" does not exist', slot_name USING ERRCODE = 'undefined_object';
    END IF;
    WHILE EXISTS (SELECT 1 FROM pg_replication_slots s
                   WHERE s.database = current_database() AND s.slot_name LIKE 'pgactive\_%'
                     AND s.slot_name = coalesce(pgactive_wait_for_slots_confirmed_flush_lsn.slot_name, s.slot_name)
                     AND (s.confirmed_flush_lsn IS NULL OR s.confirmed_flush_lsn < target)) LOOP
        PERFORM pg_sleep(0.1);
    END LOOP;
END;
$$;

-- How much WAL a peer keeps for this node's link from it (its slot's restart point to its
-- current position), asked of the peer; NULL when it cannot be reached within 2 seconds.
-- STABLE (it changes nothing here) so that a query of pgactive_links that does not read this
-- column does not ask the peers.
CREATE FUNCTION pgactive._peer_retained_wal(peer pgactive.pgactive_nodes) RETURNS bigint
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
BEGIN
    RETURN pgactive._query_node(peer.node_dsn, 'node_dsn', format(
        'SELECT pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), restart_lsn)::bigint'
        ' FROM pg_catalog.pg_replication_slots WHERE slot_name OPERATOR(pg_catalog.=) %L',
        (SELECT pgactive.pgactive_format_slot_name(l.sysid, l.timeline, l.dboid, peer.node_dboid, '')
           FROM pgactive.pgactive_get_local_nodeid() l)), 2)::bigint;
EXCEPTION WHEN OTHERS THEN
    RETURN NULL;
END;
$$;

-- One row per link "this node <- peer" (beyond upstream): its state, lag, last applied commit,
-- last error and retries, and the WAL the peer keeps for it. state is 'streaming', 'catching
-- up' (received changes wait to be applied, or a join's catch-up), 'paused'
-- (pgactive_apply_pause), 'connecting', 'retrying' (the connection failed), 'stalled' (applying
-- a transaction failed, e.g. a missing table: last_error says why; the link retries) or 'lost'
-- (the peer invalidated the slot: this node must rejoin). lag_seconds is how long ago the peer
-- committed the oldest change not applied here yet, as far as this node can tell: 0 when
-- everything received is applied, else the age of the last commit or heartbeat applied.
-- peer_clock_ahead_seconds: how far ahead of this node's clock the peer's commit times and
-- heartbeats were seen in the last minute (0 while within a second): last update wins trusts clocks.
CREATE VIEW pgactive.pgactive_links AS
SELECT n.node_name AS peer_name,
       n.node_sysid AS peer_sysid, n.node_timeline AS peer_timeline, n.node_dboid AS peer_dboid,
       CASE WHEN pgactive.pgactive_is_apply_paused() AND n.node_status = 'r' THEN 'paused'
            WHEN ls.state IS NULL THEN 'connecting'
            WHEN ls.state = 'streaming' AND ls.processed_lsn < ls.received_lsn THEN 'catching up'
            ELSE ls.state END AS state,
       ls.state_since,
       coalesce(pg_catalog.pg_wal_lsn_diff(ls.received_lsn, ls.processed_lsn), 0)::bigint AS lag_bytes,
       CASE WHEN ls.processed_lsn >= ls.received_lsn THEN 0
            ELSE extract(epoch FROM pg_catalog.now() - greatest(st.last_commit_time, st.caught_up_at)) END
           AS lag_seconds,
       st.last_commit_time AS last_applied_commit_time,
       ls.last_error, ls.last_error_time, coalesce(ls.retries, 0) AS retries,
       pgactive._peer_retained_wal(n) AS peer_retained_wal,
       coalesce(ls.peer_clock_ahead_ms, 0) / 1000.0 AS peer_clock_ahead_seconds
  FROM pgactive.pgactive_nodes n
  JOIN pgactive.pgactive_get_local_nodeid() l
    ON (n.node_sysid, n.node_timeline, n.node_dboid) <> (l.sysid, l.timeline, l.dboid)
  LEFT JOIN pgactive.pgactive_link_status ls
    ON ls.riremoteid = pgactive.pgactive_format_replident_name(n.node_sysid, n.node_timeline, n.node_dboid, l.dboid, '')
  LEFT JOIN pgactive.pgactive_apply_stats st ON st.riremoteid = ls.riremoteid
 WHERE n.node_status <> 'k';

--------------------------------------------------------------------------------------------------
-- Waiting for the local node
--------------------------------------------------------------------------------------------------

CREATE FUNCTION pgactive.pgactive_wait_for_node_ready(
    timeout integer DEFAULT 0,
    progress_interval integer DEFAULT 60
) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    started timestamptz := clock_timestamp();
    last_notice timestamptz := clock_timestamp();
    no_worker_since timestamptz;
    local_node pgactive.pgactive_nodes;
    state pgactive.pgactive_local_state;
    worker_error text;
BEGIN
    IF timeout IS NULL OR timeout < 0 THEN
        RAISE EXCEPTION '''timeout'' parameter must be >= 0 (0 waits forever)'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF progress_interval IS NULL OR progress_interval <= 0 THEN
        RAISE EXCEPTION '''progress_interval'' parameter must be > 0'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Every statement below must see what the worker committed since the previous one.
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'can only wait for the node in an ISOLATION LEVEL READ COMMITTED transaction, not %',
            upper(current_setting('transaction_isolation'))
            USING ERRCODE = 'active_sql_transaction';
    END IF;

    LOOP
        SELECT * INTO state FROM pgactive.pgactive_local_state;
        local_node := pgactive._local_node();
        -- A failed create or join leaves no node behind, only its error.
        IF local_node.node_sysid IS NULL AND state.last_error IS NULL THEN
            local_node := pgactive._require_local_node();
        END IF;
        IF local_node.node_status = 'r' THEN
            -- Ready, unless a link was lost for good since (its slot invalidated upstream).
            IF state.last_error IS NOT NULL THEN
                RAISE EXCEPTION '%', state.last_error
                    USING ERRCODE = 'object_not_in_prerequisite_state',
                          HINT = 'Detach this node from another node, run pgactive.pgactive_remove() here, and join again.';
            END IF;
            IF NOT pgactive._remaking_own_slots() THEN
                RETURN;
            END IF;
            state.progress := 'the server was promoted or restored: making the slots the other nodes stream from again';
        END IF;
        IF local_node.node_status = 'k' THEN
            RAISE EXCEPTION 'node "%" has been detached from its group', local_node.node_name
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;

        IF state.last_error IS NOT NULL THEN
            RAISE EXCEPTION '%', state.last_error
                USING ERRCODE = 'connection_exception',
                      HINT = format('Fix the problem and call pgactive.pgactive_%s_group() again.',
                                    state.operation);
        END IF;

        -- A worker that cannot even start (missing java, unreadable jar) leaves its reason here.
        IF pgactive._worker_pid() IS NULL THEN
            no_worker_since := coalesce(no_worker_since, clock_timestamp());
            worker_error := pgactive._worker_last_error();
            IF worker_error IS NOT NULL AND clock_timestamp() - no_worker_since > interval '2 seconds' THEN
                RAISE EXCEPTION 'the pgactive worker is not running: %', worker_error
                    USING ERRCODE = 'object_not_in_prerequisite_state',
                          HINT = 'Fix pgactive.java_path / pgactive.worker_jar and reload the configuration.';
            END IF;
        ELSE
            no_worker_since := NULL;
        END IF;

        IF timeout > 0 AND clock_timestamp() - started >= make_interval(secs => timeout) THEN
            RAISE EXCEPTION 'node "%" cannot reach ready state within % seconds, current state is %',
                    local_node.node_name, timeout,
                    pgactive.pgactive_node_status_from_char(local_node.node_status)
                USING ERRCODE = 'query_canceled';
        END IF;
        IF clock_timestamp() - last_notice >= make_interval(secs => progress_interval) THEN
            RAISE NOTICE 'node "%" is in state %: %', local_node.node_name,
                pgactive.pgactive_node_status_from_char(local_node.node_status),
                coalesce(state.progress, 'waiting for the pgactive worker');
            last_notice := clock_timestamp();
        END IF;
        PERFORM pg_sleep(0.1);
    END LOOP;
END;
$$;

--------------------------------------------------------------------------------------------------
-- Leaving
--------------------------------------------------------------------------------------------------

-- The group's member named so (not detached); an error naming it otherwise.
CREATE FUNCTION pgactive._require_node(name text) RETURNS pgactive.pgactive_nodes
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
DECLARE
    found_node pgactive.pgactive_nodes;
BEGIN
    SELECT * INTO found_node FROM pgactive.pgactive_nodes n WHERE n.node_name = name AND n.node_status <> 'k';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no node named "%" in the group', name
            USING ERRCODE = 'undefined_object',
                  HINT = 'pgactive.pgactive_nodes lists the nodes by node_name.';
    END IF;
    RETURN found_node;
END;
$$;

-- Moving a node: its DSN changes group-wide (the update replicates), and every node's link from it
-- reconnects with the new one, from where it stopped.
CREATE FUNCTION pgactive.pgactive_update_node_conninfo(node_name_to_update text, node_dsn_to_update text)
    RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    target pgactive.pgactive_nodes;
    reached text;
BEGIN
    PERFORM pgactive._check_not_null(node_name_to_update, 'node_name_to_update', 'pgactive_update_node_conninfo');
    PERFORM pgactive._check_not_null(node_dsn_to_update, 'node_dsn_to_update', 'pgactive_update_node_conninfo');
    PERFORM pgactive._require_local_node();
    target := pgactive._require_node(node_name_to_update);
    reached := pgactive._node_reached(node_dsn_to_update, 'node_dsn_to_update');
    IF reached <> format('(sysid %s, timeline %s, dboid %s)', target.node_sysid, target.node_timeline, target.node_dboid) THEN
        RAISE EXCEPTION 'node_dsn_to_update reaches database %, not node "%"', reached, node_name_to_update
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    UPDATE pgactive.pgactive_nodes SET node_dsn = node_dsn_to_update
     WHERE (node_sysid, node_timeline, node_dboid) = (target.node_sysid, target.node_timeline, target.node_dboid);
    UPDATE pgactive.pgactive_connections SET conn_dsn = node_dsn_to_update
     WHERE (conn_sysid, conn_timeline, conn_dboid) = (target.node_sysid, target.node_timeline, target.node_dboid);
    PERFORM pg_notify('pgactive', 'nodes');
END;
$$;

-- Whether this node's server was promoted or restored (a new timeline) and the worker has not
-- yet made the slots its peers stream from again (OwnSlots.java): until then, a write committed
-- here would never reach them.
CREATE FUNCTION pgactive._remaking_own_slots() RETURNS boolean
    LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    SELECT coalesce((SELECT NOT pg_is_in_recovery() AND i.last_timeline <> pgactive._server_timeline()
                       FROM pgactive.pgactive_node_identifier i), false)
$$;

-- Why user writes are refused here, as the hint of the error, or NULL: asked by
-- launcher/pgactive_guard.c, as a superuser, once per writing transaction, so PL/pgSQL, whose
-- plan a session keeps (a SQL function's would be planned again by every transaction).
CREATE FUNCTION pgactive._writes_refused() RETURNS text
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
DECLARE
    read_only boolean;
    remaking boolean;
BEGIN
    -- One query, _remaking_own_slots() spelt out: this runs for every writing transaction.
    SELECT n.node_read_only,
           n.node_status = 'r' AND NOT pg_is_in_recovery() AND i.last_timeline <> pgactive._server_timeline()
      INTO read_only, remaking
      FROM pgactive.pgactive_nodes n
      JOIN pgactive.pgactive_get_local_nodeid() l
        ON (n.node_sysid, n.node_timeline, n.node_dboid) = (l.sysid, l.timeline, l.dboid)
      LEFT JOIN pgactive.pgactive_node_identifier i ON true
     WHERE n.node_status <> 'k';
    IF read_only THEN
        RETURN 'Write on another node, or make this one writable with '
               'pgactive.pgactive_set_node_read_only(<node name>, false).';
    END IF;
    IF remaking THEN
        RETURN 'The server of this node was promoted or restored: it takes writes once the pgactive worker has '
               'made the slots from which the other nodes stream its changes again; '
               'pgactive.pgactive_wait_for_node_ready() waits for it.';
    END IF;
    RETURN NULL;
END;
$$;

-- A read-only node refuses user sessions' writes and DDL (launcher/pgactive_guard.c) and still
-- applies its peers' changes. The flag replicates: set it from any node.
CREATE FUNCTION pgactive.pgactive_set_node_read_only(node_name text, read_only boolean) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    PERFORM pgactive._check_not_null(node_name, 'node_name', 'pgactive_set_node_read_only');
    PERFORM pgactive._check_not_null(read_only, 'read_only', 'pgactive_set_node_read_only');
    PERFORM pgactive._require_node(node_name);
    UPDATE pgactive.pgactive_nodes n SET node_read_only = read_only
     WHERE n.node_name = pgactive_set_node_read_only.node_name AND n.node_status <> 'k';
END;
$$;

-- Detaching: the group gives a node up for good (it is down, or being decommissioned). Its
-- status becomes 'k' here and, through replication, on every node; each node's worker then stops
-- its link from it and forgets its slot and origin (_forget_detached_nodes), so that it holds no
-- WAL anywhere. A detached node that comes back finds its slots gone and learns it was detached.
CREATE FUNCTION pgactive.pgactive_detach_nodes(p_nodes text[]) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    local_node pgactive.pgactive_nodes;
BEGIN
    PERFORM pgactive._check_not_null(p_nodes, 'p_nodes', 'pgactive_detach_nodes');
    local_node := pgactive._require_local_node();
    IF local_node.node_status <> 'r' THEN
        RAISE EXCEPTION 'node "%" is not ready (status %); detach nodes from a ready node of the group',
                local_node.node_name, pgactive.pgactive_node_status_from_char(local_node.node_status)
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    -- Detaching a node twice is harmless: it is no longer among the members.
    PERFORM pgactive._require_node(name) FROM unnest(p_nodes) AS name
      WHERE NOT EXISTS (SELECT 1 FROM pgactive.pgactive_nodes n WHERE n.node_name = name AND n.node_status = 'k');
    UPDATE pgactive.pgactive_nodes SET node_status = 'k'
     WHERE node_name = ANY (p_nodes) AND node_status <> 'k';
    PERFORM pgactive._wake_worker();
    PERFORM pg_notify('pgactive', 'nodes');
END;
$$;

-- Run by the worker once its links from detached nodes have stopped: their slots here (a
-- walsender still streaming to one is ended) and their origins go. Returns what it dropped.
CREATE FUNCTION pgactive._forget_detached_nodes() RETURNS integer
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    gone record;
    dropped integer := 0;
BEGIN
    FOR gone IN
        SELECT pgactive.pgactive_format_slot_name(n.node_sysid, n.node_timeline, n.node_dboid, l.dboid, '') AS slot,
               pgactive.pgactive_format_replident_name(n.node_sysid, n.node_timeline, n.node_dboid, l.dboid, '') AS origin
          FROM pgactive.pgactive_nodes n, pgactive.pgactive_get_local_nodeid() l
         WHERE n.node_status = 'k'
           AND (n.node_sysid, n.node_timeline, n.node_dboid) <> (l.sysid, l.timeline, l.dboid)
    LOOP
        dropped := dropped + pgactive._drop_slot(gone.slot);
        DELETE FROM pgactive.pgactive_link_status WHERE riremoteid = gone.origin;
        IF EXISTS (SELECT 1 FROM pg_replication_origin WHERE roname = gone.origin) THEN
            PERFORM pg_replication_origin_drop(gone.origin);
            dropped := dropped + 1;
        END IF;
    END LOOP;
    RETURN dropped;
END;
$$;

-- Drops a slot of this database, first ending the walsender that streams from it (within 10 s):
-- 1 if it existed.
CREATE FUNCTION pgactive._drop_slot(slot text) RETURNS integer
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    deadline timestamptz := clock_timestamp() + interval '10 seconds';
BEGIN
    LOOP
        PERFORM pg_terminate_backend(s.active_pid)
           FROM pg_replication_slots s WHERE s.slot_name = slot AND s.active_pid IS NOT NULL;
        IF NOT EXISTS (SELECT 1 FROM pg_replication_slots s WHERE s.slot_name = slot) THEN
            RETURN 0;
        END IF;
        IF EXISTS (SELECT 1 FROM pg_replication_slots s WHERE s.slot_name = slot AND NOT s.active) THEN
            PERFORM pg_drop_replication_slot(slot);
            RETURN 1;
        END IF;
        IF clock_timestamp() > deadline THEN
            RAISE EXCEPTION 'replication slot "%" is still in use', slot
                USING ERRCODE = 'object_in_use';
        END IF;
        PERFORM pg_sleep(0.05);
    END LOOP;
END;
$$;

CREATE FUNCTION pgactive.pgactive_remove(force boolean DEFAULT false) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    local_node pgactive.pgactive_nodes;
    live_peers integer;
    origin text;
BEGIN
    PERFORM pgactive._check_not_null(force, 'force', 'pgactive_remove');
    local_node := pgactive._local_node();
    LOCK TABLE pgactive.pgactive_nodes, pgactive.pgactive_connections IN EXCLUSIVE MODE;
    SELECT count(*) INTO live_peers
      FROM pgactive.pgactive_nodes n
     WHERE n.node_status NOT IN ('k')
       AND (n.node_sysid, n.node_timeline, n.node_dboid)
           IS DISTINCT FROM (local_node.node_sysid, local_node.node_timeline, local_node.node_dboid);
    IF NOT force AND live_peers > 0 AND local_node.node_status IS DISTINCT FROM 'k' THEN
        RAISE EXCEPTION 'this pgactive node might still be active, not removing'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Detach it with pgactive.pgactive_detach_nodes() from another node first, or use force := true.';
    END IF;
    -- Slots from which peers stream from us, their walsenders ended. Origins of links no
    -- worker runs (a detached node's worker may have stopped before it started them); the
    -- worker drops those still in use once it has stopped their links.
    PERFORM pgactive._drop_slot(s.slot_name)
       FROM pg_replication_slots s, pgactive.pgactive_get_local_nodeid() l
      WHERE s.slot_name LIKE format('pgactive\_%s\_%%', l.dboid) AND s.database = current_database();
    FOR origin IN SELECT o.roname FROM pg_replication_origin o, pgactive.pgactive_get_local_nodeid() l
                   WHERE o.roname LIKE format('pgactive\_%%\_%s\_', l.dboid) LOOP
        BEGIN
            PERFORM pg_replication_origin_drop(origin);
        EXCEPTION WHEN object_in_use THEN
            NULL;
        END;
    END LOOP;
    PERFORM pgactive._drop_publications();
    PERFORM pgactive._drop_tombstone_triggers();
    DELETE FROM pgactive.pgactive_tombstones;
    DELETE FROM pgactive.pgactive_connections;
    DELETE FROM pgactive.pgactive_nodes;
    DELETE FROM pgactive.pgactive_local_state;
    DELETE FROM pgactive.pgactive_link_status;
    -- A plain database again: should it join a group later, it does so as a new node.
    DELETE FROM pgactive.pgactive_node_identifier;
    PERFORM pgactive._wake_worker();
    PERFORM pg_notify('pgactive', 'removed');
END;
$$;

--------------------------------------------------------------------------------------------------
-- Global sequences: snowflake ids
--------------------------------------------------------------------------------------------------

-- Node-unique, time-ordered 64-bit ids, upstream's layout: 40 bits of milliseconds since
-- 2016-10-06 23:22:19.634 UTC, 10 bits of the node's node_seq_id, 14 bits of a counter. The
-- state is an ordinary local sequence holding "milliseconds, then counter" (50 + 14 bits): the
-- next value is one more than the last, or the clock if that is ahead. So ids of one node only
-- grow, a clock that steps back borrows from the future instead of repeating, more than 16,384
-- ids in a millisecond carry into the next, and a restart goes on from the sequence (WAL-logged
-- before any row that holds an id can commit).
CREATE FUNCTION pgactive._sequence_advance(seq regclass, floor bigint) RETURNS bigint
    LANGUAGE c VOLATILE STRICT AS 'MODULE_PATHNAME', 'pgactive_sequence_advance';

-- This node's node_seq_id, for roles that may not read pgactive_nodes.
CREATE FUNCTION pgactive._local_node_seq_id() RETURNS integer
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT n.node_seq_id::integer
      FROM pgactive.pgactive_nodes n, pgactive.pgactive_get_local_nodeid() l
     WHERE (n.node_sysid, n.node_timeline, n.node_dboid) = (l.sysid, l.timeline, l.dboid)
$$;

-- The next id of seq for the clock reading "at". Any role with USAGE and UPDATE on the sequence
-- may call it: a time in the past changes nothing, one in the future only moves the caller's own
-- sequence ahead, as setval could.
CREATE FUNCTION pgactive._snowflake_id(seq regclass, at timestamptz) RETURNS bigint
    LANGUAGE plpgsql VOLATILE STRICT SET search_path = pg_catalog AS $$
DECLARE
    node integer := pgactive._local_node_seq_id();
    state bigint;
BEGIN
    IF node IS NULL THEN
        RAISE EXCEPTION 'node sequence ID not allocated'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'This database is not a pgactive node, or its join has not registered it yet.';
    END IF;
    IF node > 1023 THEN
        RAISE EXCEPTION 'node_seq_id % does not fit the 10 bits of a snowflake id', node
            USING ERRCODE = 'numeric_value_out_of_range';
    END IF;
    state := pgactive._sequence_advance(seq,
        ((extract(epoch FROM at) * 1000)::bigint - 1475796139634) << 14);
    IF state < 0 OR state >= (1::bigint << 54) THEN
        RAISE EXCEPTION 'sequence % is out of the range of snowflake ids', seq
            USING ERRCODE = 'numeric_value_out_of_range';
    END IF;
    RETURN ((state >> 14) << 24) | (node::bigint << 14) | (state & 16383);
END;
$$;

CREATE FUNCTION pgactive.pgactive_snowflake_id_nextval(seq regclass) RETURNS bigint
    LANGUAGE sql VOLATILE STRICT SET search_path = pg_catalog AS $$
    SELECT pgactive._snowflake_id(seq, clock_timestamp())
$$;

-- Makes a serial, bigserial or identity column take snowflake ids, on this node (DDL is not
-- replicated: run it on every node, or through pgactive_replicate_ddl_command). Rows it already
-- has keep their keys, which are far below any snowflake id.
CREATE FUNCTION pgactive.pgactive_snowflake_id_convert_column(p_relation regclass, p_column name) RETURNS regclass
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    col record;
    seq regclass;
    seq_name text;
BEGIN
    SELECT a.atttypid, a.attidentity INTO col
      FROM pg_attribute a
     WHERE a.attrelid = p_relation AND a.attname = p_column AND a.attnum > 0 AND NOT a.attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column "%" of relation % does not exist', p_column, p_relation
            USING ERRCODE = 'undefined_column';
    END IF;
    IF col.atttypid <> 'bigint'::regtype THEN
        RAISE EXCEPTION 'column "%" of relation % is %, snowflake ids need bigint', p_column, p_relation,
                        format_type(col.atttypid, NULL)
            USING ERRCODE = 'datatype_mismatch',
                  HINT = format('ALTER TABLE %s ALTER COLUMN %I TYPE bigint; on every node first.', p_relation, p_column);
    END IF;
    seq := pg_get_serial_sequence(p_relation::text, p_column)::regclass;
    IF seq IS NULL THEN
        RAISE EXCEPTION 'column "%" of relation % takes no values from a sequence', p_column, p_relation
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Give it a bigint sequence of its own and a default of pgactive.pgactive_snowflake_id_nextval(''that_sequence'').';
    END IF;
    IF col.attidentity <> '' THEN
        -- DROP IDENTITY drops the column's sequence: a plain one of the same name replaces it.
        seq_name := seq::text;
        PERFORM pgactive._execute_ddl_uncaptured(format('ALTER TABLE %s ALTER COLUMN %I DROP IDENTITY', p_relation, p_column));
        PERFORM pgactive._execute_ddl_uncaptured(format('CREATE SEQUENCE %s AS bigint', seq_name));
        PERFORM pgactive._execute_ddl_uncaptured(format('ALTER SEQUENCE %s OWNER TO %I', seq_name,
                       (SELECT c.relowner::regrole::text FROM pg_class c WHERE c.oid = p_relation)));
        PERFORM pgactive._execute_ddl_uncaptured(format('ALTER SEQUENCE %s OWNED BY %s.%I', seq_name, p_relation, p_column));
        seq := seq_name::regclass;
    ELSE
        PERFORM pgactive._execute_ddl_uncaptured(format('ALTER SEQUENCE %s AS bigint INCREMENT 1 CACHE 1 NO MAXVALUE', seq));
    END IF;
    PERFORM pgactive._execute_ddl_uncaptured(format(
        'ALTER TABLE %s ALTER COLUMN %I SET DEFAULT pgactive.pgactive_snowflake_id_nextval(%L::regclass)',
        p_relation, p_column, seq::text));
    RETURN seq;
END;
$$;

--------------------------------------------------------------------------------------------------
-- Replication sets
--------------------------------------------------------------------------------------------------

-- The sets of each table, by name (oids differ between nodes). It replicates, so every node
-- knows every table's sets. A table without a row is in set 'default'; every table is in 'all'.
CREATE TABLE pgactive.pgactive_table_replication_sets (
    table_schema name NOT NULL,
    table_name name NOT NULL,
    sets text[] NOT NULL,
    PRIMARY KEY (table_schema, table_name)
);

-- A table's sets, 'all' included; a partition's are its partitioned table's.
CREATE FUNCTION pgactive._table_sets(rel regclass) RETURNS text[]
    LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    SELECT coalesce((SELECT s.sets
                       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                       JOIN pgactive.pgactive_table_replication_sets s
                         ON (s.table_schema, s.table_name) = (n.nspname, c.relname)
                      WHERE c.oid = coalesce(pg_partition_root(rel), rel)),
                    '{default}') || '{all}'::text[]
$$;

-- What this node sends to a node that streams the replication sets "sets" (NULL or none: all):
-- the tables in any of them, with the kinds of change any of those sets sends
-- (pgactive_replication_set_config; a set without a row there sends every kind).
-- With the rows and columns they send (pgactive_replication_set_filters): the rows any of those
-- sets sends (filters joined by OR; a set without one sends every row) and the columns any sends.
CREATE FUNCTION pgactive._tables_for_sets(sets text[])
    RETURNS TABLE (rel regclass, inserts boolean, updates boolean, deletes boolean, row_filter text,
                   column_list text[])
    LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    WITH member AS (
        SELECT t AS rel, m.set_name, c.replicate_inserts, c.replicate_updates, c.replicate_deletes,
               f.row_filter, f.column_list
          FROM pgactive._user_tables() t
          CROSS JOIN LATERAL unnest(pgactive._table_sets(t)) AS m(set_name)
          JOIN pg_class r ON r.oid = coalesce(pg_partition_root(t), t)
          JOIN pg_namespace n ON n.oid = r.relnamespace
          LEFT JOIN pgactive.pgactive_replication_set_config c ON c.set_name = m.set_name
          LEFT JOIN pgactive.pgactive_replication_set_filters f
            ON f.set_name = m.set_name AND (f.table_schema, f.table_name) = (n.nspname, r.relname)
         WHERE m.set_name = ANY (CASE WHEN coalesce(cardinality(sets), 0) = 0 THEN '{all}'::text[] ELSE sets END))
    SELECT rel, bool_or(coalesce(replicate_inserts, true)), bool_or(coalesce(replicate_updates, true)),
           bool_or(coalesce(replicate_deletes, true)),
           CASE WHEN bool_and(row_filter IS NOT NULL)
                THEN string_agg('(' || row_filter || ')', ' OR ' ORDER BY set_name) END,
           CASE WHEN bool_and(column_list IS NOT NULL)
                THEN ARRAY(SELECT DISTINCT x FROM member o, unnest(o.column_list) x WHERE o.rel = member.rel ORDER BY x) END
      FROM member
     GROUP BY rel
$$;

-- Beyond upstream: the rows (a WHERE expression over the table's columns) and the columns a set
-- sends of one of its tables. It replicates, as tables' sets do.
CREATE TABLE pgactive.pgactive_replication_set_filters (
    set_name text NOT NULL,
    table_schema name NOT NULL,
    table_name name NOT NULL,
    row_filter text,
    column_list text[],
    PRIMARY KEY (set_name, table_schema, table_name)
);

CREATE FUNCTION pgactive._column_list_sql(column_list text[]) RETURNS text
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $$
    SELECT CASE WHEN column_list IS NULL THEN ''
                ELSE ' (' || (SELECT string_agg(quote_ident(c), ', ') FROM unnest(column_list) c) || ')' END
$$;

-- PostgreSQL refuses UPDATE and DELETE on a table whose publication filters rows by columns
-- outside its replica identity, or leaves some of them out of its column list: the application's
-- writes would fail on every node. Tried on a publication made and rolled back here, with an
-- UPDATE and a DELETE of no row, so the server's own rule answers, in its own words.
CREATE FUNCTION pgactive._check_filter(rel regclass, row_filter text, column_list text[]) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    some_column name := coalesce((pgactive._identity_columns(rel))[1],
                                 (SELECT a.attname FROM pg_attribute a
                                   WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped
                                   ORDER BY a.attnum LIMIT 1));
BEGIN
    BEGIN
        EXECUTE format('CREATE PUBLICATION pgactive_filter_check FOR TABLE ONLY %s%s%s', rel,
                       pgactive._column_list_sql(column_list),
                       CASE WHEN row_filter IS NOT NULL THEN ' WHERE (' || row_filter || ')' ELSE '' END);
        EXECUTE format('UPDATE ONLY %s SET %I = %I WHERE false', rel, some_column, some_column);
        EXECUTE format('DELETE FROM ONLY %s WHERE false', rel);
        RAISE EXCEPTION USING ERRCODE = 'PA002', MESSAGE = 'the filter passes'; -- undoes the publication
    EXCEPTION WHEN SQLSTATE 'PA002' THEN
        NULL;
    END;
END;
$$;

-- Which rows and columns set p_set sends of p_relation; both NULL: all of them.
CREATE FUNCTION pgactive.pgactive_set_replication_set_filter(p_set text, p_relation regclass,
                                                             p_row_filter text DEFAULT NULL,
                                                             p_columns text[] DEFAULT NULL) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    nsp name;
    tbl name;
BEGIN
    PERFORM pgactive._check_not_null(p_set, 'p_set', 'pgactive_set_replication_set_filter');
    PERFORM pgactive._check_not_null(p_relation, 'p_relation', 'pgactive_set_replication_set_filter');
    PERFORM pgactive._check_set_names(ARRAY[p_set]);
    IF p_relation NOT IN (SELECT pgactive._user_tables()) THEN
        RAISE EXCEPTION 'relation % is not a table pgactive replicates', p_relation
            USING ERRCODE = 'wrong_object_type';
    END IF;
    PERFORM pgactive._check_filter(p_relation, p_row_filter, p_columns);
    SELECT n.nspname, c.relname INTO nsp, tbl
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = p_relation;
    IF p_row_filter IS NULL AND p_columns IS NULL THEN
        DELETE FROM pgactive.pgactive_replication_set_filters
         WHERE (set_name, table_schema, table_name) = (p_set, nsp, tbl);
    ELSE
        INSERT INTO pgactive.pgactive_replication_set_filters VALUES (p_set, nsp, tbl, p_row_filter, p_columns)
        ON CONFLICT (set_name, table_schema, table_name)
        DO UPDATE SET row_filter = excluded.row_filter, column_list = excluded.column_list;
    END IF;
END;
$$;

-- This node's publication of one kind of change ('i', 'u' or 'd') for a receiving node: the
-- receiver's slot name and the kind. One per kind, so that each table sends only the kinds of
-- change its sets send (PostgreSQL sends what any publication of a table publishes).
CREATE FUNCTION pgactive._receiver_publication(sysid text, timeline oid, dboid oid, kind text) RETURNS name
    LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    SELECT (pgactive.pgactive_format_slot_name($1, $2, $3, l.dboid, '') || $4)::name
      FROM pgactive.pgactive_get_local_nodeid() l -- whose columns are named as the arguments
$$;

-- Makes this node's publications for a receiving node hold what its sets ask for. Called before
-- the receiver's slot is made here (a stream must never decode a change from before its
-- publications existed), and again whenever sets, set configuration, nodes or tables change. A
-- table joins and leaves a publication in a transaction of its own, and the stream decodes each
-- change with the publication as it was then: a change made while a table was in a set is sent.
-- only_tables: just these tables changed (NULL: any may have).
CREATE FUNCTION pgactive._sync_receiver_publications(sysid text, timeline oid, dboid oid, sets text[],
                                                     only_tables oid[] DEFAULT NULL)
    RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    kind record;
    pub name;
    change record;
BEGIN
    FOR kind IN SELECT * FROM (VALUES ('i', 'insert'), ('u', 'update'), ('d', 'delete, truncate')) v(suffix, publish)
    LOOP
        pub := pgactive._receiver_publication(sysid, timeline, dboid, kind.suffix);
        -- Sessions may do this at once (apply, DDL, a join): what another did first is done.
        -- No lock: a DDL command's session holds its table's lock, which another's ALTER
        -- PUBLICATION of that table would wait for.
        IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = pub) THEN
            BEGIN
                EXECUTE format('CREATE PUBLICATION %I WITH (publish = %L)', pub, kind.publish);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;
            END;
        END IF;
        FOR change IN
            WITH wanted AS (SELECT w.rel, w.row_filter, w.column_list FROM pgactive._tables_for_sets(sets) w
                             JOIN pg_class c ON c.oid = w.rel AND c.relkind = 'r'
                            WHERE CASE kind.suffix WHEN 'i' THEN w.inserts WHEN 'u' THEN w.updates ELSE w.deletes END
                              AND (only_tables IS NULL OR w.rel = ANY (only_tables)
                                   OR pg_partition_root(w.rel) = ANY (only_tables))),
                 present AS (SELECT r.prrelid::regclass AS rel, r.prqual IS NOT NULL OR r.prattrs IS NOT NULL AS narrowed
                               FROM pg_publication_rel r
                               JOIN pg_publication p ON p.oid = r.prpubid
                              WHERE p.pubname = pub AND (only_tables IS NULL OR r.prrelid = ANY (only_tables)
                                                         OR pg_partition_root(r.prrelid) = ANY (only_tables)))
            -- A table whose rows or columns are narrowed is dropped and added again (in this
            -- one transaction) rather than its narrowing compared: PostgreSQL prints it its own way.
            SELECT 1 AS step, p.rel, 'DROP' AS op, NULL::text AS row_filter, NULL::text[] AS column_list
              FROM present p LEFT JOIN wanted w ON w.rel = p.rel
             WHERE w.rel IS NULL OR p.narrowed OR w.row_filter IS NOT NULL OR w.column_list IS NOT NULL
            UNION ALL
            SELECT 2, w.rel, 'ADD', w.row_filter, w.column_list
              FROM wanted w LEFT JOIN present p ON p.rel = w.rel
             WHERE p.rel IS NULL OR p.narrowed OR w.row_filter IS NOT NULL OR w.column_list IS NOT NULL
             ORDER BY 1
        LOOP
            BEGIN
                EXECUTE format('ALTER PUBLICATION %I %s TABLE ONLY %s%s%s', pub, change.op, change.rel,
                               pgactive._column_list_sql(change.column_list),
                               CASE WHEN change.row_filter IS NOT NULL THEN ' WHERE (' || change.row_filter || ')' ELSE '' END);
            EXCEPTION WHEN duplicate_object OR undefined_object THEN
                NULL;
            END;
        END LOOP;
    END LOOP;
END;
$$;

-- Every other live node's publications here (for only_tables, or all); those of nodes gone, dropped.
CREATE FUNCTION pgactive._sync_publications(only_tables oid[] DEFAULT NULL) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    receiver record;
    gone name;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pgactive._local_node()) THEN
        RETURN;
    END IF;
    FOR receiver IN
        SELECT c.conn_sysid, c.conn_timeline, c.conn_dboid, c.conn_replication_sets
          FROM pgactive.pgactive_connections c
          JOIN pgactive.pgactive_nodes n
            ON (n.node_sysid, n.node_timeline, n.node_dboid) = (c.conn_sysid, c.conn_timeline, c.conn_dboid)
         CROSS JOIN pgactive.pgactive_get_local_nodeid() l
         WHERE n.node_status <> 'k' AND (c.conn_sysid, c.conn_timeline, c.conn_dboid) <> (l.sysid, l.timeline, l.dboid)
    LOOP
        PERFORM pgactive._sync_receiver_publications(receiver.conn_sysid, receiver.conn_timeline,
                                                     receiver.conn_dboid, receiver.conn_replication_sets, only_tables);
    END LOOP;
    -- Only of nodes known to be gone: a joining node's publications exist here before its
    -- registration does (its join makes them with its slot), and must not go in between.
    FOR gone IN
        SELECT p.pubname FROM pg_publication p
          JOIN pgactive.pgactive_nodes n ON n.node_status = 'k'
           AND p.pubname IN (SELECT pgactive._receiver_publication(n.node_sysid, n.node_timeline, n.node_dboid, k)
                               FROM unnest('{i,u,d}'::text[]) k)
    LOOP
        EXECUTE format('DROP PUBLICATION %I', gone);
    END LOOP;
END;
$$;

-- For a receiver about to get a slot here: its publications, from the sets it streams (NULL:
-- as its pgactive_connections row here says; a joining node passes its own, not here yet).
CREATE FUNCTION pgactive._prepare_receiver(sysid text, timeline oid, dboid oid, sets text[]) RETURNS void
    LANGUAGE sql SET search_path = pg_catalog AS $$
    SELECT pgactive._sync_receiver_publications(sysid, timeline, dboid,
        coalesce(sets, (SELECT c.conn_replication_sets FROM pgactive.pgactive_connections c
                         WHERE (c.conn_sysid, c.conn_timeline, c.conn_dboid) = (sysid, timeline, dboid))))
$$;

-- Nothing to do with a node's publications is left when it stops being a node.
CREATE FUNCTION pgactive._drop_publications() RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    pub name;
BEGIN
    FOR pub IN SELECT p.pubname FROM pg_publication p, pgactive.pgactive_get_local_nodeid() l
                WHERE p.pubname = 'pgactive' OR p.pubname LIKE format('pgactive\_%s\_%%', l.dboid)
    LOOP
        EXECUTE format('DROP PUBLICATION %I', pub);
    END LOOP;
END;
$$;

CREATE FUNCTION pgactive._sync_publications_after_change() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pgactive, pg_temp AS $$
BEGIN
    PERFORM pgactive._sync_publications();
    RETURN NULL;
END;
$$;

-- Only for the tables the command made or altered: a join's restore makes every table one by one.
CREATE FUNCTION pgactive._sync_publications_after_ddl() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pgactive, pg_temp AS $$
DECLARE
    changed oid[];
BEGIN
    SELECT array_agg(DISTINCT c.objid) INTO changed FROM pg_event_trigger_ddl_commands() c
     WHERE c.object_type = 'table' AND c.objid IN (SELECT pgactive._user_tables());
    IF changed IS NOT NULL THEN
        PERFORM pgactive._sync_publications(changed);
    END IF;
END;
$$;

-- ALWAYS: changes that apply makes (replicated sets, nodes, DDL) count as much as local ones.
DO $$
DECLARE
    catalog_table text;
BEGIN
    FOREACH catalog_table IN ARRAY ARRAY['pgactive_table_replication_sets', 'pgactive_replication_set_config',
                                         'pgactive_replication_set_filters',
                                         'pgactive_connections', 'pgactive_nodes'] LOOP
        EXECUTE format('CREATE TRIGGER pgactive_sync_publications AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE'
                       ' ON pgactive.%I FOR EACH STATEMENT EXECUTE FUNCTION pgactive._sync_publications_after_change()',
                       catalog_table);
        EXECUTE format('ALTER TABLE pgactive.%I ENABLE ALWAYS TRIGGER pgactive_sync_publications', catalog_table);
    END LOOP;
END;
$$;

CREATE EVENT TRIGGER pgactive_sync_publications ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO', 'ALTER TABLE')
    EXECUTE FUNCTION pgactive._sync_publications_after_ddl();
ALTER EVENT TRIGGER pgactive_sync_publications ENABLE ALWAYS;

CREATE FUNCTION pgactive._check_set_names(sets text[]) RETURNS void
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog AS $$
DECLARE
    bad text;
BEGIN
    SELECT s INTO bad FROM unnest(sets) s WHERE s IS NULL OR s !~ '^[a-z0-9_-]+$' OR s = 'all' LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'invalid replication set name "%"', bad
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Set names are made of a-z, 0-9, _ and -; "all" holds every table already.';
    END IF;
END;
$$;

CREATE FUNCTION pgactive.pgactive_get_table_replication_sets(relation regclass) RETURNS text[]
    LANGUAGE sql STABLE STRICT SET search_path = pg_catalog AS $$
    SELECT pgactive._table_sets(relation)
$$;

-- p_sets NULL puts the table back in 'default'; an empty array, in no set but 'all'.
CREATE FUNCTION pgactive.pgactive_set_table_replication_sets(p_relation regclass, p_sets text[]) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    nsp name;
    rel name;
BEGIN
    PERFORM pgactive._check_not_null(p_relation, 'p_relation', 'pgactive_set_table_replication_sets');
    IF p_relation NOT IN (SELECT pgactive._user_tables()) THEN
        RAISE EXCEPTION 'relation % is not a table pgactive replicates', p_relation
            USING ERRCODE = 'wrong_object_type';
    END IF;
    PERFORM pgactive._check_set_names(p_sets);
    SELECT n.nspname, c.relname INTO nsp, rel
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = p_relation;
    IF p_sets IS NULL THEN
        DELETE FROM pgactive.pgactive_table_replication_sets WHERE (table_schema, table_name) = (nsp, rel);
    ELSE
        INSERT INTO pgactive.pgactive_table_replication_sets (table_schema, table_name, sets)
        VALUES (nsp, rel, ARRAY(SELECT DISTINCT s FROM unnest(p_sets) s ORDER BY s))
        ON CONFLICT (table_schema, table_name) DO UPDATE SET sets = excluded.sets;
    END IF;
END;
$$;

-- Upstream's pair, as a table's membership of 'default': exclude keeps it on each node
-- (unless a node streams 'all'), include replicates it again.
CREATE FUNCTION pgactive.pgactive_exclude_table_replication_set(p_relation regclass) RETURNS void
    LANGUAGE sql SET search_path = pg_catalog AS $$
    SELECT pgactive.pgactive_set_table_replication_sets(p_relation, '{}')
$$;

CREATE FUNCTION pgactive.pgactive_include_table_replication_set(p_relation regclass) RETURNS void
    LANGUAGE sql SET search_path = pg_catalog AS $$
    SELECT pgactive.pgactive_set_table_replication_sets(p_relation, NULL)
$$;

CREATE FUNCTION pgactive.pgactive_get_replication_set_tables(r_sets text[]) RETURNS SETOF text
    LANGUAGE sql STABLE STRICT SET search_path = pg_catalog AS $$
    SELECT t::text FROM pgactive._user_tables() t WHERE pgactive._table_sets(t) && r_sets ORDER BY 1
$$;

CREATE FUNCTION pgactive.pgactive_get_connection_replication_sets(target_node_name text) RETURNS text[]
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
DECLARE
    sets text[];
BEGIN
    SELECT c.conn_replication_sets INTO sets
      FROM pgactive.pgactive_nodes n
      JOIN pgactive.pgactive_connections c
        ON (c.conn_sysid, c.conn_timeline, c.conn_dboid) = (n.node_sysid, n.node_timeline, n.node_dboid)
     WHERE n.node_name = target_node_name AND n.node_status <> 'k';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'node "%" does not exist', target_node_name USING ERRCODE = 'undefined_object';
    END IF;
    RETURN sets;
END;
$$;

-- The sets a node receives: every node sends it what they hold, from the moment it learns of it.
CREATE FUNCTION pgactive.pgactive_set_connection_replication_sets(replication_sets text[], target_node_name text)
    RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    PERFORM pgactive._check_not_null(replication_sets, 'replication_sets', 'pgactive_set_connection_replication_sets');
    PERFORM pgactive._check_set_names(array_remove(replication_sets, 'all'));
    PERFORM pgactive.pgactive_get_connection_replication_sets(target_node_name); -- it exists
    UPDATE pgactive.pgactive_connections c SET conn_replication_sets = replication_sets
      FROM pgactive.pgactive_nodes n
     WHERE (c.conn_sysid, c.conn_timeline, c.conn_dboid) = (n.node_sysid, n.node_timeline, n.node_dboid)
       AND n.node_name = target_node_name AND n.node_status <> 'k';
END;
$$;

--------------------------------------------------------------------------------------------------
-- Everything is superuser-only, as upstream.
--------------------------------------------------------------------------------------------------

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA pgactive FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA pgactive FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA pgactive FROM PUBLIC;
-- Except what inserts of application roles call (upstream leaves its snowflake function to PUBLIC
-- too); each needs the caller's own rights on the sequence.
GRANT EXECUTE ON FUNCTION pgactive.pgactive_snowflake_id_nextval(regclass), pgactive._snowflake_id(regclass, timestamptz),
    pgactive._sequence_advance(regclass, bigint), pgactive._local_node_seq_id() TO PUBLIC;
-- It checks the caller may run pgactive_replicate_ddl_command itself.
GRANT EXECUTE ON FUNCTION pgactive._execute_ddl_uncaptured(text) TO PUBLIC;
