package io.pgactive.it;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgactive.harness.Await;
import io.pgactive.harness.ClusterExtension;
import io.pgactive.harness.PgCluster;
import io.pgactive.harness.Processes;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Three nodes end with the same rows after random writes on overlapping keys under chaos (issue 14
 * item 6): one writer per node runs random INSERT ... ON CONFLICT DO UPDATE, UPDATE and DELETE on
 * 200 keys (a few of them hot) of two tables, and increments and updates of a third ({@code tally},
 * resolved column by column, {@code n} a counter), now and then a transaction of a few hundred rows
 * (streamed while in progress: {@code logical_decoding_work_mem} is 64 kB);
 * {@code doc.body} is stored out of line (STORAGE EXTERNAL) whenever it is a few KB, so UPDATEs that
 * leave it alone replicate without its value. Meanwhile a chaos loop pauses and resumes apply, changes apply
 * delays, kills a JVM worker with SIGKILL and crashes a node ({@code pg_ctl stop -m immediate}).
 * At the end, after a barrier, every node must hold exactly the same rows.
 *
 * <p>Everything random comes from one seed: the writers' and the chaos loop's choices (not the
 * interleaving, which the machine decides). The seed is printed first; replay with
 * {@code -Dpgactive.chaos.seed=<n>}. Other knobs: {@code pgactive.chaos.seconds} (length of the
 * workload; {@code make chaos} runs it long) and {@code pgactive.chaos.toast=false} (all bodies
 * small, stored inline: tells failures that need out-of-line values from the others).
 */
class RandomizedConvergenceTest {

    private static final String DB = "app";
    /** The suite's fixed seed (issue 14 item 6); {@code make chaos} takes a new one each run. */
    private static final long SEED = Long.getLong("pgactive.chaos.seed", 1406L);
    /** Short by default: the suite's run adds well under 90 s. */
    private static final int SECONDS = Integer.getInteger("pgactive.chaos.seconds", 20);
    private static final boolean TOAST = Boolean.parseBoolean(System.getProperty("pgactive.chaos.toast", "true"));
    private static final int KEYS = 200;
    /** A third of the single-row changes go to these first keys, so that one row often changes on two nodes at once. */
    private static final int HOT_KEYS = 10;
    /** Generous: two cores, shared with three servers, their workers and maybe another test run. */
    private static final Duration CONVERGE_TIMEOUT = Duration.ofSeconds(180);
    private static final Duration WORKER_RESTART_TIMEOUT = Duration.ofSeconds(90);
    /** How many differing keys a failure lists, and for how many it prints their history. */
    private static final int SHOW_KEYS = 50;
    private static final int EXPLAIN_KEYS = 10;
    private static final int EXPLAIN_CONFLICTS = 20;

    @RegisterExtension
    static final ClusterExtension clusters = new ClusterExtension();

    private final List<String> chaosLog = Collections.synchronizedList(new ArrayList<>());
    private long startNanos;

