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
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Replication sets: a table in no set a node streams stays on the node where it is written, both
 * ways; a node's connection sets choose what it receives; a set's configuration chooses which
 * kinds of change it sends; a table moved out of its sets and back while writes go on keeps
 * every change made while it was in.
 */
class ReplicationSetsTest {

    private static final String DB = "app";
    private static final Duration SOON = Duration.ofSeconds(60);
    /** Node-local from the start, with a name that breaks SQL built by concatenation. */
    private static final String SESSIONS = "\"Sessions ö\"";

    @RegisterExtension
    static final ClusterExtension clusters = new ClusterExtension();

    private static PgCluster node1;
    private static PgCluster node2;
    private static PgCluster node3;
    private static List<PgCluster> nodes;

    @BeforeAll
    static void buildGroup() {
        node1 = clusters.newCluster("node1");
        node2 = clusters.newCluster("node2");
        node3 = clusters.newCluster("node3");
        nodes = List.of(node1, node2, node3);
        node1.createDatabase(DB);
        node1.execute(DB, "GRANT CREATE ON SCHEMA public TO " + PgCluster.APP_ROLE);
        node1.executeAs(PgCluster.APP_ROLE, DB, "CREATE TABLE events (node text, seq int, PRIMARY KEY (node, seq));"
                + " CREATE TABLE " + SESSIONS + " (node text, seq int, PRIMARY KEY (node, seq));"
                + " INSERT INTO " + SESSIONS + " VALUES ('node1 before the group', 1);"
                + " CREATE TABLE moves (node text, seq int, written_at timestamptz DEFAULT clock_timestamp(),"
                + " PRIMARY KEY (node, seq))");
        node1.execute(DB, "CREATE EXTENSION IF NOT EXISTS pgactive;"
                + " SELECT pgactive.pgactive_exclude_table_replication_set('public." + SESSIONS + "')");
        Pgactive.formGroup(DB, node1, node2, node3);
    }

    @Test
    void aTableInNoSetStaysWhereItIsWrittenBothWays() throws Exception {
        for (PgCluster node : nodes) {
            assertEquals("{all}", node.queryString(DB,
                    "SELECT pgactive.pgactive_get_table_replication_sets('public." + SESSIONS + "')::text"), node.name());
            assertEquals("{default,all}", node.queryString(DB,
                    "SELECT pgactive.pgactive_get_table_replication_sets('events')::text"), node.name());
        }
        assertEquals(0L, node2.queryLong(DB, "SELECT count(*) FROM " + SESSIONS), "the join copies no rows of it");
        try (Writers writers = new Writers()) {
            for (PgCluster node : nodes) {
                writers.start(node, DB, List.of());
            }
            for (PgCluster node : nodes) {
                for (int i = 1; i <= 20; i++) {
                    node.executeAs(PgCluster.APP_ROLE, DB, "INSERT INTO " + SESSIONS + " VALUES ('" + node.name() + "', " + i + ")");
                }
                node.executeAs(PgCluster.APP_ROLE, DB, "UPDATE " + SESSIONS + " SET seq = seq + 100 WHERE seq = 1;"
                        + " DELETE FROM " + SESSIONS + " WHERE seq = 2");
            }
            Await.until(SOON, "every writer to commit 100 rows",
                    () -> writers.all().stream().allMatch(w -> w.committedSeq.get() >= 100));
            writers.stopAll();
            long events = writers.all().stream().mapToLong(w -> w.committedSeq.get()).sum();
            Pgactive.awaitEverywhere(DB, "SELECT count(*) FROM events", Long.toString(events), node1, node2, node3);
        }
        // Replication has caught up (the events are everywhere): the sessions never left their node.
        for (PgCluster node : nodes) {
            String own = node == node1 ? ",node1 before the group:1" : "";
            assertEquals(node.name() + ":19" + own, node.queryString(DB, "SELECT string_agg(node || ':' || count, ',' ORDER BY node)"
                    + " FROM (SELECT node, count(*) FROM " + SESSIONS + " GROUP BY node) s"), node.name());
        }
    }

    @Test
    void connectionSetsAndSetConfigurationChooseWhatGoesWhere() {
        for (PgCluster node : nodes) {
            node.execute(DB, "CREATE TABLE eu_orders (id int PRIMARY KEY, v text); CREATE TABLE audit (id int PRIMARY KEY)");
        }
        node1.execute(DB, "SELECT pgactive.pgactive_set_table_replication_sets('eu_orders', '{eu}');"
                + " INSERT INTO pgactive.pgactive_replication_set_config VALUES ('append_only', true, false, false);"
                + " SELECT pgactive.pgactive_set_table_replication_sets('audit', '{append_only}');"
                + " SELECT pgactive.pgactive_set_connection_replication_sets('{default,eu,append_only}', 'node2')");
        Pgactive.awaitEverywhere(DB, "SELECT pgactive.pgactive_get_connection_replication_sets('node2')::text",
                "{default,eu,append_only}", node1, node2, node3);
        Pgactive.awaitEverywhere(DB, "SELECT pgactive.pgactive_get_replication_set_tables('{eu}')::text",
                "public.eu_orders", node1, node2, node3);
        assertEquals("public.audit", node1.queryString(DB, "SELECT string_agg(t, ',') FROM"
                + " pgactive.pgactive_get_replication_set_tables('{append_only}') t"));

        node3.execute(DB, "INSERT INTO eu_orders VALUES (1, 'from node3'); INSERT INTO audit VALUES (1), (2);"
                + " DELETE FROM audit WHERE id = 1");
        // node2 streams eu and append_only: the order, and the audit rows without their delete
        // (append_only sends inserts only). node1 streams neither.
        node3.execute(DB, "INSERT INTO events VALUES ('marker', 1)"); // after the rest, on the same streams
        Pgactive.awaitEverywhere(DB, "SELECT count(*) FROM events WHERE node = 'marker'", "1", node1, node2);
        String counts = "SELECT (SELECT count(*) FROM eu_orders) || ' ' || (SELECT string_agg(id::text, ',' ORDER BY id) FROM audit)";
        assertEquals("1 1,2", node2.queryString(DB, counts));
        assertEquals("0 ", node1.queryString(DB, counts.replace("(SELECT string_agg", "coalesce((SELECT string_agg")
                .replace("FROM audit)", "FROM audit), '')")));
        assertEquals("1 2", node3.queryString(DB, counts));

        SqlFailedException badName = assertThrows(SqlFailedException.class,
                () -> node1.execute(DB, "SELECT pgactive.pgactive_set_table_replication_sets('audit', '{\"Bad Name\"}')"));
        assertTrue(badName.getMessage().contains("invalid replication set name \"Bad Name\""), badName.getMessage());
    }

