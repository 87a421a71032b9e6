package io.pgactive.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgactive.harness.Await;
import io.pgactive.harness.ClusterExtension;
import io.pgactive.harness.PgCluster;
import io.pgactive.harness.Processes;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 22 item 3: a transaction larger than the upstream's {@code logical_decoding_work_mem}
 * (64 kB here) is streamed while in progress (pgoutput protocol version 2), spooled by the
 * receiver and applied at its commit; aborted subtransactions and transactions leave nothing;
 * a worker killed or a node stopped in the middle of the stream loses and duplicates nothing.
 */
class StreamedTransactionTest {

    private static final String DB = "app";
    private static final Duration SOON = Duration.ofSeconds(90);

    @RegisterExtension
    static final ClusterExtension clusters = new ClusterExtension();

    private static PgCluster node1;
    private static PgCluster node2;

    @BeforeAll
    static void buildGroup() {
        node1 = clusters.builder("node1").setting("logical_decoding_work_mem", "64kB").start();
        node2 = clusters.builder("node2").setting("logical_decoding_work_mem", "64kB").start();
        node1.createDatabase(DB);
        node1.execute(DB, "CREATE SCHEMA s AUTHORIZATION " + PgCluster.APP_ROLE);
        node1.executeAs(PgCluster.APP_ROLE, DB, "CREATE TABLE s.\"Big ö\" (id int PRIMARY KEY, v text NOT NULL)");
        Pgactive.formGroup(DB, node1, node2);
    }

    /** Transactions node1's walsender for node2 has streamed so far. */
    private static long streamedTransactions() {
        return node1.queryLong(DB, "SELECT coalesce(sum(stream_txns), 0) FROM pg_stat_replication_slots");
    }

    private static long streamedBytes() {
        return node1.queryLong(DB, "SELECT coalesce(sum(stream_bytes), 0) FROM pg_stat_replication_slots");
    }

    private static String rowsIn(int from, int to) {
        return "SELECT count(*) FROM s.\"Big ö\" WHERE id BETWEEN " + from + " AND " + to;
    }

    private static void insert(Statement st, int from, int to, String value) throws Exception {
        st.execute("INSERT INTO s.\"Big ö\" SELECT g, '" + value + "' || g FROM generate_series(" + from + ", " + to
                + ") g");
    }

    @Test
    void aLargeTransactionIsStreamedAndAppliedAtItsCommitWithoutItsAbortedSubtransaction() throws Exception {
        long before = streamedTransactions();
        try (Connection c = node1.connect(DB, PgCluster.APP_ROLE); Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            insert(st, 1, 20_000, "kept ");
            st.execute("SAVEPOINT s1");
            insert(st, 20_001, 30_000, "rolled back ");
            st.execute("ROLLBACK TO SAVEPOINT s1");
            st.execute("UPDATE s.\"Big ö\" SET v = 'updated' WHERE id <= 10");
            c.commit();
        }
        Pgactive.awaitEverywhere(DB, rowsIn(1, 30_000), "20000", node1, node2);
        assertEquals(10L, node2.queryLong(DB, "SELECT count(*) FROM s.\"Big ö\" WHERE v = 'updated'"));
        assertTrue(streamedTransactions() > before, "node1 streamed the transaction while it was in progress");

        try (Connection c = node1.connect(DB, PgCluster.APP_ROLE); Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            insert(st, 100_001, 120_000, "aborted ");
            c.rollback();
            insert(st, 120_001, 120_001, "after");
            c.commit();
        }
        Pgactive.awaitEverywhere(DB, rowsIn(120_001, 120_001), "1", node1, node2);
        assertEquals(0L, node2.queryLong(DB, rowsIn(100_001, 120_000)), "rows of the aborted transaction");
    }