    @Test
    void convergesUnderRandomWritesAndChaos() throws Exception {
        System.out.printf("[chaos] seed=%d seconds=%d toast=%s (replay: -Dpgactive.chaos.seed=%d)%n",
                SEED, SECONDS, TOAST, SEED);
        Random seeds = new Random(SEED);
        List<PgCluster> nodes = buildGroup(seeds);
        Map<WorkloadWriter, ChaosTransactions> writers = new LinkedHashMap<>();
        for (int i = 0; i < nodes.size(); i++) {
            ChaosTransactions transactions = new ChaosTransactions(nodes.get(i), i + 1, new Random(seeds.nextLong()));
            // At most about 60 transactions a second per node: three writers and six links fit on two cores.
            writers.put(new WorkloadWriter(nodes.get(i), DB, 60, transactions).tolerating(e -> true), transactions);
        }
        Random chaos = new Random(seeds.nextLong());

        startNanos = System.nanoTime();
        try {
            writers.keySet().forEach(WorkloadWriter::start);
            runChaos(nodes, chaos, Duration.ofSeconds(SECONDS));
        } finally {
            writers.keySet().forEach(WorkloadWriter::stop);
        }
        writers.forEach((w, tx) -> System.out.printf("[chaos] %s: %d transactions committed (%d large), %d failed (last: %s)%n",
                w.node().name(), w.commits(), tx.largeCommits.get(), w.errors(), w.lastError()));
        for (WorkloadWriter w : writers.keySet()) {
            try {
                w.stopAndCheck();
            } catch (AssertionError e) {
                throw new AssertionError("the writer on " + w.node().name() + " broke; " + replay(), e);
            }
            // A few per second at least, even on a busy machine with a node down for a while.
            assertTrue(w.commits() >= 3L * SECONDS, w.node().name() + "'s writer hardly ran; " + replay());
        }

        settle(nodes);
        long settled = System.nanoTime();
        barrier(nodes);
        System.out.printf("[chaos] barrier passed %.1f s after the writers stopped%n",
                (System.nanoTime() - settled) / 1e9);
        printConflictSummary(nodes);
        System.out.println("[chaos] apply errors (unhandled_tx_abort: the link retried the transaction),"
                + " the last 3 per node:" + applyErrors(nodes));
        printOutOfLineBodies(nodes.get(0));
        assertSameContents(nodes);
    }

    // ------------------------------------------------------------------ the group

    /**
     * Three nodes; doc.body is stored out of line, uncompressed, once a row passes ~2 KB. Apply
     * delays come from the seed: a per-origin {@code apply_delay} (none for some nodes) and, for
     * links from those, each receiver's {@code pgactive.debug_apply_delay}; so links differ.
     */
    private List<PgCluster> buildGroup(Random seeds) {
        List<PgCluster> nodes = new ArrayList<>();
        Map<PgCluster, Integer> originDelays = new LinkedHashMap<>();
        for (int i = 1; i <= 3; i++) {
            int receiverDelay = seeds.nextInt(6) * 100;
            // The least logical_decoding_work_mem: the large transactions (a few hundred rows, some
            // with bodies of several KB) are then streamed while in progress, under the chaos too.
            PgCluster node = clusters.builder("node" + i)
                    .setting("pgactive.debug_apply_delay", Integer.toString(receiverDelay))
                    .setting("logical_decoding_work_mem", "64kB").start();
            nodes.add(node);
            Integer originDelay = seeds.nextInt(3) == 0 ? null : seeds.nextInt(8) * 100;
            originDelays.put(node, originDelay);
            logChaos("%s: apply_delay (for its changes everywhere) %s, debug_apply_delay (for links into it) %d ms",
                    node.name(), originDelay == null ? "none" : originDelay + " ms", receiverDelay);
        }
        PgCluster first = nodes.get(0);
        first.createDatabase(DB);
        first.execute(DB, "CREATE TABLE doc (id int PRIMARY KEY, v int, body text);"
                + " ALTER TABLE doc ALTER COLUMN body SET STORAGE EXTERNAL;"
                + " CREATE TABLE kv (id int PRIMARY KEY, n int, note text);"
                + " CREATE TABLE barrier (node text PRIMARY KEY);"
                + " CREATE TABLE tally (id int PRIMARY KEY, n bigint NOT NULL, note text, v int);"
                + " INSERT INTO tally SELECT g, 0 FROM generate_series(1, " + KEYS + ") g;"
                + " ALTER TABLE doc OWNER TO " + PgCluster.APP_ROLE + ";"
                + " ALTER TABLE kv OWNER TO " + PgCluster.APP_ROLE + ";"
                + " ALTER TABLE tally OWNER TO " + PgCluster.APP_ROLE + ";"
                // Resolved column by column, n a counter: updated, never deleted (docs/conflicts.md).
                + " CREATE EXTENSION pgactive;"
                + " SELECT pgactive.pgactive_set_column_level('tally', ARRAY['n'])");
        Pgactive.formGroupWithDelays(DB, originDelays::get, first, nodes.get(1), nodes.get(2));
        Pgactive.awaitEverywhere(DB, "SELECT string_agg(node_name || ':' || node_status::text, ',' ORDER BY node_name)"
                + " FROM pgactive.pgactive_nodes", "node1:r,node2:r,node3:r", nodes.toArray(PgCluster[]::new));
        return nodes;
    }

