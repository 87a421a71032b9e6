package io.pgactive.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgactive.harness.Await;
import io.pgactive.harness.ClusterExtension;
import io.pgactive.harness.PgCluster;
import io.pgactive.harness.Processes;
import io.pgactive.harness.TcpProxy;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Crash safety under continuous writes on every node: a killed JVM worker, a crashed server and a
 * cut network link each leave all nodes with identical contents, and every committed row is there
 * exactly once.
 *
 * <p>node3 is reachable only through a {@link TcpProxy}: its node_dsn names the proxy's port, so
 * node1's and node2's links from node3 go through it and {@link TcpProxy#cut()} severs them.
 *
 * <p>Every node's writer inserts rows {@code (node, 1), (node, 2), ...}, one per transaction, and
 * only moves on once a commit returned; a statement whose outcome it could not see (the server went
 * away) is retried with {@code ON CONFLICT DO NOTHING}. So on every node the rows of writer N must
 * be exactly {@code 1..max} with {@code max >= committed(N)}: a gap is a lost transaction, and a
 * duplicate could not even be applied (primary key).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CrashSafetyTest {

    private static final String DB = "app";
    private static final Duration CONVERGE_TIMEOUT = Duration.ofSeconds(90);
    /** Checksum over the whole table: equal on two nodes means equal contents (with overwhelming odds). */
    private static final String CHECKSUM_SQL = "SELECT count(*) || ':' || coalesce(sum(hashtext(node || ':' || seq"
            + " || ':' || payload)::numeric), 0) FROM t";

    @RegisterExtension
    static final ClusterExtension clusters = new ClusterExtension();

    private static PgCluster node1;
    private static PgCluster node2;
    private static PgCluster node3;
    private static TcpProxy node3Proxy;
    private static List<PgCluster> nodes;
    private static final Map<String, SeqInserts> writers = new LinkedHashMap<>();
    private static final List<WorkloadWriter> running = new ArrayList<>();

    @BeforeAll
    static void buildGroup() {
        node1 = clusters.newCluster("node1");
        node2 = clusters.newCluster("node2");
        node3 = clusters.newCluster("node3");
        nodes = List.of(node1, node2, node3);
        node3Proxy = TcpProxy.start(node3.port());

        node1.createDatabase(DB);
        node1.execute(DB, "CREATE TABLE t (node text, seq int, payload text, PRIMARY KEY (node, seq))");
        node1.execute(DB, "ALTER TABLE t OWNER TO " + PgCluster.APP_ROLE);
        node1.execute(DB, "CREATE EXTENSION pgactive");
        Pgactive.createGroup(node1, DB, "node1");
        Pgactive.waitReady(node1, DB);

        Pgactive.createDatabaseWithExtension(node2, DB);
        Pgactive.joinGroup(node2, DB, "node2", node1);
        Pgactive.waitReady(node2, DB);

        Pgactive.createDatabaseWithExtension(node3, DB);
        String node3Dsn = "host=127.0.0.1 port=" + node3Proxy.port() + " dbname=" + DB + " user=" + PgCluster.SUPERUSER;
        node3.execute(DB, "SELECT pgactive.pgactive_join_group(node_name := 'node3', node_dsn := '" + node3Dsn
                + "', join_using_dsn := '" + node1.dsn(DB) + "')");
        Pgactive.waitReady(node3, DB);

        Pgactive.awaitEverywhere(DB, "SELECT string_agg(node_name || ':' || node_status::text, ',' ORDER BY node_name)"
                + " FROM pgactive.pgactive_nodes", "node1:r,node2:r,node3:r", node1, node2, node3);
        for (PgCluster node : nodes) {
            writers.put(node.name(), new SeqInserts(node));
        }
    }

    @AfterEach
    void stopWriters() {
        stopAllWriters();
        if (node3Proxy != null) {
            node3Proxy.restore();
        }
    }

    @AfterAll
    static void closeProxy() {
        if (node3Proxy != null) {
            node3Proxy.close();
        }
    }

    /**
     * The promise behind all the others, tested where it is easiest to break: apply commits
     * asynchronously (pgactive.synchronous_commit = off), node2 makes no commits of its own that would
     * flush its WAL, and its WAL writer waits 10 s. Once node1's slot for node2 says node1's rows are
     * delivered, node2 crashes: the rows must survive (or come again), since node1 will never resend
     * them. (A worker whose link confirms without flushing loses the last ~20 rows here; checked by
     * hand with a patched worker jar.)
     */
    @Test
    @Order(1)
    void asynchronousApplyConfirmsOnlyFlushedCommits() throws Exception {
        assertEquals("off", node2.queryString(DB, "SHOW pgactive.synchronous_commit"),
                "this test is about the default, asynchronous apply");
        // Nothing but the link's own confirmation should flush node2's WAL: the WAL writer waits
        // 10 s, and no autovacuum/analyze commit comes in between.
        node2.setSetting("wal_writer_delay", "10s").setSetting("autovacuum", "off");
        node2.reload();
        Await.untilEquals(Duration.ofSeconds(10), "wal_writer_delay on node2", "10s",
                () -> node2.queryString(DB, "SHOW wal_writer_delay"));

        int rows = 50;
        String beforeLast = null;
        try (Connection c = node1.connect(DB);
             PreparedStatement ps = c.prepareStatement("INSERT INTO t VALUES ('burst', ?, md5('burst:' || ?))")) {
            for (int seq = 1; seq <= rows; seq++) {
                if (seq == rows) {
                    beforeLast = node1.queryString(DB, "SELECT pg_current_wal_lsn()::text");
                }
                ps.setInt(1, seq);
                ps.setInt(2, seq);
                ps.executeUpdate();
            }
        }
        Await.untilEquals(Duration.ofSeconds(30), "the burst applied on node2", (long) rows,
                () -> node2.queryLong(DB, "SELECT count(*) FROM t WHERE node = 'burst'"));
        // A link confirms the end of a transaction it processed; a confirmed position beyond the LSN
        // taken just before the last commit therefore covers the last commit.
        String slotQuery = "SELECT confirmed_flush_lsn > '" + beforeLast + "'::pg_lsn FROM pg_replication_slots"
                + " WHERE slot_name LIKE 'pgactive_%_" + sysid(node2) + "_%'";
        Await.untilEquals(Duration.ofSeconds(30), "node1's slot for node2 to confirm the burst", "t",
                () -> node1.queryString(DB, slotQuery));

        node2.stopImmediate();
        node2.start();
        node2.setSetting("wal_writer_delay", "200ms").setSetting("autovacuum", "on"); // the defaults again
        node2.reload();

        awaitConverged("after node2 crashed with asynchronously applied commits");
        assertEquals(rows, node2.queryLong(DB, "SELECT count(*) FROM t WHERE node = 'burst'"));
        assertEquals(rows, node2.queryLong(DB, "SELECT max(seq) FROM t WHERE node = 'burst'"));
    }

    @Test
    @Order(2)
    void killedWorkerLosesAndDuplicatesNothing() throws Exception {
        long pid = Pgactive.awaitWorkerPid(node2, DB);
        startWriters();
        observe(Duration.ofSeconds(1));
        Processes.kill9(pid);
        observe(Duration.ofSeconds(2));
        stopAllWriters();

        Await.until(Duration.ofSeconds(30), "the launcher to restart node2's killed worker " + pid, () -> {
            Long now = Pgactive.workerPid(node2, DB);
            return now != null && now != pid;
        });
        verifyAfter("kill -9 of node2's worker");
    }

    @Test
    @Order(3)
    void crashedNodeLosesAndDuplicatesNothing() throws Exception {
        startWriters();
        observe(Duration.ofSeconds(1));
        node2.stopImmediate();
        observe(Duration.ofSeconds(1));
        node2.start();
        observe(Duration.ofSeconds(2));
        stopAllWriters();

        verifyAfter("pg_ctl stop -m immediate of node2");
    }

    @Test
    @Order(4)
    void cutLinkLosesAndDuplicatesNothing() throws Exception {
        Await.until(Duration.ofSeconds(30), "node1's and node2's links from node3 to run through the proxy",
                () -> node3Proxy.openConnections() >= 2);
        startWriters();
        observe(Duration.ofSeconds(1));
        node3Proxy.cut();
        long cutAt = writers.get("node3").committedSeq();
        observe(Duration.ofSeconds(3));
        // While cut, node3's new rows cannot reach node1 (else the proxy is not in the path).
        long seenOnNode1 = node1.queryLong(DB, "SELECT coalesce(max(seq), 0) FROM t WHERE node = 'node3'");
        long committedOnNode3 = writers.get("node3").committedSeq();
        assertTrue(committedOnNode3 > cutAt && seenOnNode1 < committedOnNode3,
                "node3 kept writing during the cut (" + cutAt + " -> " + committedOnNode3
                        + ") but node1 must not see those rows; it saw up to " + seenOnNode1);
        node3Proxy.restore();
        observe(Duration.ofSeconds(2));
        stopAllWriters();

        verifyAfter("a cut of node3's outgoing links");
    }

    // ------------------------------------------------------------------ verification

    /**
     * Waits until every node has the same contents, then checks every writer's rows on every node:
     * exactly 1..max, none missing below the last acknowledged commit.
     */
    private static void verifyAfter(String what) {
        awaitConverged(what);
        for (SeqInserts w : writers.values()) {
            long committed = w.committedSeq();
            assertTrue(committed > 0, w.node.name() + "'s writer committed nothing " + what);
            for (PgCluster node : nodes) {
                String stats = node.queryString(DB, "SELECT count(*) || ',' || count(DISTINCT seq) || ','"
                        + " || coalesce(min(seq), 0) || ',' || coalesce(max(seq), 0) FROM t WHERE node = '"
                        + w.node.name() + "'");
                String[] s = stats.split(",");
                long count = Long.parseLong(s[0]);
                long distinct = Long.parseLong(s[1]);
                long min = Long.parseLong(s[2]);
                long max = Long.parseLong(s[3]);
                String context = node.name() + " holds " + w.node.name() + "'s rows as count,distinct,min,max = "
                        + stats + "; committed up to " + committed + " (" + what + ")";
                assertEquals(count, distinct, "duplicates: " + context);
                assertTrue(max >= committed, "committed rows missing at the end: " + context);
                assertTrue(min == 1 && count == max, "committed rows missing in between: " + context);
                assertTrue(max <= committed + 1, "more rows than the writer ever tried: " + context);
            }
            System.out.printf("[crash-safety] %s: %s committed %d rows (%d failed attempts)%n",
                    what, w.node.name(), committed, w.failures());
        }
    }

    /** Waits until all nodes have the same checksum; the error shows every node's last value. */
    private static void awaitConverged(String what) {
        try {
            Await.until(CONVERGE_TIMEOUT, "the same contents of t on every node " + what, () -> {
                String first = node1.queryString(DB, CHECKSUM_SQL);
                return first.equals(node2.queryString(DB, CHECKSUM_SQL))
                        && first.equals(node3.queryString(DB, CHECKSUM_SQL));
            });
        } catch (AssertionError e) {
            StringBuilder sums = new StringBuilder(e.getMessage()).append("; checksums now:");
            for (PgCluster node : nodes) {
                String sum;
                try {
                    sum = node.queryString(DB, "SELECT string_agg(node || '=' || n || '/max ' || m, ' ')"
                            + " FROM (SELECT node, count(*) n, max(seq) m FROM t GROUP BY node ORDER BY node) x");
                } catch (RuntimeException q) {
                    sum = "unreadable: " + q.getMessage();
                }
                sums.append(' ').append(node.name()).append(" [").append(sum).append(']');
            }
            throw new AssertionError(sums.toString(), e);
        }
    }

    // ------------------------------------------------------------------ workload

    /** About 200 commits a second per node: load, without starving a 2-core machine. */
    private static void startWriters() {
        for (SeqInserts w : writers.values()) {
            WorkloadWriter writer = new WorkloadWriter(w.node, DB, 200, w).tolerating(e -> true); // crashes are the test
            running.add(writer);
            writer.start();
        }
    }

    private static void stopAllWriters() {
        running.forEach(WorkloadWriter::stopAndCheck);
        running.clear();
    }

    /** Lets the workload run: an observation window, not a wait for a condition. */
    private static void observe(Duration window) throws InterruptedException {
        Thread.sleep(window.toMillis());
    }

    private static String sysid(PgCluster node) {
        return node.queryString(DB, "SELECT sysid FROM pgactive.pgactive_get_local_nodeid()");
    }

    /**
     * Inserts {@code (node, seq)} rows into one node, one transaction each, with increasing seq.
     * Goes on across server crashes: a failed insert is tried again (same seq) on a new
     * connection, since its transaction may or may not have committed.
     */
    private static final class SeqInserts implements WorkloadWriter.Transaction {
        final PgCluster node;
        private volatile long committed;
        private volatile long attempts;

        SeqInserts(PgCluster node) {
            this.node = node;
        }

        long committedSeq() {
            return committed;
        }

        long failures() {
            return attempts - committed;
        }

        @Override
        public void run(Connection conn) throws SQLException {
            attempts++;
            try (PreparedStatement insert = conn.prepareStatement(
                    "INSERT INTO t VALUES (?, ?, md5(? || ':' || ?)) ON CONFLICT DO NOTHING")) {
                insert.setString(1, node.name());
                insert.setLong(2, committed + 1);
                insert.setString(3, node.name());
                insert.setLong(4, committed + 1);
                insert.executeUpdate();
            }
        }

        @Override
        public void committed() {
            committed++;
        }
    }
}
