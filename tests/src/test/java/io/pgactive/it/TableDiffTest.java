package io.pgactive.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgactive.harness.Await;
import io.pgactive.harness.ClusterExtension;
import io.pgactive.harness.PgCluster;
import io.pgactive.harness.SqlFailedException;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Do the nodes agree? A divergence made on purpose (local writes kept out of replication by a
 * replication origin set up in the session) is found, exactly, while writers keep writing to the
 * same table on two other nodes; repaired from the node that is right, it is gone everywhere.
 */
class TableDiffTest {

    private static final String DB = "app";
    private static final Duration SOON = Duration.ofSeconds(30);

    @RegisterExtension
    static final ClusterExtension clusters = new ClusterExtension();

    /** Runs {@code sql} on {@code node} without replicating it: its changes carry another origin. */
    private static void notReplicated(PgCluster node, String sql) {
        node.execute(DB, "SELECT pg_replication_origin_create('diverge') WHERE NOT EXISTS"
                + " (SELECT FROM pg_replication_origin WHERE roname = 'diverge');"
                + " SELECT pg_replication_origin_session_setup('diverge'); " + sql
                + "; SELECT pg_replication_origin_session_reset()");
    }

    @Test
    void aDivergenceIsFoundExactlyWhileWritesGoOnAndRepaired() throws Exception {
        PgCluster node1 = clusters.newCluster("diff1");
        PgCluster node2 = clusters.newCluster("diff2");
        PgCluster node3 = clusters.newCluster("diff3");
        node1.createDatabase(DB);
        node1.execute(DB, "GRANT CREATE ON SCHEMA public TO " + PgCluster.APP_ROLE);
        node1.executeAs(PgCluster.APP_ROLE, DB, "CREATE TABLE events (node text, seq int, PRIMARY KEY (node, seq));"
                + " CREATE TABLE notes (id int PRIMARY KEY, body text, at timestamptz DEFAULT now(), x float8);"
                + " INSERT INTO notes (id, body, x) SELECT g, 'note ' || g, g / 3.0 FROM generate_series(1, 2000) g;"
                + " INSERT INTO events SELECT 'seed', g FROM generate_series(1, 100) g");
        Pgactive.formGroup(DB, node1, node2, node3);
        assertEquals(0, node2.queryLong(DB, "SELECT count(*) FROM pgactive.pgactive_table_diff('notes')"),
                "nodes that agree");

        notReplicated(node3, "DELETE FROM notes WHERE id = 7; UPDATE notes SET body = 'only on diff3' WHERE id = 8;"
                + " INSERT INTO notes (id, body) VALUES (5000, 'a ghost on diff3')");
        notReplicated(node2, "UPDATE notes SET x = -1 WHERE id = 9; DELETE FROM events WHERE node = 'seed' AND seq = 3");

        try (Writers writers = new Writers()) {
            writers.start(node1, DB, List.of());
            writers.start(node2, DB, List.of());
            Await.until(SOON, "writers under way", () -> node3.queryLong(DB, "SELECT count(*) FROM events") > 300);
            assertEquals("{\"id\": 7}|diff3|null,{\"id\": 8}|diff3|only on diff3,{\"id\": 9}|diff2|-1,"
                            + "{\"id\": 5000}|diff1|null,{\"id\": 5000}|diff2|null",
                    node1.queryString(DB, "SELECT string_agg(d.key::text || '|' || d.node_name || '|'"
                            + " || coalesce(CASE WHEN d.key->>'id' = '9' THEN d.row_version->>'x'"
                            + "                  ELSE d.row_version->>'body' END, 'null'), ',' ORDER BY (d.key->>'id')::int, d.node_name)"
                            + " FROM pgactive.pgactive_table_diff('notes') d"
                            + " WHERE (d.key->>'id')::int IN (7, 8, 9, 5000)"
                            + "   AND (d.row_version IS NULL OR d.row_version->>'body' = 'only on diff3'"
                            + "        OR d.row_version->>'x' = '-1')"),
                    "each node's differing version, and nothing else of notes");
            assertEquals(4, node1.queryLong(DB, "SELECT count(DISTINCT key) FROM pgactive.pgactive_table_diff('notes')"));
            // The writers' rows are on their way, not different: only the row deleted on diff2 is.
            assertEquals("{\"seq\": 3, \"node\": \"seed\"}", node3.queryString(DB,
                    "SELECT string_agg(DISTINCT key::text, ',') FROM pgactive.pgactive_table_diff('events')"));

            // diff1 has it right: its versions win everywhere.
            assertEquals(4, node1.queryLong(DB, "SELECT pgactive.pgactive_table_repair('notes')"));
            assertEquals(1, node1.queryLong(DB, "SELECT pgactive.pgactive_table_repair('events')"));
            writers.stopAll();
        }
        for (String table : List.of("notes", "events")) {
            Await.untilEquals(SOON, table + " the same everywhere", 0L,
                    () -> node2.queryLong(DB, "SELECT count(*) FROM pgactive.pgactive_table_diff('" + table + "')"));
        }
        assertEquals("note 8", node3.queryString(DB, "SELECT body FROM notes WHERE id = 8"));
        assertEquals(0, node3.queryLong(DB, "SELECT count(*) FROM notes WHERE id = 5000"));

        node1.execute(DB, "CREATE TABLE keyless (v int)");
        SqlFailedException keyless = assertThrows(SqlFailedException.class,
                () -> node1.execute(DB, "SELECT * FROM pgactive.pgactive_table_diff('keyless')"));
        assertTrue(keyless.getMessage().contains("has no primary key or replica identity index"), keyless.getMessage());
    }
}