    // ------------------------------------------------------------------ chaos

    private enum Chaos { PAUSE_APPLY, NEW_APPLY_DELAY, KILL_WORKER, CRASH_NODE }

    /**
     * One action at a time, with quiet spells in between, until {@code length} has passed. The
     * first actions are every kind once (in a seeded order), so even a short run has each.
     */
    private void runChaos(List<PgCluster> nodes, Random random, Duration length) throws InterruptedException {
        long end = System.nanoTime() + length.toNanos();
        List<Chaos> firstRound = new ArrayList<>(Arrays.asList(Chaos.values()));
        Collections.shuffle(firstRound, random);
        Deque<Chaos> pending = new ArrayDeque<>(firstRound);
        while (true) {
            Thread.sleep(500 + random.nextInt(2500)); // quiet spell: writers and links run undisturbed
            if (System.nanoTime() - end >= 0) {
                return;
            }
            Chaos action = pending.isEmpty() ? Chaos.values()[random.nextInt(Chaos.values().length)] : pending.poll();
            PgCluster node = nodes.get(random.nextInt(nodes.size()));
            PgCluster[] peers = nodes.stream().filter(n -> n != node).toArray(PgCluster[]::new);
            switch (action) {
                case PAUSE_APPLY -> {
                    int millis = 500 + random.nextInt(2500);
                    logChaos("pause apply on %s for %d ms", node.name(), millis);
                    Pgactive.pauseApply(node, DB, peers);
                    Thread.sleep(millis); // how long the pause lasts
                    node.execute(DB, "SELECT pgactive.pgactive_apply_resume()");
                }
                case NEW_APPLY_DELAY -> {
                    int millis = random.nextInt(16) * 100;
                    logChaos("debug_apply_delay %d ms on %s", millis, node.name());
                    node.execute(DB, "ALTER SYSTEM SET pgactive.debug_apply_delay = " + millis);
                    node.reload();
                    Await.untilEquals(Duration.ofSeconds(30), "the new debug_apply_delay on " + node.name(),
                            Integer.toString(millis), () -> node.queryString(DB,
                                    "SELECT setting FROM pg_settings WHERE name = 'pgactive.debug_apply_delay'"));
                    // Links read the delay when they start; a pause and resume restarts them.
                    Pgactive.pauseApply(node, DB, peers);
                    node.execute(DB, "SELECT pgactive.pgactive_apply_resume()");
                }
                case KILL_WORKER -> {
                    long pid = Pgactive.awaitWorkerPid(node, DB);
                    logChaos("kill -9 of %s's worker %d", node.name(), pid);
                    Processes.kill9(pid);
                    Await.until(WORKER_RESTART_TIMEOUT, "the launcher to restart " + node.name() + "'s killed worker",
                            () -> {
                                Long now = Pgactive.workerPid(node, DB);
                                return now != null && now != pid;
                            });
                }
                case CRASH_NODE -> {
                    int millis = 500 + random.nextInt(2500);
                    logChaos("pg_ctl stop -m immediate of %s, down for %d ms", node.name(), millis);
                    node.stopImmediate();
                    Thread.sleep(millis); // how long the node stays down
                    node.start();
                    Pgactive.awaitWorkerPid(node, DB);
                }
            }
        }
    }

    private void logChaos(String format, Object... args) {
        String when = startNanos == 0 ? "setup " : String.format("%5.1fs ", (System.nanoTime() - startNanos) / 1e9);
        String line = when + String.format(format, args);
        chaosLog.add(line);
        System.out.println("[chaos] " + line);
    }

    // ------------------------------------------------------------------ the end