    @Test
    void aWorkerKilledOrANodeStoppedMidStreamLosesAndDuplicatesNothing() throws Exception {
        for (String crash : new String[] {"kill -9 of node2's worker", "immediate stop of node2"}) {
            int base = crash.startsWith("kill") ? 200_000 : 300_000;
            try (Connection c = node1.connect(DB, PgCluster.APP_ROLE); Statement st = c.createStatement()) {
                c.setAutoCommit(false);
                long bytes = streamedBytes();
                insert(st, base + 1, base + 20_000, "first ");
                // The walsender streams what it decoded once it passes 64 kB: node2 spools it.
                Await.until(SOON, "node1 to stream part of the open transaction", () -> streamedBytes() > bytes);
                if (crash.startsWith("kill")) {
                    long pid = Pgactive.awaitWorkerPid(node2, DB);
                    Processes.kill9(pid);
                    Await.until(SOON, "node2's worker to restart", () -> {
                        Long now = Pgactive.workerPid(node2, DB);
                        return now != null && now != pid;
                    });
                } else {
                    node2.stopImmediate();
                    node2.start();
                }
                insert(st, base + 20_001, base + 40_000, "second ");
                c.commit();
            }
            Pgactive.awaitEverywhere(DB, rowsIn(base + 1, base + 40_000), "40000", node1, node2);
        }
    }

    /**
     * The same while node2 applies the spooled transaction at its commit: the local transaction
     * rolls back with a crash of node2, and the next session gets the whole transaction again; a
     * crash of node1 meanwhile loses nothing either.
     */
    @Test
    void aWorkerKilledOrANodeStoppedWhileApplyingTheSpoolLosesAndDuplicatesNothing() throws Exception {
        String[] crashes = {"kill -9 of node2's worker", "immediate stop of node2", "immediate stop of node1"};
        for (int i = 0; i < crashes.length; i++) {
            String crash = crashes[i];
            int base = 500_000 + i * 200_000;
            node2.execute(DB, "SELECT pgactive.pgactive_apply_pause()");
            try (Connection c = node1.connect(DB, PgCluster.APP_ROLE); Statement st = c.createStatement()) {
                c.setAutoCommit(false);
                insert(st, base + 1, base + 150_000, "applied late ");
                c.commit();
            }
            long pid = Pgactive.awaitWorkerPid(node2, DB);
            node2.execute(DB, "SELECT pgactive.pgactive_apply_resume()");
            // Its inserts go by COPY in batches: one running means the spool is being applied.
            Await.until(SOON, "node2 to apply the spooled transaction", () -> node2.queryLong(DB,
                    "SELECT count(*) FROM pg_stat_progress_copy WHERE relid = 's.\"Big ö\"'::regclass") > 0);
            PgCluster stopped = crash.endsWith("node1") ? node1 : node2;
            if (crash.startsWith("kill")) {
                Processes.kill9(pid);
            } else {
                stopped.stopImmediate();
                stopped.start();
            }
            Pgactive.awaitEverywhere(DB, rowsIn(base + 1, base + 150_000), "150000", node1, node2);
        }
    }

    @Test
    void aTransactionTheUpstreamLostInACrashMidStreamIsNeverApplied() throws Exception {
        Connection c = node1.connect(DB, PgCluster.APP_ROLE);
        try (Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            long bytes = streamedBytes();
            insert(st, 400_001, 420_000, "lost ");
            Await.until(SOON, "node1 to stream part of the open transaction", () -> streamedBytes() > bytes);
            node1.stopImmediate();
        } finally {
            try {
                c.close();
            } catch (Exception ignored) {
                // the server is gone
            }
        }
        node1.start();
        node1.executeAs(PgCluster.APP_ROLE, DB, "INSERT INTO s.\"Big ö\" VALUES (420001, 'after the crash')");
        Pgactive.awaitEverywhere(DB, rowsIn(420_001, 420_001), "1", node1, node2);
        assertEquals(0L, node2.queryLong(DB, rowsIn(400_001, 420_000)), "rows of the transaction lost upstream");
    }
}
