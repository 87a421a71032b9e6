package io.pgactive.it;

import io.pgactive.harness.Await;
import io.pgactive.harness.ClusterExtension;
import io.pgactive.harness.PgCluster;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A remote change that arrives while a local transaction on the same row is still in progress
 * waits for its row lock, and must then be judged against what that transaction did. A remote
 * INSERT must not bring back a row a newer local DELETE removed, although the insert's first
 * look at the tombstones came before the delete committed (found by {@code ConvergenceTest}'s
 * random writers as a row only one node kept). A remote UPDATE must lose to a newer local
 * UPDATE it waited for (found by {@code JoinedNodeConflictTest} as a row one node overwrote
 * without a conflict).
 */
class ConcurrentDeleteTest {

    private static final String DB = "app";

    @RegisterExtension
    static final ClusterExtension clusters = new ClusterExtension();

    private static PgCluster node1;
    private static PgCluster node2;

    @BeforeAll
    static void buildGroup() {
        node1 = clusters.newCluster("node1");
        node2 = clusters.newCluster("node2");
        node1.createDatabase(DB);
        node1.execute(DB, "CREATE TABLE kv (k int PRIMARY KEY, v text)");
        Pgactive.formGroup(DB, node1, node2);
    }

    @Test
    void insertThatWaitedForANewerLocalDeleteDoesNotBringTheRowBack() throws Exception {
        insertWhileDeleting(1, "INSERT INTO kv VALUES (1, 'from node1')");
    }

    /** The same in a transaction too big to be held and compiled: the careful path's batched inserts. */
    @Test
    void bigTransactionThatWaitedForANewerLocalDeleteDoesNotBringTheRowBack() throws Exception {
        insertWhileDeleting(2, "INSERT INTO kv SELECT k, 'from node1' FROM generate_series(1000, 1199) k"
                + " UNION ALL SELECT 2, 'from node1' ORDER BY 1 DESC");
    }

    /** The same in the first full batch of a bigger one, which the link sends while it reads the rest. */
    @Test
    void fullBatchThatWaitedForANewerLocalDeleteDoesNotBringTheRowBack() throws Exception {
        insertWhileDeleting(3, "INSERT INTO kv SELECT k, 'from node1' FROM generate_series(2000, 4499) k"
                + " UNION ALL SELECT 3, 'from node1' ORDER BY 1");
    }

    @Test
    void updateThatWaitedForANewerLocalUpdateLosesToIt() throws Exception {
        int k = 10;
        node2.execute(DB, "INSERT INTO kv VALUES (" + k + ", 'base')");
        node2.execute(DB, "UPDATE kv SET v = 'local, older' WHERE k = " + k); // a local write: contested
        Pgactive.awaitEverywhere(DB, "SELECT v FROM kv WHERE k = " + k, "local, older", node1, node2);
        try (Connection writer = node2.connect(DB); Statement st = writer.createStatement()) {
            writer.setAutoCommit(false);
            st.execute("UPDATE kv SET v = 'local, newer' WHERE k = " + k);
            node1.execute(DB, "UPDATE kv SET v = 'remote' WHERE k = " + k);
            Await.until(Duration.ofSeconds(30), "node2's apply waiting for the local update's row lock",
                    () -> node2.queryLong(DB, "SELECT count(*) FROM pg_stat_activity"
                            + " WHERE application_name LIKE 'pgactive:%:apply' AND wait_event_type = 'Lock'") == 1);
            writer.commit(); // after node1's update: the newer write
        }
        Pgactive.awaitEverywhere(DB, "SELECT v FROM kv WHERE k = " + k, "local, newer", node1, node2);
    }

    private static void insertWhileDeleting(int k, String node1Insert) throws Exception {
        node1.execute(DB, "SELECT pgactive.pgactive_apply_pause()"); // node1 must not see node2's row
        node2.execute(DB, "INSERT INTO kv VALUES (" + k + ", 'from node2')");
        try (Connection deleter = node2.connect(DB); Statement st = deleter.createStatement()) {
            deleter.setAutoCommit(false);
            st.execute("DELETE FROM kv WHERE k = " + k);
            // Newer than node2's insert, older than its delete, which commits last.
            node1.execute(DB, node1Insert);
            Await.until(Duration.ofSeconds(30), "node2's apply waiting for the delete's row lock", () -> node2.queryLong(
                    DB, "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'pgactive:%:apply'"
                            + " AND wait_event_type = 'Lock'") == 1);
            deleter.commit();
        }
        node1.execute(DB, "SELECT pgactive.pgactive_apply_resume()");

        // The delete is the last write: no node keeps the row.
        Pgactive.awaitEverywhere(DB, "SELECT count(*) FROM kv WHERE k = " + k, "0", node1, node2);
        Pgactive.awaitEverywhere(DB, "SELECT count(*) FROM pgactive.pgactive_conflict_history"
                + " WHERE conflict_type = 'update_delete' AND conflict_resolution = 'skip_change'"
                + " AND remote_tuple ->> 'k' = '" + k + "' AND remote_tuple ->> 'v' = 'from node1'", "1", node2);
    }
}
