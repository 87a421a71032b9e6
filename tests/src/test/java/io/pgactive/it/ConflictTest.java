package io.pgactive.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgactive.harness.Await;
import io.pgactive.harness.ClusterExtension;
import io.pgactive.harness.PgCluster;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Concurrent writes to the same rows on two nodes. Both nodes apply each other's changes one
 * second late (apply_delay), so writes made within that second really are concurrent.
 */
class ConflictTest {

    private static final String DB = "app";
    private static final int DELAY_MS = 1500;

    @RegisterExtension
    static final ClusterExtension clusters = new ClusterExtension();

    private static final String APP = PgCluster.APP_ROLE;

    private static PgCluster node1;
    private static PgCluster node2;

    @BeforeAll
    static void buildGroup() {
        node1 = clusters.newCluster("node1");
        node2 = clusters.newCluster("node2");
        node1.createDatabase(DB);
        // The application role writes, as applications do; only administration runs as superuser.
        node1.execute(DB, "GRANT CREATE ON SCHEMA public TO " + APP);
        node1.executeAs(APP, DB, "CREATE TABLE kv (k int PRIMARY KEY, v text, writer text)");
        Pgactive.formDelayedGroup(DB, DELAY_MS, node1, node2);
    }

    @Test
    void insertInsertKeepsTheLaterRowEverywhere() {
        node1.executeAs(APP, DB, "INSERT INTO kv VALUES (1, 'first', 'node1')");
        node2.executeAs(APP, DB, "INSERT INTO kv VALUES (1, 'second', 'node2')");
        converge("SELECT v || '/' || writer FROM kv WHERE k = 1", "second/node2");
        assertHistory(1, "insert_insert", "last_update_wins_keep_local", "last_update_wins_keep_remote");
    }

    /** Rows inserted many per transaction are applied as a batch; one existing key must not lose the others. */
    @Test
    void insertInsertInsideAManyRowTransactionKeepsTheOtherRows() {
        node1.executeAs(APP, DB, "INSERT INTO kv VALUES (250, 'first', 'node1')");
        node2.executeAs(APP, DB, "INSERT INTO kv SELECT g, 'batch', 'node2' FROM generate_series(101, 400) g");
        converge("SELECT count(*) || '/' || min(v) || '/' || max(writer) FROM kv WHERE k BETWEEN 101 AND 400",
                "300/batch/node2");
        assertHistory(250, "insert_insert", "last_update_wins_keep_local", "last_update_wins_keep_remote");
    }

    @Test
    void updateUpdateKeepsTheLaterUpdateEverywhere() {
        node1.executeAs(APP, DB, "INSERT INTO kv VALUES (2, 'start', 'node1')");
        converge("SELECT v FROM kv WHERE k = 2", "start");
        node2.executeAs(APP, DB, "UPDATE kv SET v = 'early', writer = 'node2' WHERE k = 2");
        node1.executeAs(APP, DB, "UPDATE kv SET v = 'late', writer = 'node1' WHERE k = 2");
        converge("SELECT v || '/' || writer FROM kv WHERE k = 2", "late/node1");
        assertHistory(2, "update_update", "last_update_wins_keep_local", "last_update_wins_keep_remote");
    }

    @Test
    void updateNewerThanAConcurrentDeleteWinsEverywhere() {
        node1.executeAs(APP, DB, "INSERT INTO kv VALUES (3, 'doomed', 'node1')");
        converge("SELECT v FROM kv WHERE k = 3", "doomed");
        node1.executeAs(APP, DB, "DELETE FROM kv WHERE k = 3");
        node2.executeAs(APP, DB, "UPDATE kv SET v = 'saved' WHERE k = 3");
        // node1 finds the row gone, but its tombstone is older than the update: the row comes back.
        converge("SELECT v FROM kv WHERE k = 3", "saved");
        for (PgCluster node : List.of(node1, node2)) {
            Await.until(Duration.ofSeconds(20), "update_delete in " + node.name() + "'s history", () -> node.queryLong(DB,
                    "SELECT count(*) FROM pgactive.pgactive_conflict_history WHERE conflict_type = 'update_delete'"
                    + " AND remote_tuple->>'k' = '3'") == 1);
        }
    }

    @Test
    void deleteNewerThanAConcurrentUpdateWinsEverywhere() {
        node1.executeAs(APP, DB, "INSERT INTO kv VALUES (6, 'old', 'node1')");
        converge("SELECT v FROM kv WHERE k = 6", "old");
        node2.executeAs(APP, DB, "UPDATE kv SET v = 'updated' WHERE k = 6");
        node1.executeAs(APP, DB, "DELETE FROM kv WHERE k = 6");
        converge("SELECT count(*) FROM kv WHERE k = 6", "0");
    }

    @Test
    void deleteDeleteIsSkippedAndLogged() {
        node1.executeAs(APP, DB, "INSERT INTO kv VALUES (4, 'twice', 'node1')");
        converge("SELECT v FROM kv WHERE k = 4", "twice");
        node1.executeAs(APP, DB, "DELETE FROM kv WHERE k = 4");
        node2.executeAs(APP, DB, "DELETE FROM kv WHERE k = 4");
        converge("SELECT count(*) FROM kv WHERE k = 4", "0");
        for (PgCluster node : List.of(node1, node2)) {
            Await.until(Duration.ofSeconds(20), "delete_delete in " + node.name() + "'s history", () -> node.queryLong(DB,
                    "SELECT count(*) FROM pgactive.pgactive_conflict_history WHERE conflict_type = 'delete_delete'"
                    + " AND conflict_resolution = 'skip_change' AND remote_tuple->>'k' = '4'") == 1);
        }
    }

    @Test
    void changesFromTheSameOriginAreNotConflicts() {
        node1.executeAs(APP, DB, "INSERT INTO kv VALUES (5, 'a', 'node1')");
        node1.executeAs(APP, DB, "UPDATE kv SET v = 'b' WHERE k = 5");
        node1.executeAs(APP, DB, "UPDATE kv SET v = 'c' WHERE k = 5");
        converge("SELECT v FROM kv WHERE k = 5", "c");
        assertEquals(0, node2.queryLong(DB, "SELECT count(*) FROM pgactive.pgactive_conflict_history"
                + " WHERE remote_tuple->>'k' = '5'"));
    }

    private static void converge(String sql, String expected) {
        Pgactive.awaitEverywhere(DB, sql, expected, node1, node2);
    }

    /** One node kept its row, the other took the remote one; both recorded it, with tuples. */
    private static void assertHistory(int key, String type, String... resolutions) {
        String query = "SELECT string_agg(conflict_resolution::text, ',') FROM pgactive.pgactive_conflict_history"
                + " WHERE conflict_type = '" + type + "' AND remote_tuple->>'k' = '" + key + "'";
        Await.until(Duration.ofSeconds(20), type + " in both histories",
                () -> node1.queryString(DB, query) != null && node2.queryString(DB, query) != null);
        List<String> seen = List.of(node1.queryString(DB, query), node2.queryString(DB, query));
        assertTrue(seen.containsAll(List.of(resolutions)), "resolutions " + seen);
        String details = node2.queryString(DB, "SELECT object_schema || '.' || object_name || ' ' || (local_tuple IS NOT NULL)"
                + " || ' ' || (remote_node_sysid <> local_node_sysid) FROM pgactive.pgactive_conflict_history"
                + " WHERE conflict_type = '" + type + "' AND remote_tuple->>'k' = '" + key + "'");
        assertEquals("public.kv true true", details);
    }
}