    /** Before the barrier: apply runs everywhere and every worker is up, whatever chaos came last. */
    private static void settle(List<PgCluster> nodes) {
        for (PgCluster node : nodes) {
            node.execute(DB, "SELECT pgactive.pgactive_apply_resume()");
            Await.value(WORKER_RESTART_TIMEOUT, "a running pgactive worker on " + node.name(),
                    () -> Pgactive.workerPid(node, DB));
        }
    }

    /**
     * Every node inserts a marker and waits until it has every node's: a link applies its
     * origin's transactions in commit order, so then every node has applied (or decided against)
     * every change any node committed before.
     */
    private void barrier(List<PgCluster> nodes) {
        for (PgCluster node : nodes) {
            node.execute(DB, "INSERT INTO barrier VALUES ('" + node.name() + "')");
        }
        for (PgCluster node : nodes) {
            try {
                Await.untilEquals(CONVERGE_TIMEOUT, "every node's barrier marker on " + node.name(),
                        "node1,node2,node3",
                        () -> node.queryString(DB, "SELECT string_agg(node, ',' ORDER BY node) FROM barrier"));
            } catch (AssertionError e) {
                throw new AssertionError(e.getMessage() + "; apply errors:" + applyErrors(nodes) + "\n" + replay(), e);
            }
        }
    }

    /** The last few transactions each node could not apply (a link retries them and stalls). */
    private static String applyErrors(List<PgCluster> nodes) {
        StringBuilder out = new StringBuilder();
        for (PgCluster node : nodes) {
            out.append("\n  ").append(node.name()).append(": ").append(node.queryString(DB,
                    "SELECT coalesce(string_agg(e, '; '), 'none')"
                    + " FROM (SELECT error_sqlstate || ' ' || error_message AS e"
                    + " FROM pgactive.pgactive_conflict_history WHERE conflict_type = 'unhandled_tx_abort'"
                    + " ORDER BY conflict_id DESC LIMIT 3) last"));
        }
        return out.toString();
    }

    /**
     * The full contents of every table, compared key by key. A difference fails with each node's
     * version of every differing key (up to {@value #SHOW_KEYS}); where they come from (last
     * writer, tombstone, conflicts) is printed for the first {@value #EXPLAIN_KEYS}.
     */
    private void assertSameContents(List<PgCluster> nodes) {
        Map<String, Map<Key, String>> contents = new LinkedHashMap<>();
        Set<Key> keys = new TreeSet<>();
        for (PgCluster node : nodes) {
            Map<Key, String> rows = rows(node);
            contents.put(node.name(), rows);
            keys.addAll(rows.keySet());
        }
        List<Key> differing = new ArrayList<>();
        for (Key key : keys) {
            if (contents.values().stream().map(rows -> rows.get(key)).distinct().count() > 1) {
                differing.add(key);
            }
        }
        System.out.printf("[chaos] %d doc and %d kv rows on node1; %d keys differ%n",
                contents.get("node1").keySet().stream().filter(k -> k.table.equals("doc")).count(),
                contents.get("node1").keySet().stream().filter(k -> k.table.equals("kv")).count(), differing.size());
        if (differing.isEmpty()) {
            return;
        }
        StringBuilder message = new StringBuilder("the nodes diverged on ").append(differing.size()).append(" keys; ")
                .append(replay());
        for (Key key : differing.subList(0, Math.min(SHOW_KEYS, differing.size()))) {
            message.append("\n  ").append(key);
            contents.forEach((node, rows) -> message.append("\n    ").append(node).append(": ")
                    .append(Objects.requireNonNullElse(rows.get(key), "<no row>")));
        }
        if (differing.size() > SHOW_KEYS) {
            message.append("\n  ... and ").append(differing.size() - SHOW_KEYS).append(" more");
        }
        for (Key key : differing.subList(0, Math.min(EXPLAIN_KEYS, differing.size()))) {
            System.out.println("[chaos] " + explain(nodes, key));
        }
        throw new AssertionError(message.toString());
    }

    /** A table's row, by table name and key. */
    private record Key(String table, int id) implements Comparable<Key> {
        @Override
        public int compareTo(Key o) {
            int t = table.compareTo(o.table);
            return t != 0 ? t : Integer.compare(id, o.id);
        }

