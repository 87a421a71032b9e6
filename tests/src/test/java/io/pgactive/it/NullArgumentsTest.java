package io.pgactive.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgactive.harness.ClusterExtension;
import io.pgactive.harness.PgCluster;
import io.pgactive.harness.SqlFailedException;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Every argument of every administrative function, given NULL: an error naming the argument
 * (never a skipped check, as {@code force := NULL} once was), and nothing changed.
 */
class NullArgumentsTest {

    private static final String NODE = "app";
    private static final String FRESH = "fresh";

    @RegisterExtension
    static final ClusterExtension clusters = new ClusterExtension();

    private static final String HANDLER = "h(t,t,text,regclass,pgactive.pgactive_conflict_type)";

    private static PgCluster server;

    @BeforeAll
    static void start() {
        server = clusters.newCluster("server");
        server.createDatabase(NODE);
        server.execute(NODE, "CREATE TABLE t (id int PRIMARY KEY); CREATE EXTENSION pgactive;"
                + " CREATE FUNCTION h(t, t, text, regclass, pgactive.pgactive_conflict_type,"
                + "   OUT t, OUT pgactive.pgactive_conflict_handler_action)"
                + " LANGUAGE sql AS 'SELECT $1, ''ROW''::pgactive.pgactive_conflict_handler_action'");
        Pgactive.createGroup(server, NODE, "only");
        Pgactive.waitReady(server, NODE);
        Pgactive.createDatabaseWithExtension(server, FRESH);
    }

    @Test
    void nullArgumentsAreRefusedByName() {
        String dsn = "'" + server.dsn(NODE) + "'";
        record Call(String db, String argument, String sql) {
        }
        List<Call> calls = List.of(
                new Call(FRESH, "node_name", "pgactive_create_group(NULL, " + dsn + ")"),
                new Call(FRESH, "node_dsn", "pgactive_create_group('n', NULL)"),
                new Call(FRESH, "replication_sets", "pgactive_create_group('n', " + dsn + ", replication_sets := NULL)"),
                new Call(FRESH, "node_name", "pgactive_join_group(NULL, " + dsn + ", " + dsn + ")"),
                new Call(FRESH, "node_dsn", "pgactive_join_group('n', NULL, " + dsn + ")"),
                new Call(FRESH, "join_using_dsn", "pgactive_join_group('n', " + dsn + ", NULL)"),
                new Call(FRESH, "replication_sets", "pgactive_join_group('n', " + dsn + ", " + dsn + ", replication_sets := NULL)"),
                new Call(FRESH, "bypass_collation_check",
                        "pgactive_join_group('n', " + dsn + ", " + dsn + ", bypass_collation_check := NULL)"),
                new Call(FRESH, "bypass_node_identifier_creation",
                        "pgactive_join_group('n', " + dsn + ", " + dsn + ", bypass_node_identifier_creation := NULL)"),
                new Call(FRESH, "bypass_user_tables_check",
                        "pgactive_join_group('n', " + dsn + ", " + dsn + ", bypass_user_tables_check := NULL)"),
                new Call(NODE, "force", "pgactive_remove(force := NULL)"),
                new Call(NODE, "timeout", "pgactive_wait_for_node_ready(timeout := NULL)"),
                new Call(NODE, "progress_interval", "pgactive_wait_for_node_ready(progress_interval := NULL)"),
                new Call(NODE, "ch_rel", "pgactive_create_conflict_handler(NULL, 'x', '" + HANDLER + "', 'update_update')"),
                new Call(NODE, "ch_name", "pgactive_create_conflict_handler('t', NULL, '" + HANDLER + "', 'update_update')"),
                new Call(NODE, "ch_proc", "pgactive_create_conflict_handler('t', 'x', NULL, 'update_update')"),
                new Call(NODE, "ch_type", "pgactive_create_conflict_handler('t', 'x', '" + HANDLER + "', NULL)"),
                new Call(NODE, "p_nodes", "pgactive_detach_nodes(NULL)"),
                new Call(NODE, "nobody", "pgactive_detach_nodes(ARRAY['nobody'])"),
                new Call(NODE, "node_name_to_update", "pgactive_update_node_conninfo(NULL, " + dsn + ")"),
                new Call(NODE, "node_dsn_to_update", "pgactive_update_node_conninfo('only', NULL)"),
                new Call(NODE, "node_name", "pgactive_set_node_read_only(NULL, true)"),
                new Call(NODE, "read_only", "pgactive_set_node_read_only('only', NULL)"),
                new Call(NODE, "ch_rel", "pgactive_drop_conflict_handler(NULL, 'x')"),
                new Call(NODE, "ch_name", "pgactive_drop_conflict_handler('t', NULL)"));
        for (Call call : calls) {
            SqlFailedException error = assertThrows(SqlFailedException.class,
                    () -> server.execute(call.db(), "SELECT pgactive." + call.sql()), call.sql());
            assertTrue(error.getMessage().contains("\"" + call.argument() + "\"")
                            || error.getMessage().contains("'" + call.argument() + "'"),
                    call.sql() + " names " + call.argument() + ": " + error.getMessage());
        }
        assertEquals("r", Pgactive.nodeStatus(server, NODE), "the node is untouched");
        assertEquals(0, server.queryLong(NODE, "SELECT count(*) FROM pgactive.pgactive_conflict_handlers"));
        assertEquals(0, server.queryLong(FRESH, "SELECT count(*) FROM pgactive.pgactive_nodes"));
        assertEquals(0, server.queryLong(FRESH, "SELECT count(*) FROM pg_publication"));
    }
}
