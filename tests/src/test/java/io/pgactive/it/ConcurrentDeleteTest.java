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
        updateWhileUpdatingLocally(k);
    }

    /**
     * The same for a row last written by node1: node1's next change to it is uncontested, and the
     * compiled statement finds and changes it in one go. Its check must be made again on the row
     * version it waited for, which the local update wrote.
     */
    @Test
    void uncontestedUpdateThatWaitedForANewerLocalUpdateLosesToIt() throws Exception {
        int k = 11;
        node1.execute(DB, "INSERT INTO kv VALUES (" + k + ", 'from node1')");
        Pgactive.awaitEverywhere(DB, "SELECT v FROM kv WHERE k = " + k, "from node1", node1, node2);
        updateWhileUpdatingLocally(k);
    }

    /** node1 updates row {@code k} while a local update on node2 is in progress and commits later. */
    private static void updateWhileUpdatingLocally(int k) throws Exception {
        try (Connection writer = node2.connect(DB); Statement st = writer.createStatement()) {
            writer.setAutoCommit(false);
            st.execute("UPDATE kv SET v = 'local, newer' WHERE k = " + k);
            node1.execute(DB, "UPDATE kv SET v = 'remote' WHERE k = " + k);
            awaitApplyWaitingForALock("waiting for the local update's row lock");
            writer.commit(); // after node1's update: the newer write
        }
        Pgactive.awaitEverywhere(DB, "SELECT v FROM kv WHERE k = " + k, "local, newer", node1, node2);
    }

    /**
     * A full batch goes by COPY when none of its keys is visible. A local insert of one of them
     * still in progress makes the COPY wait for it and then fail, and the link restart. The
     * restarted link must not use COPY for that transaction again: here a second local insert in
     * progress, of a key in the transaction's second batch, would make it fail once more (and a
     * writer that keeps doing so, every time).
     */
    @Test
    void copyThatLostARaceWithALocalInsertIsNotRetriedByCopy() throws Exception {
        long disconnectsBefore = node2.queryLong(DB, "SELECT coalesce(sum(nr_disconnect), 0) FROM pgactive.pgactive_stats");
        try (Connection first = node2.connect(DB); Statement firstSt = first.createStatement();
             Connection second = node2.connect(DB); Statement secondSt = second.createStatement()) {
            first.setAutoCommit(false);
            second.setAutoCommit(false);
            firstSt.execute("INSERT INTO kv VALUES (5500, 'from node2')");
            secondSt.execute("INSERT INTO kv VALUES (6500, 'from node2')");
            // Two full batches, 5000-5999 and 6000-6999: older than both local inserts
            node1.execute(DB, "INSERT INTO kv SELECT k, 'from node1' FROM generate_series(5000, 6999) k");
            long failing = awaitApplyWaitingForALock("the first batch's COPY waiting for the local insert of 5500");
            first.commit(); // the COPY fails on 5500; the link restarts, in a new session
            // In the new session: the failed one may still show as waiting a moment.
            awaitApplyWaitingForALock("the second batch waiting for the local insert of 6500", failing);
            second.commit();
        }
        Pgactive.awaitEverywhere(DB, "SELECT count(*) FROM kv WHERE k BETWEEN 5000 AND 6999", "2000", node1, node2);
        // The local inserts committed last: they win everywhere.
        Pgactive.awaitEverywhere(DB, "SELECT string_agg(v, ',' ORDER BY k) FROM kv WHERE k IN (5500, 6500)",
                "from node2,from node2", node1, node2);
        // Statistics reach the table a moment after what they count: wait for the one failure,
        // then make sure no second one follows.
        String disconnects = "SELECT coalesce(sum(nr_disconnect), 0) FROM pgactive.pgactive_stats";
        Await.untilEquals(Duration.ofSeconds(30), "node2's stats to count the link's failure", disconnectsBefore + 1,
                () -> node2.queryLong(DB, disconnects));
        Await.holdsFor(Duration.ofSeconds(3), "the link failed once (the first COPY), not again on the second batch",
                () -> node2.queryLong(DB, disconnects) == disconnectsBefore + 1);
    }

    private static long awaitApplyWaitingForALock(String what) {
        return awaitApplyWaitingForALock(what, 0);
    }

    /**
     * Waits until node2's apply, in a backend other than {@code notPid}, waits for a lock held by
     * a local transaction, and returns the backend's pid. (A backend that stopped waiting a
     * moment ago may still show as waiting.)
     */
    private static long awaitApplyWaitingForALock(String what, long notPid) {
        long[] pid = new long[1];
        Await.until(Duration.ofSeconds(30), "node2's apply " + what, () -> {
            pid[0] = node2.queryLong(DB, "SELECT coalesce(max(pid), 0) FROM pg_stat_activity"
                    + " WHERE application_name LIKE 'pgactive:%:apply' AND wait_event_type = 'Lock' AND pid <> " + notPid);
            return pid[0] != 0;
        });
        return pid[0];
    }

    private static void insertWhileDeleting(int k, String node1Insert) throws Exception {
        Pgactive.pauseApply(node1, DB, node2); // node1 must not see node2's row (the pause takes effect asynchronously)
        node2.execute(DB, "INSERT INTO kv VALUES (" + k + ", 'from node2')");
        try (Connection deleter = node2.connect(DB); Statement st = deleter.createStatement()) {
            deleter.setAutoCommit(false);
            st.execute("DELETE FROM kv WHERE k = " + k);
            // Newer than node2's insert, older than its delete, which commits last.
            node1.execute(DB, node1Insert);
            awaitApplyWaitingForALock("waiting for the delete's row lock");
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