        @Override
        public String toString() {
            return table + " id=" + id;
        }
    }

    /** Every row of doc, kv and tally, with a readable digest of the body (its start, length and md5). */
    private static Map<Key, String> rows(PgCluster node) {
        Map<Key, String> rows = new TreeMap<>();
        for (String line : node.queryColumn(DB, "SELECT 'doc' || chr(9) || id || chr(9)"
                + " || 'v=' || coalesce(v::text, 'NULL') || ' body=' || " + bodyDigest("body") + " FROM doc"
                + " UNION ALL SELECT 'kv' || chr(9) || id || chr(9) || 'n=' || coalesce(n::text, 'NULL')"
                + " || ' note=' || coalesce(note, 'NULL') FROM kv"
                + " UNION ALL SELECT 'tally' || chr(9) || id || chr(9) || 'n=' || n || ' note=' || coalesce(note, 'NULL')"
                + " || ' v=' || coalesce(v::text, 'NULL') FROM tally")) {
            String[] parts = line.split("\t", 3);
            rows.put(new Key(parts[0], Integer.parseInt(parts[1])), parts[2]);
        }
        return rows;
    }

    private static String bodyDigest(String expr) {
        return "coalesce(split_part(" + expr + ", ':', 1) || '(' || length(" + expr + ") || ' chars, md5 '"
                + " || left(md5(" + expr + "), 8) || ')', 'NULL')";
    }

    /**
     * For a differing key: each node's row with its commit time and origin, its tombstone, and its
     * last {@value #EXPLAIN_CONFLICTS} conflicts (a hot key has hundreds).
     */
    private static String explain(List<PgCluster> nodes, Key key) {
        StringBuilder out = new StringBuilder(key.toString());
        for (PgCluster node : nodes) {
            out.append("\n    ").append(node.name()).append(": ").append(lastWrite(node, key))
                    .append("; tombstone: ").append(tombstone(node, key))
                    .append("\n      conflicts: ").append(conflicts(node, key));
        }
        return out.toString();
    }

    /** When the row was committed, and by whom: this node's writer or the link from another node. */
    private static String lastWrite(PgCluster node, Key key) {
        String sql = "SELECT 'committed ' || coalesce(c.timestamp::text, '?') || ' by ' || coalesce(("
                + "   SELECT nd.node_name FROM pg_replication_origin o JOIN pgactive.pgactive_nodes nd"
                + "     ON o.roname LIKE 'pgactive\\_' || nd.node_sysid || '\\_%' WHERE o.roident = c.roident),"
                + "   'local writer')"
                + " FROM " + key.table + " t, pg_xact_commit_timestamp_origin(t.xmin) c WHERE t.id = " + key.id;
        return Objects.requireNonNullElse(node.queryString(DB, sql), "<no row>");
    }

    private static String tombstone(PgCluster node, Key key) {
        String sql = "SELECT coalesce(t.deleted_at::text,"
                + "   pg_xact_commit_timestamp(xid(t.deleting_xid)) || ' (local delete)') || ' by '"
                + "   || coalesce(nd.node_name, t.origin_sysid)"
                + " FROM pgactive.pgactive_tombstones t"
                + " LEFT JOIN pgactive.pgactive_nodes nd ON nd.node_sysid = t.origin_sysid"
                + " WHERE t.relname = 'public." + key.table + "'"
                + "   AND t.key = jsonb_build_object('id', " + key.id + ")";
        return Objects.requireNonNullElse(node.queryString(DB, sql), "none");
    }

