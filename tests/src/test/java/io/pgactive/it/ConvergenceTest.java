package io.pgactive.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgactive.harness.Await;
import io.pgactive.harness.ClusterExtension;
import io.pgactive.harness.PgCluster;
import io.pgactive.harness.TcpProxy;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Every node ends with the same rows whatever order the changes reach it in.
 *
 * <p>Part A forces orderings on three nodes. Every node's node_dsn names a {@link TcpProxy} in
 * front of it, so every link "X → Y" (Y streaming X's changes) runs through X's proxy; the proxy
 * tells its clients apart by the application_name of their connections ({@code pgactive:<sysid of
 * Y>:send}), so {@link #hold(PgCluster, PgCluster)} holds back exactly one link direction while
 * all others keep running (without breaking the connection: released, the link carries on at
 * once). Each case checks node3's conflict history for proof that the intended ordering happened,
 * ends with a {@linkplain #barrier barrier} (a row from every node, seen by every node: links apply
 * in commit order, so everything committed before has been applied everywhere) and compares the
 * contents of all three nodes.
 *
 * <p>Part B builds a second group of three nodes (fire1..3, closed after its test) with per-origin
 * apply delays, writes random INSERT/UPDATE/DELETE on an overlapping key space on all of them,
 * then requires identical contents and conflicts of every kind.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ConvergenceTest {

    private static final String DB = "app";
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    @RegisterExtension
    static final ClusterExtension clusters = new ClusterExtension();

    private static PgCluster node1;
    private static PgCluster node2;
    private static PgCluster node3;
    private static List<PgCluster> nodes;
    /** The proxy in front of each node, by node name: links FROM that node run through it. */
    private static final Map<String, TcpProxy> proxies = new LinkedHashMap<>();
    private static final Map<String, String> sysids = new HashMap<>();
    private static int barrierRound;

    @BeforeAll
    static void buildGroup() {
        node1 = clusters.newCluster("node1");
        node2 = clusters.newCluster("node2");
        node3 = clusters.newCluster("node3");
        nodes = List.of(node1, node2, node3);
        for (PgCluster node : nodes) {
            proxies.put(node.name(), TcpProxy.start(node.port()));
        }

        node1.createDatabase(DB);
        node1.execute(DB, "CREATE TABLE kv (k int PRIMARY KEY, v text)");
        node1.execute(DB, "CREATE TABLE sync (node text, round int, PRIMARY KEY (node, round))");
        node1.execute(DB, "ALTER TABLE kv OWNER TO " + PgCluster.APP_ROLE + "; ALTER TABLE sync OWNER TO "
                + PgCluster.APP_ROLE);
        node1.execute(DB, "CREATE EXTENSION pgactive");
        node1.execute(DB, "SELECT pgactive.pgactive_create_group(node_name := 'node1', node_dsn := '"
                + proxiedDsn(node1) + "')");
        Pgactive.waitReady(node1, DB);
        for (PgCluster joining : List.of(node2, node3)) {
            Pgactive.createDatabaseWithExtension(joining, DB);
            joining.execute(DB, "SELECT pgactive.pgactive_join_group(node_name := '" + joining.name()
                    + "', node_dsn := '" + proxiedDsn(joining) + "', join_using_dsn := '" + node1.dsn(DB) + "')");
            Pgactive.waitReady(joining, DB);
        }
        Pgactive.awaitEverywhere(DB, "SELECT string_agg(node_name || ':' || node_status::text, ',' ORDER BY node_name)"
                + " FROM pgactive.pgactive_nodes", "node1:r,node2:r,node3:r", node1, node2, node3);
        for (PgCluster node : nodes) {
            sysids.put(node.name(), sysid(node));
        }
        for (PgCluster from : nodes) {
            for (PgCluster to : nodes) {
                if (from != to) {
                    awaitLinkThroughProxy(from, to);
                }
            }
        }
    }

    @AfterEach
    void releaseAllLinks() {
        proxies.values().forEach(TcpProxy::releaseAll);
    }

    @AfterAll
    static void closeProxies() {
        proxies.values().forEach(TcpProxy::close);
    }

    // ------------------------------------------------------------------ A: forced orderings

    /**
     * node1 inserts k, node2 updates it; node3 gets node2's update first (the row is missing there and
     * has no tombstone: the update overtook its INSERT) and node1's INSERT later.
     */
    @Test
    @Order(1)
    void updateOvertakingItsInsertConverges() {
        int k = 100;
        hold(node1, node3);
        node1.execute(DB, "INSERT INTO kv VALUES (" + k + ", 'inserted by node1')");
        awaitValue(node2, k, "inserted by node1");
        node2.execute(DB, "UPDATE kv SET v = 'updated by node2' WHERE k = " + k);
        // node3 can only have the row through node2's update: node1's insert is held back.
        awaitValue(node3, k, "updated by node2");
        release(node1, node3);

        assertConverged("update overtaking its insert", k, k + "=updated by node2");
        // The order node3 saw, from its history: the ordering above really happened.
        assertEquals("update_delete/apply_change, insert_insert/last_update_wins_keep_local", history(node3, k));
        printHistory(k);
    }

    /** node1 deletes k, node2 then updates it (newer); node3 gets the update before the delete. */
    @Test
    @Order(2)
    void updateNewerThanDeleteWinsWhenTheUpdateArrivesFirst() throws InterruptedException {
        int k = 200;
        seed(k, "seeded");
        hold(node1, node2); // node2 must still have the row to update it
        hold(node1, node3); // node3 gets node1's delete last
        node1.execute(DB, "DELETE FROM kv WHERE k = " + k);
        laterCommit();
        node2.execute(DB, "UPDATE kv SET v = 'updated by node2' WHERE k = " + k);
        awaitValue(node3, k, "updated by node2");
        release(node1, node2);
        release(node1, node3);

        assertConverged("update newer than delete, update first on node3", k, k + "=updated by node2");
        // The order node3 saw, from its history: the ordering above really happened. (node2's
        // update, made after seeing node1's row, is no conflict: see CausalityTest.)
        assertEquals("update_delete/last_update_wins_keep_local", history(node3, k));
        printHistory(k);
    }

    /** node1 deletes k, node2 then updates it (newer); node3 gets the delete before the update. */
    @Test
    @Order(3)
    void updateNewerThanDeleteWinsWhenTheDeleteArrivesFirst() throws InterruptedException {
        int k = 201;
        seed(k, "seeded");
        hold(node1, node2); // node2 must still have the row to update it
        hold(node2, node3); // node3 gets node2's update last
        node1.execute(DB, "DELETE FROM kv WHERE k = " + k);
        awaitValue(node3, k, null);
        laterCommit();
        node2.execute(DB, "UPDATE kv SET v = 'updated by node2' WHERE k = " + k);
        release(node1, node2);
        release(node2, node3);

        assertConverged("update newer than delete, delete first on node3", k, k + "=updated by node2");
        // The order node3 saw, from its history: the ordering above really happened.
        assertEquals("update_delete/apply_change", history(node3, k));
        printHistory(k);
    }

    /** node2 updates k, node1 then deletes it (newer); node3 gets the delete before the update. */
    @Test
    @Order(4)
    void deleteNewerThanUpdateWinsWhenTheDeleteArrivesFirst() throws InterruptedException {
        int k = 300;
        seed(k, "seeded");
        hold(node2, node1); // node1 deletes the row as it was before node2's update
        hold(node2, node3); // node3 gets node2's update last
        node2.execute(DB, "UPDATE kv SET v = 'updated by node2' WHERE k = " + k);
        laterCommit();
        node1.execute(DB, "DELETE FROM kv WHERE k = " + k);
        awaitValue(node3, k, null);
        awaitValue(node2, k, null); // node2's own update lost against the newer delete
        release(node2, node1);
        release(node2, node3);

        assertConverged("delete newer than update, delete first on node3", k, "");
        // The order node3 saw, from its history: the ordering above really happened.
        assertEquals("update_delete/skip_change", history(node3, k));
        printHistory(k);
    }

    /**
     * The twin of the first case: node1 inserts k, node2 deletes it; node3 gets node2's delete first
     * (nothing to delete: a tombstone newer than the insert) and node1's INSERT later. The delete is
     * the last write: the row must be gone everywhere, as it is on node1 and node2.
     */
    @Test
    @Order(5)
    void deleteOvertakingItsInsertConverges() {
        int k = 400;
        hold(node1, node3);
        node1.execute(DB, "INSERT INTO kv VALUES (" + k + ", 'inserted by node1')");
        awaitValue(node2, k, "inserted by node1");
        node2.execute(DB, "DELETE FROM kv WHERE k = " + k);
        Await.untilEquals(TIMEOUT, "node2's delete of " + k + " reaching node3 first", "delete_delete/skip_change",
                () -> history(node3, k));
        release(node1, node3);

        assertConverged("delete overtaking its insert", k, "");
        printHistory(k);
    }

    // ------------------------------------------------------------------ B: convergence under fire

    /**
     * Three nodes with per-origin apply delays of 200, 400 and 600 ms; one writer per node doing
     * random single-statement INSERT/UPDATE/DELETE on keys 1..50 for 30 s. Afterwards all nodes must
     * hold the same rows, and the histories must show every kind of row conflict.
     */
    @Test
    @Order(10)
    void convergesUnderRandomConcurrentWrites() throws Exception {
        PgCluster f1 = clusters.newCluster("fire1");
        PgCluster f2 = clusters.newCluster("fire2");
        PgCluster f3 = clusters.newCluster("fire3");
        List<PgCluster> fire = List.of(f1, f2, f3);
        int[] delays = {200, 400, 600};

        f1.createDatabase(DB);
        f1.execute(DB, "CREATE TABLE kv (k int PRIMARY KEY, v text, n int)");
        f1.execute(DB, "ALTER TABLE kv OWNER TO " + PgCluster.APP_ROLE); // the writers' role
        f1.execute(DB, "CREATE EXTENSION pgactive");
        f1.execute(DB, "SELECT pgactive.pgactive_create_group(node_name := 'fire1', node_dsn := '" + f1.dsn(DB)
                + "', apply_delay := " + delays[0] + ")");
        Pgactive.waitReady(f1, DB);
        for (int i = 1; i < 3; i++) {
            PgCluster n = fire.get(i);
            Pgactive.createDatabaseWithExtension(n, DB);
            n.execute(DB, "SELECT pgactive.pgactive_join_group(node_name := '" + n.name() + "', node_dsn := '"
                    + n.dsn(DB) + "', join_using_dsn := '" + f1.dsn(DB) + "', apply_delay := " + delays[i] + ")");
            Pgactive.waitReady(n, DB);
        }
        Pgactive.awaitEverywhere(DB, "SELECT string_agg(node_name || ':' || node_status::text, ',' ORDER BY node_name)"
                + " FROM pgactive.pgactive_nodes", "fire1:r,fire2:r,fire3:r", f1, f2, f3);

        Map<WorkloadWriter, RandomStatements> writers = new LinkedHashMap<>();
        for (PgCluster n : fire) {
            RandomStatements statements = new RandomStatements(n);
            // About 100 statements a second per node: three writers and six links fit on two cores.
            writers.put(new WorkloadWriter(n, DB, 100, statements).tolerating(e -> true), statements);
        }
        writers.keySet().forEach(WorkloadWriter::start);
        Thread.sleep(30_000); // the length of the workload, not a wait for a condition
        writers.keySet().forEach(WorkloadWriter::stopAndCheck);
        writers.forEach((w, st) -> {
            System.out.printf("[convergence] %s: %d statements committed (%d inserted, %d updated, %d deleted rows),"
                    + " %d local errors%n", w.node().name(), w.commits(), st.inserted.get(), st.updated.get(),
                    st.deleted.get(), w.errors());
            assertTrue(w.commits() > 100, w.node().name() + "'s writer hardly ran");
        });

        long stopped = System.nanoTime();
        String checksum = "SELECT count(*) || ':' || md5(coalesce(string_agg(k || '=' || coalesce(v, '<null>') || '/'"
                + " || coalesce(n::text, '<null>'), ',' ORDER BY k), '')) FROM kv";
        AssertionError diverged = null;
        try {
            Await.until(TIMEOUT, "the same contents of kv on fire1, fire2 and fire3", () -> {
                String first = f1.queryString(DB, checksum);
                return first.equals(f2.queryString(DB, checksum)) && first.equals(f3.queryString(DB, checksum));
            });
            System.out.printf("[convergence] converged %.1f s after the writers stopped; %s%n",
                    (System.nanoTime() - stopped) / 1e9, f1.queryString(DB, checksum));
        } catch (AssertionError e) {
            diverged = new AssertionError(e.getMessage() + "\n" + describeDifferences(fire), e);
        }

        Map<String, Long> total = new TreeMap<>();
        for (PgCluster n : fire) {
            Map<String, Long> counts = new TreeMap<>();
            for (String row : n.queryColumn(DB, "SELECT conflict_type || ' ' || conflict_resolution || ' ' || count(*)"
                    + " FROM pgactive.pgactive_conflict_history GROUP BY conflict_type, conflict_resolution"
                    + " ORDER BY conflict_type, conflict_resolution")) {
                String[] parts = row.split(" ");
                counts.put(parts[0] + "/" + parts[1], Long.parseLong(parts[2]));
                total.merge(parts[0], Long.parseLong(parts[2]), Long::sum);
            }
            System.out.println("[convergence] " + n.name() + " conflict history: " + counts);
        }
        System.out.println("[convergence] conflicts per kind over the three nodes: " + total);
        if (diverged != null) {
            throw diverged;
        }
        for (String kind : List.of("insert_insert", "update_update", "update_delete", "delete_delete")) {
            assertTrue(total.getOrDefault(kind, 0L) > 0, "no " + kind + " conflict in any history: " + total);
        }
        // Conflicts pgactive resolved are no errors: a DBA's log alerting must not fire on them
        // (issue 14 item 4). The log line prefix names each session's application.
        for (PgCluster n : fire) {
            List<String> errors = n.serverLogText().lines()
                    .filter(line -> line.contains(" pgactive:") && line.contains("ERROR:")).limit(10).toList();
            assertEquals(List.of(), errors, n.name() + "'s log has ERROR lines of pgactive's sessions");
        }
    }

    // ------------------------------------------------------------------ A helpers

    private static String proxiedDsn(PgCluster node) {
        return "host=127.0.0.1 port=" + proxies.get(node.name()).port() + " dbname=" + DB
                + " user=" + PgCluster.SUPERUSER;
    }

    private static String sysid(PgCluster node) {
        return node.queryString(DB, "SELECT sysid FROM pgactive.pgactive_get_local_nodeid()");
    }

    /** Holds back the link "from → to": to receives nothing more from from until {@link #release}. */
    private static void hold(PgCluster from, PgCluster to) {
        proxies.get(from.name()).hold(sysids.get(to.name()));
    }

    private static void release(PgCluster from, PgCluster to) {
        proxies.get(from.name()).release(sysids.get(to.name()));
    }

    /** The link "from → to" streams, and through from's proxy. */
    private static void awaitLinkThroughProxy(PgCluster from, PgCluster to) {
        String appName = "pgactive:" + sysids.get(to.name()) + ":send";
        Await.until(TIMEOUT, "the link " + from.name() + " -> " + to.name() + " streaming through the proxy",
                () -> proxies.get(from.name()).openConnections(sysids.get(to.name())) >= 1
                        && from.queryLong(DB, "SELECT count(*) FROM pg_stat_replication WHERE application_name = '"
                                + appName + "' AND state = 'streaming'") == 1);
    }

    /** Inserts k on node1 and waits until every node has it. */
    private static void seed(int k, String v) {
        node1.execute(DB, "INSERT INTO kv VALUES (" + k + ", '" + v + "')");
        for (PgCluster node : nodes) {
            awaitValue(node, k, v);
        }
    }

    /** Waits until {@code node} has {@code v} for key {@code k}; null: until the row is gone. */
    private static void awaitValue(PgCluster node, int k, String v) {
        String sql = "SELECT coalesce((SELECT v FROM kv WHERE k = " + k + "), '<no row>')";
        Await.untilEquals(TIMEOUT, "k = " + k + " on " + node.name(), v == null ? "<no row>" : v,
                () -> node.queryString(DB, sql));
    }

    /**
     * Commit timestamps are microseconds of the same clock (all nodes run on this machine); a
     * statement issued after another one returned is later anyway. The pause only makes the
     * difference large enough that no reader could take the two for simultaneous.
     */
    private static void laterCommit() throws InterruptedException {
        Thread.sleep(5);
    }

    /**
     * Every node inserts a row into {@code sync} and waits until every node has all three: links
     * apply each origin's transactions in commit order, so afterwards every change any node made
     * before has been applied (or decided against) everywhere.
     */
    private static void barrier(String what) {
        int round = ++barrierRound;
        for (PgCluster node : nodes) {
            node.execute(DB, "INSERT INTO sync VALUES ('" + node.name() + "', " + round + ")");
        }
        for (PgCluster node : nodes) {
            Await.untilEquals(TIMEOUT, "barrier " + round + " (" + what + ") complete on " + node.name(), 3L,
                    () -> node.queryLong(DB, "SELECT count(*) FROM sync WHERE round = " + round));
        }
    }

    /** After a barrier, key k reads {@code expected} ("k=v", or "" for no row) on every node. */
    private static void assertConverged(String what, int k, String expected) {
        barrier(what);
        String sql = "SELECT coalesce(string_agg(k || '=' || v, ',' ORDER BY k), '') FROM kv WHERE k = " + k;
        Map<String, String> seen = new LinkedHashMap<>();
        for (PgCluster node : nodes) {
            seen.put(node.name(), node.queryString(DB, sql));
        }
        Map<String, String> wanted = new LinkedHashMap<>();
        nodes.forEach(n -> wanted.put(n.name(), expected));
        if (!wanted.equals(seen)) {
            printHistory(k);
        }
        assertEquals(wanted, seen, what + ": key " + k + " on every node");
        // And the nodes agree on the whole table, not just on this key.
        String all = "SELECT coalesce(string_agg(k || '=' || v, ',' ORDER BY k), '') FROM kv";
        String first = node1.queryString(DB, all);
        assertEquals(first, node2.queryString(DB, all), what + ": node1 and node2 hold different rows");
        assertEquals(first, node3.queryString(DB, all), what + ": node1 and node3 hold different rows");
    }

    private static void printHistory(int k) {
        for (PgCluster node : nodes) {
            System.out.println("[convergence] k=" + k + " history on " + node.name() + ": " + history(node, k));
        }
    }

    /** The conflicts {@code node} recorded for key k, oldest first: "type/resolution, ...". */
    private static String history(PgCluster node, int k) {
        return node.queryString(DB, "SELECT string_agg(conflict_type || '/' || conflict_resolution, ', '"
                + " ORDER BY conflict_id) FROM pgactive.pgactive_conflict_history"
                + " WHERE remote_tuple->>'k' = '" + k + "'");
    }

    // ------------------------------------------------------------------ B helpers

    /**
     * For a failed convergence: the keys on which the nodes differ, each node's row (with its last
     * writer and commit time), tombstone and latest conflicts for that key.
     */
    private static String describeDifferences(List<PgCluster> fire) {
        StringBuilder out = new StringBuilder("rows that differ:");
        try {
            Map<String, Map<Integer, String>> contents = new LinkedHashMap<>();
            Set<Integer> keys = new TreeSet<>();
            for (PgCluster n : fire) {
                Map<Integer, String> rows = new TreeMap<>();
                for (String row : n.queryColumn(DB, "SELECT k || ' ' || coalesce(v, '<null>') || '/' || n || ' (written '"
                        + " || coalesce(c.\"timestamp\"::text, '?') || ' by ' || coalesce(("
                        + "   SELECT nd.node_name FROM pg_replication_origin o JOIN pgactive.pgactive_nodes nd"
                        + "     ON o.roname LIKE 'pgactive\\_' || nd.node_sysid || '\\_%' WHERE o.roident = c.roident),"
                        + "   'local') || ')' FROM kv, pg_xact_commit_timestamp_origin(kv.xmin) c ORDER BY k")) {
                    int sp = row.indexOf(' ');
                    rows.put(Integer.parseInt(row.substring(0, sp)), row.substring(sp + 1));
                }
                contents.put(n.name(), rows);
                keys.addAll(rows.keySet());
            }
            int shown = 0;
            for (int k : keys) {
                List<String> values = new ArrayList<>();
                for (Map<Integer, String> rows : contents.values()) {
                    String v = rows.get(k);
                    values.add(v == null ? null : v.substring(0, v.indexOf(" (")));
                }
                if (values.stream().distinct().count() == 1 && values.get(0) != null) {
                    continue;
                }
                if (shown++ == 5) {
                    out.append("\n  ...");
                    break;
                }
                out.append("\n  k=").append(k);
                for (PgCluster n : fire) {
                    out.append("\n    ").append(n.name()).append(": ")
                            .append(Objects.requireNonNullElse(contents.get(n.name()).get(k), "<no row>"))
                            .append("; tombstone: ").append(n.queryString(DB, "SELECT coalesce(t.deleted_at::text,"
                                    + " pg_xact_commit_timestamp(xid(t.deleting_xid)) || ' (local delete)') || ' by '"
                                    + " || coalesce(nd.node_name, t.origin_sysid) FROM pgactive.pgactive_tombstones t"
                                    + " LEFT JOIN pgactive.pgactive_nodes nd ON nd.node_sysid = t.origin_sysid"
                                    + " WHERE t.key = jsonb_build_object('k', " + k + ")"))
                            .append("\n      conflicts: ").append(n.queryString(DB,
                                    "SELECT string_agg(x, '\n                 ' ORDER BY id) FROM (SELECT conflict_id AS id,"
                                    + " conflict_type || '/' || conflict_resolution || ': remote '"
                                    + " || coalesce(nd.node_name, remote_node_sysid) || ' ' || remote_commit_time"
                                    + " || ' ' || coalesce(remote_tuple::text, '') || ', local '"
                                    + " || coalesce(local_commit_time::text, '-') AS x"
                                    + " FROM pgactive.pgactive_conflict_history h LEFT JOIN pgactive.pgactive_nodes nd"
                                    + " ON nd.node_sysid = h.remote_node_sysid WHERE remote_tuple->>'k' = '" + k + "'"
                                    + " ORDER BY conflict_id DESC LIMIT 6) last"));
                }
            }
        } catch (RuntimeException e) {
            out.append(" (could not read: ").append(e).append(')');
        }
        return out.toString();
    }

    /**
     * Random single-statement transactions on keys 1..50: INSERT (ON CONFLICT DO NOTHING), UPDATE
     * and DELETE. Local errors (a deadlock with apply) are counted and ignored.
     */
    private static final class RandomStatements implements WorkloadWriter.Transaction {

        private static final int KEYS = 50;

        private final String node;
        private long seq;
        private AtomicLong counter;
        private int rows;
        final AtomicLong inserted = new AtomicLong();
        final AtomicLong updated = new AtomicLong();
        final AtomicLong deleted = new AtomicLong();

        RandomStatements(PgCluster node) {
            this.node = node.name();
        }

        @Override
        public void run(Connection conn) throws SQLException {
            ThreadLocalRandom random = ThreadLocalRandom.current();
            int k = 1 + random.nextInt(KEYS);
            String value = node + "#" + (++seq);
            int op = random.nextInt(100);
            if (op < 35) {
                try (PreparedStatement ps = conn.prepareStatement("INSERT INTO kv VALUES (?, ?, 0) ON CONFLICT DO NOTHING")) {
                    ps.setInt(1, k);
                    ps.setString(2, value);
                    rows = ps.executeUpdate();
                }
                counter = inserted;
            } else if (op < 75) {
                try (PreparedStatement ps = conn.prepareStatement("UPDATE kv SET v = ?, n = n + 1 WHERE k = ?")) {
                    ps.setString(1, value);
                    ps.setInt(2, k);
                    rows = ps.executeUpdate();
                }
                counter = updated;
            } else {
                try (PreparedStatement ps = conn.prepareStatement("DELETE FROM kv WHERE k = ?")) {
                    ps.setInt(1, k);
                    rows = ps.executeUpdate();
                }
                counter = deleted;
            }
        }

        @Override
        public void committed() {
            counter.addAndGet(rows);
        }
    }

}
