package io.pgactive.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgactive.harness.ClusterExtension;
import io.pgactive.harness.PgCluster;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** CREATE/DROP EXTENSION, the catalog's shape, and privileges. */
class ExtensionInstallTest {

    @RegisterExtension
    static final ClusterExtension clusters = new ClusterExtension();

    private static PgCluster node;

    @BeforeAll
    static void start() {
        node = clusters.newCluster("ext");
    }

    @Test
    void createsCatalogWithUpstreamColumns() {
        Pgactive.createDatabaseWithExtension(node, "catalog");
        assertEquals(List.of("node_sysid", "node_timeline", "node_dboid", "node_status", "node_name", "node_dsn",
                        "node_init_from_dsn", "node_read_only", "node_seq_id"),
                columns("pgactive_nodes"));
        assertEquals(List.of("conn_sysid", "conn_timeline", "conn_dboid", "conn_dsn", "conn_apply_delay",
                        "conn_replication_sets"),
                columns("pgactive_connections"));
        assertEquals(List.of("conflict_id", "local_node_sysid", "local_conflict_xid", "local_conflict_lsn",
                        "local_conflict_time", "object_schema", "object_name", "remote_node_sysid", "remote_txid",
                        "remote_commit_time", "remote_commit_lsn", "conflict_type", "conflict_resolution",
                        "local_tuple", "remote_tuple", "local_tuple_xmin", "local_tuple_origin_sysid",
                        "error_message", "error_sqlstate", "error_querystring", "error_cursorpos", "error_detail",
                        "error_hint", "error_context", "error_columnname", "error_typename",
                        "error_constraintname", "error_filename", "error_lineno", "error_funcname",
                        "remote_node_timeline", "remote_node_dboid", "local_tuple_origin_timeline",
                        "local_tuple_origin_dboid", "local_commit_time",
                        "conflict_reason"), // ours, after upstream's
                columns("pgactive_conflict_history"));
        // Upstream's columns, then ours: table oids differ between nodes, names do not.
        assertEquals(List.of("ch_name", "ch_type", "ch_reloid", "ch_fun", "ch_timeframe", "ch_relname"),
                columns("pgactive_conflict_handlers"));
        assertEquals(List.of("set_name", "replicate_inserts", "replicate_updates", "replicate_deletes"),
                columns("pgactive_replication_set_config"));
        assertEquals("insert_insert,insert_update,update_update,update_delete,delete_delete,unhandled_tx_abort",
                node.queryString("catalog",
                        "SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum"
                        + " WHERE enumtypid = 'pgactive.pgactive_conflict_type'::regtype"));
    }

    @Test
    void identityAndVersionFunctions() {
        Pgactive.createDatabaseWithExtension(node, "ident");
        assertEquals("0.1.0", node.queryString("ident", "SELECT pgactive.pgactive_version()"));
        assertEquals(100, node.queryLong("ident", "SELECT pgactive.pgactive_version_num()"));
        assertNull(node.queryString("ident", "SELECT pgactive.pgactive_get_local_node_name()"));
        assertEquals("f", node.queryString("ident", "SELECT pgactive.pgactive_is_active_in_db()"));
        // Until it creates or joins a group, a database has no identifier of its own: its server's stands in.
        assertNull(node.queryString("ident", "SELECT pgactive.pgactive_get_node_identifier()::text"));
        assertEquals(node.queryString("ident", "SELECT system_identifier::text FROM pg_control_system()"),
                node.queryString("ident", "SELECT sysid FROM pgactive.pgactive_get_local_nodeid()"));
        assertEquals(node.queryString("ident", "SELECT oid::text FROM pg_database WHERE datname = 'ident'"),
                node.queryString("ident", "SELECT dboid::text FROM pgactive.pgactive_get_local_nodeid()"));
    }

    @Test
    void everythingIsSuperuserOnlyButSnowflakeIds() {
        Pgactive.createDatabaseWithExtension(node, "privs");
        node.execute("privs", "CREATE ROLE app_user LOGIN");
        // what inserts call for snowflake ids, as upstream, and what checks its caller itself (docs/security.md)
        assertEquals("_execute_ddl_uncaptured,_local_node_seq_id,_sequence_advance,_snowflake_id,pgactive_snowflake_id_nextval",
                node.queryString("privs", "SELECT string_agg(proname, ',' ORDER BY proname) FROM pg_proc"
                + " WHERE pronamespace = 'pgactive'::regnamespace AND has_function_privilege('app_user', oid, 'EXECUTE')"));
        assertTrue(node.queryLong("privs",
                "SELECT count(*) FROM pg_proc WHERE pronamespace = 'pgactive'::regnamespace") > 10);
        assertEquals(0, node.queryLong("privs",
                "SELECT count(*) FROM pg_class WHERE relnamespace = 'pgactive'::regnamespace"
                + " AND relkind IN ('r', 'v', 'S')"
                + " AND (has_table_privilege('app_user', oid, 'SELECT')"
                + "   OR has_table_privilege('app_user', oid, 'INSERT'))"));
        node.execute("privs", "DROP ROLE app_user");
    }

    @Test
    void dropExtensionWorksOutsideAGroupAndAfterRemove() {
        Pgactive.createDatabaseWithExtension(node, "dropme");
        assertEquals("pgactive", node.queryString("dropme",
                "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pgactive'"), "what \\dx shows");
        node.execute("dropme", "DROP EXTENSION pgactive");
        // The schema named in the control file stays, empty, as PostgreSQL leaves such schemas.
        assertEquals(0, node.queryLong("dropme", "SELECT (SELECT count(*) FROM pg_class WHERE relnamespace = 'pgactive'::regnamespace)"
                + " + (SELECT count(*) FROM pg_proc WHERE pronamespace = 'pgactive'::regnamespace)"
                + " + (SELECT count(*) FROM pg_type WHERE typnamespace = 'pgactive'::regnamespace)"));

        node.execute("dropme", "CREATE EXTENSION pgactive");
        Pgactive.createGroup(node, "dropme", "solo");
        Pgactive.waitReady(node, "dropme");
        node.execute("dropme", "SELECT pgactive.pgactive_remove()");
        assertFalse(Boolean.parseBoolean(node.queryString("dropme", "SELECT pgactive.pgactive_is_active_in_db()")));
        node.execute("dropme", "DROP EXTENSION pgactive");
        assertEquals(0, node.queryLong("dropme",
                "SELECT count(*) FROM pg_extension WHERE extname = 'pgactive'"));
    }

    private static List<String> columns(String table) {
        return node.queryColumn("catalog",
                "SELECT attname FROM pg_attribute WHERE attrelid = 'pgactive." + table + "'::regclass"
                + " AND attnum > 0 AND NOT attisdropped ORDER BY attnum");
    }
}