    private static String conflicts(PgCluster node, Key key) {
        String sql = "SELECT string_agg(x, E'\\n        ' ORDER BY conflict_id) FROM ("
                + " SELECT conflict_id, conflict_type || '/' || conflict_resolution"
                + "   || ' remote ' || coalesce(nd.node_name, '?') || ' ' || remote_commit_time"
                + "   || ' ' || " + tupleDigest("remote_tuple")
                + "   || ' local ' || coalesce(local_commit_time::text, '-') || ' ' || " + tupleDigest("local_tuple")
                + "   AS x"
                + " FROM pgactive.pgactive_conflict_history h"
                + " LEFT JOIN pgactive.pgactive_nodes nd ON nd.node_sysid = h.remote_node_sysid"
                + " WHERE h.object_name = '" + key.table + "'"
                + "   AND coalesce(h.remote_tuple->>'id', h.local_tuple->>'id') = '" + key.id + "'"
                + " ORDER BY conflict_id DESC LIMIT " + EXPLAIN_CONFLICTS + ") c";
        return Objects.requireNonNullElse(node.queryString(DB, sql), "none");
    }

    /** A conflict's row as JSON, with a body shortened to its digest. */
    private static String tupleDigest(String column) {
        return "coalesce(CASE WHEN " + column + "->>'body' IS NOT NULL THEN (" + column + "::jsonb - 'body')::text"
                + " || ' body=' || " + bodyDigest(column + "->>'body'") + " ELSE " + column + "::text END, '-')";
    }

    private static void printConflictSummary(List<PgCluster> nodes) {
        for (PgCluster node : nodes) {
            System.out.println("[chaos] " + node.name() + " conflicts: " + node.queryString(DB,
                    "SELECT coalesce(string_agg(k || ' ' || n, ', ' ORDER BY k), 'none') FROM (SELECT conflict_type"
                    + " || '/' || conflict_resolution AS k, count(*) AS n FROM pgactive.pgactive_conflict_history"
                    + " GROUP BY 1) c"));
        }
    }

    /** Evidence that the run exercised out-of-line values: the toast table is not empty. */
    private static void printOutOfLineBodies(PgCluster node) {
        System.out.println("[chaos] " + node.name() + ": " + node.queryString(DB, "SELECT count(*) FILTER"
                + " (WHERE length(body) > 2000) || ' bodies stored out of line now, toast table '"
                + " || pg_size_pretty(pg_relation_size("
                + "   (SELECT reltoastrelid FROM pg_class WHERE oid = 'doc'::regclass)))"
                + " FROM doc"));
    }

    private String replay() {
        return "seed=" + SEED + " (replay: -Dpgactive.chaos.seed=" + SEED + " -Dpgactive.chaos.seconds=" + SECONDS
                + (TOAST ? "" : " -Dpgactive.chaos.toast=false") + "); chaos:\n    " + String.join("\n    ", chaosLog);
    }

    // ------------------------------------------------------------------ the workload

    /**
     * One node's application: random transactions. Each write carries its origin in its values
     * ({@code v = node * 100000000 + seq}, bodies start with {@code node<i>#<seq>}), so a
     * differing row tells who wrote it. Errors (the node crashed, a deadlock with apply) are
     * counted by the writer, and the next transaction goes on.
     */
    private static final class ChaosTransactions implements WorkloadWriter.Transaction {

        final PgCluster node;
        private final int index;
        private final Random random;
        final AtomicLong largeCommits = new AtomicLong();
        private boolean large;
        private int seq;

        ChaosTransactions(PgCluster node, int index, Random random) {
            this.node = node;
            this.index = index;
            this.random = random;
        }

        @Override
        public void run(Connection conn) throws SQLException {
            large = random.nextInt(100) < 2;
            if (large) {
                largeTransaction(conn);
            } else {
                for (int statements = 1 + random.nextInt(3); statements > 0; statements--) {
                    randomStatement(conn);
                }
            }
        }

        @Override
        public void committed() {
            if (large) {
                largeCommits.incrementAndGet();
            }
        }