    /**
     * Beyond upstream: a set that sends some rows and some columns of a table (node3 gets the
     * EU rows without their secret); an update that moves a row out of the filter removes it
     * there; a filter that would make the application's updates fail is refused.
     */
    @Test
    void rowFiltersAndColumnListsNarrowWhatASetSends() {
        for (PgCluster node : nodes) {
            node.execute(DB, "CREATE TABLE regional (region text, id int, secret text, note text, PRIMARY KEY (region, id));"
                    + " CREATE TABLE loose (id int PRIMARY KEY, region text)");
        }
        SqlFailedException refused = assertThrows(SqlFailedException.class,
                () -> node1.execute(DB, "SELECT pgactive.pgactive_set_replication_set_filter('eu_rows', 'loose', 'region = ''eu''')"));
        assertTrue(refused.getMessage().contains("cannot update table \"loose\""), refused.getMessage());

        node1.execute(DB, "SELECT pgactive.pgactive_set_table_replication_sets('regional', '{eu_rows}');"
                + " SELECT pgactive.pgactive_set_replication_set_filter('eu_rows', 'regional', 'region = ''eu''',"
                + "   '{region,id,note}');"
                + " SELECT pgactive.pgactive_set_connection_replication_sets('{default,eu_rows}', 'node3')");
        Pgactive.awaitEverywhere(DB, "SELECT pgactive.pgactive_get_connection_replication_sets('node3')::text",
                "{default,eu_rows}", node1, node2, node3);
        node1.execute(DB, "INSERT INTO regional VALUES ('eu', 1, 's1', 'a'), ('eu', 2, 's2', 'b'), ('us', 3, 's3', 'c');"
                + " UPDATE regional SET note = 'moved' WHERE id = 2;"
                + " UPDATE regional SET region = 'us' WHERE id = 2");
        node1.execute(DB, "INSERT INTO events VALUES ('regional marker', 1)");
        Pgactive.awaitEverywhere(DB, "SELECT count(*) FROM events WHERE node = 'regional marker'", "1", node2, node3);
        assertEquals("eu:1:null:a", node3.queryString(DB, "SELECT string_agg(region || ':' || id || ':'"
                + " || coalesce(secret, 'null') || ':' || note, ',' ORDER BY id) FROM regional"));
        assertEquals(0L, node2.queryLong(DB, "SELECT count(*) FROM regional"), "node2 streams no set of it");
    }

    /**
     * Out of its sets and back in while every node writes: each row a node wrote while the
     * table was in (its transaction ended before the node took the table out, or began after
     * the node put it back) is on every node; rows written while it was out stay home.
     */
    @Test
    void movingATableOutAndInLosesNoChangeMadeWhileItWasIn() throws Exception {
        {
            for (int round = 1; round <= 30; round++) {
                for (PgCluster node : nodes) {
                    node.executeAs(PgCluster.APP_ROLE, DB, "INSERT INTO moves (node, seq) VALUES ('" + node.name() + "', " + round + ")");
                }
                if (round == 10) {
                    node1.execute(DB, "SELECT pgactive.pgactive_exclude_table_replication_set('moves')");
                    awaitSets("moves", "{all}");
                }
                if (round == 20) {
                    node2.execute(DB, "SELECT pgactive.pgactive_include_table_replication_set('moves')");
                    awaitSets("moves", "{default,all}");
                }
            }
        }
        // A marker from each node after its rows: once it is everywhere, so is all that node sent.
        for (PgCluster node : nodes) {
            node.executeAs(PgCluster.APP_ROLE, DB, "INSERT INTO events VALUES ('moved " + node.name() + "', 1)");
        }
        Pgactive.awaitEverywhere(DB, "SELECT count(*) FROM events WHERE node LIKE 'moved %'", "3", node1, node2, node3);
        // Rounds 1-10 were written while every node had the table in, 11-20 after every node had
        // taken it out, 21-30 after every node had put it back.
        for (PgCluster node : nodes) {
            assertEquals("60 in, " + node.name() + ":10 out", node.queryString(DB,
                    "SELECT count(*) FILTER (WHERE seq <= 10 OR seq > 20) || ' in, '"
                    + " || string_agg(DISTINCT node, ',') FILTER (WHERE seq BETWEEN 11 AND 20) || ':'"
                    + " || count(*) FILTER (WHERE seq BETWEEN 11 AND 20) || ' out' FROM moves"), node.name());
        }
    }

    private static void awaitSets(String table, String sets) {
        Pgactive.awaitEverywhere(DB, "SELECT pgactive.pgactive_get_table_replication_sets('" + table + "')::text", sets,
                node1, node2, node3);
    }
}