        private void randomStatement(Connection c) throws SQLException {
            int id = 1 + random.nextInt(random.nextInt(3) == 0 ? HOT_KEYS : KEYS);
            int v = value();
            String tag = tag();
            int op = random.nextInt(100);
            if (random.nextInt(100) < 12) {
                if (op < 70) {
                    execute(c, "UPDATE tally SET n = n + ?, note = ? WHERE id = ?", 1 + random.nextInt(5), tag, id);
                } else {
                    execute(c, "UPDATE tally SET v = ? WHERE id = ?", v, id);
                }
            } else if (op < 25) {
                upsertDoc(c, id, v, tag, random.nextBoolean());
            } else if (op < 45) {
                // Leaves body alone: an out-of-line body is then not in the replicated row.
                execute(c, "UPDATE doc SET v = ? WHERE id = ?", v, id);
            } else if (op < 60) {
                execute(c, "UPDATE doc SET body = ? WHERE id = ?", body(tag), id);
            } else if (op < 70) {
                execute(c, "DELETE FROM doc WHERE id = ?", id);
            } else if (op < 82) {
                execute(c, "INSERT INTO kv VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET n = EXCLUDED.n,"
                        + " note = EXCLUDED.note", id, v, tag);
            } else if (op < 92) {
                execute(c, "UPDATE kv SET n = n + 1, note = ? WHERE id = ?", tag, id);
            } else {
                execute(c, "DELETE FROM kv WHERE id = ?", id);
            }
        }

        /** A few hundred rows in one transaction: most doc keys upserted or deleted, every kv key upserted, every tally key incremented. */
        private void largeTransaction(Connection c) throws SQLException {
            try (PreparedStatement upsert = c.prepareStatement(UPSERT_DOC_ALL);
                 PreparedStatement delete = c.prepareStatement("DELETE FROM doc WHERE id = ?");
                 PreparedStatement kv = c.prepareStatement("INSERT INTO kv VALUES (?, ?, ?) ON CONFLICT (id)"
                         + " DO UPDATE SET n = EXCLUDED.n, note = EXCLUDED.note");
                 PreparedStatement tally = c.prepareStatement("UPDATE tally SET n = n + 1 WHERE id = ?")) {
                for (int id = 1; id <= KEYS; id++) {
                    int choice = random.nextInt(10);
                    String tag = tag();
                    if (choice < 6) {
                        bind(upsert, id, value(), body(tag));
                        upsert.addBatch();
                    } else if (choice < 7) {
                        bind(delete, id);
                        delete.addBatch();
                    }
                    bind(kv, id, value(), tag);
                    kv.addBatch();
                    bind(tally, id);
                    tally.addBatch();
                }
                upsert.executeBatch();
                delete.executeBatch();
                kv.executeBatch();
                tally.executeBatch();
            }
        }

        private static final String UPSERT_DOC_ALL = "INSERT INTO doc VALUES (?, ?, ?) ON CONFLICT (id)"
                + " DO UPDATE SET v = EXCLUDED.v, body = EXCLUDED.body";

        /** An upsert that sets the body, or (on conflict) only v, leaving the body as it was. */
        private void upsertDoc(Connection c, int id, int v, String tag, boolean withBody) throws SQLException {
            execute(c, withBody ? UPSERT_DOC_ALL : "INSERT INTO doc VALUES (?, ?, ?) ON CONFLICT (id)"
                    + " DO UPDATE SET v = EXCLUDED.v", id, v, body(tag));
        }

        private static void execute(Connection c, String sql, Object... args) throws SQLException {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                bind(ps, args);
                ps.executeUpdate();
            }
        }

        private static void bind(PreparedStatement ps, Object... args) throws SQLException {
            for (int i = 0; i < args.length; i++) {
                ps.setObject(i + 1, args[i]);
            }
        }

        private int value() {
            return index * 100_000_000 + ++seq;
        }

        private String tag() {
            return node.name() + "#" + ++seq;
        }

        /**
         * Small (inline) or, two times in five, 2.5-8 KB: with STORAGE EXTERNAL stored out of line
         * (uncompressed), as PostgreSQL moves values out once a row passes ~2 KB.
         */
        private String body(String tag) {
            if (!TOAST || random.nextInt(5) >= 2) {
                return tag;
            }
            int length = 2500 + random.nextInt(5500);
            StringBuilder body = new StringBuilder(length).append(tag).append(':');
            while (body.length() < length) {
                body.append(' ').append(tag);
            }
            return body.toString();
        }
    }
}
