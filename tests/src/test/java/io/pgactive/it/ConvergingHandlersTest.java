package io.pgactive.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgactive.harness.Await;
import io.pgactive.harness.ClusterExtension;
import io.pgactive.harness.PgCluster;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 21 item 2: conflict handlers converge. Three nodes whose links lag by different amounts;
 * several application sessions per node upsert, change and delete random keys of two small
 * tables at once for a minute: one with the keep-the-larger handler of docs/conflicts.md,
 * verbatim, one (oddly named) with a union-of-sets handler, whose rows also lose labels (not
 * every change grows the row). Once every node has applied everything, the tables are
 * identical on all three, row for row.
 */
class ConvergingHandlersTest {

    private static final String DB = "app";
    private static final int SECONDS = Integer.getInteger("pgactive.handlers.seconds", 60);
    private static final int KEYS = 60;
    private static final int WRITERS_PER_NODE = 2;
    private static final String TAGS = "\"S $p\".\"Tags ö\"";
    private static final String LABELS = "\"Läbels $\"";
    private static final String HANDLER_ARGS = "(local_row %1$s, remote_row %1$s, command_tag text, table_oid regclass,"
            + " conflict_type pgactive.pgactive_conflict_type, OUT \"row\" %1$s,"
            + " OUT handler_action pgactive.pgactive_conflict_handler_action)";
    /** Links differ: each node's changes arrive late everywhere by the first, and each receiver adds the second. */
    private static final Map<String, Integer> ORIGIN_DELAY_MS = Map.of("node1", 0, "node2", 300, "node3", 700);
    private static final Map<String, Integer> RECEIVER_DELAY_MS = Map.of("node1", 400, "node2", 0, "node3", 200);
    private static final Duration CONVERGE_TIMEOUT = Duration.ofSeconds(120);

    @RegisterExtension
    static final ClusterExtension clusters = new ClusterExtension();

    private static List<PgCluster> nodes;

    @BeforeAll
    static void buildGroup() {
        nodes = new ArrayList<>();
        for (String name : List.of("node1", "node2", "node3")) {
            nodes.add(clusters.builder(name)
                    .setting("pgactive.debug_apply_delay", Integer.toString(RECEIVER_DELAY_MS.get(name))).start());
        }
        PgCluster node1 = nodes.get(0);
        node1.createDatabase(DB);
        node1.execute(DB, "CREATE EXTENSION pgactive");
        node1.execute(DB, "CREATE SCHEMA \"S $p\" AUTHORIZATION " + PgCluster.APP_ROLE);
        node1.execute(DB, "GRANT CREATE ON SCHEMA public TO " + PgCluster.APP_ROLE);
        // docs/conflicts.md's example, as written there.
        node1.executeAs(PgCluster.APP_ROLE, DB, "CREATE TABLE counters (id int PRIMARY KEY, n bigint)");
        node1.executeAs(PgCluster.APP_ROLE, DB, """
                CREATE FUNCTION keep_max(local_row counters, remote_row counters, command_tag text,
                                         table_oid regclass, conflict_type pgactive.pgactive_conflict_type,
                                         OUT "row" counters,
                                         OUT handler_action pgactive.pgactive_conflict_handler_action)
                LANGUAGE plpgsql AS $$
                BEGIN
                    "row" := CASE WHEN local_row.n >= remote_row.n THEN local_row ELSE remote_row END;
                    handler_action := 'ROW';
                END;
                $$""");
        node1.executeAs(PgCluster.APP_ROLE, DB, "CREATE TABLE " + TAGS + " (id int PRIMARY KEY, " + LABELS
                + " text[] NOT NULL)");
        node1.executeAs(PgCluster.APP_ROLE, DB, "CREATE FUNCTION \"S $p\".\"union ö\"" + String.format(HANDLER_ARGS, TAGS)
                + " LANGUAGE sql AS $$ SELECT (remote_row.id, ARRAY(SELECT DISTINCT l FROM unnest(local_row." + LABELS
                + " || remote_row." + LABELS + ") l ORDER BY 1))::" + TAGS + ", 'ROW'::pgactive.pgactive_conflict_handler_action $$");
        node1.executeAs(PgCluster.APP_ROLE, DB, "CREATE TABLE marks (node text PRIMARY KEY)");
        for (String type : List.of("update_update", "insert_insert")) {
            node1.execute(DB, "SELECT pgactive.pgactive_create_conflict_handler('counters', 'keep_max_" + type + "',"
                    + " 'keep_max(counters, counters, text, regclass, pgactive.pgactive_conflict_type)', '" + type + "')");
            node1.execute(DB, "SELECT pgactive.pgactive_create_conflict_handler('" + TAGS.replace("'", "''")
                    + "', 'union_" + type + "', '\"S $p\".\"union ö\"(" + TAGS + ", " + TAGS
                    + ", text, regclass, pgactive.pgactive_conflict_type)', '" + type + "')");
        }
        Pgactive.formGroupWithDelays(DB, node -> ORIGIN_DELAY_MS.get(node.name()), node1, nodes.get(1), nodes.get(2));
        for (PgCluster node : nodes) {
            Await.untilEquals(Duration.ofSeconds(60), "the row-versions triggers on both tables on " + node.name(), 4L,
                    () -> node.queryLong(DB, "SELECT count(*) FROM pg_trigger"
                            + " WHERE tgname IN ('pgactive_row_versions', 'pgactive_row_inserted')"));
        }
    }

    @Test
    void randomOverlappingUpsertsAndDeletesConvergeWithHandlers() {
        List<WorkloadWriter> writers = new ArrayList<>();
        Random seeds = new Random(2126);
        for (PgCluster node : nodes) {
            for (int i = 0; i < WRITERS_PER_NODE; i++) {
                writers.add(new WorkloadWriter(node, DB, 20, new RandomChanges(new Random(seeds.nextLong())))
                        .tolerating(e -> Set.of("40P01", "23505").contains(e.getSQLState())));
            }
        }
        try {
            writers.forEach(WorkloadWriter::start);
            Await.holdsFor(Duration.ofSeconds(SECONDS), "every writer running",
                    () -> writers.stream().allMatch(WorkloadWriter::isAlive));
        } finally {
            writers.forEach(WorkloadWriter::stop);
        }
        for (WorkloadWriter w : writers) {
            w.stopAndCheck();
            assertTrue(w.commits() >= 5L * SECONDS, w.node().name() + "'s writer hardly ran: " + w.commits());
        }
        long total = writers.stream().mapToLong(WorkloadWriter::commits).sum();

        // Each node's mark arrives after all its changes: once every node has all three, all is applied.
        for (PgCluster node : nodes) {
            node.executeAs(PgCluster.APP_ROLE, DB, "INSERT INTO marks VALUES ('" + node.name() + "')");
        }
        for (PgCluster node : nodes) {
            Await.untilEquals(CONVERGE_TIMEOUT, "every node's mark on " + node.name(), 3L,
                    () -> node.queryLong(DB, "SELECT count(*) FROM marks"));
        }

        long merged = 0;
        for (String query : List.of("SELECT coalesce(string_agg(id || '=' || n, ',' ORDER BY id), '') FROM counters",
                "SELECT coalesce(string_agg(id || '=' || " + LABELS + "::text, ',' ORDER BY id), '') FROM " + TAGS)) {
            String first = nodes.get(0).queryString(DB, query);
            for (PgCluster node : nodes.subList(1, nodes.size())) {
                String other = node.queryString(DB, query);
                if (!first.equals(other)) {
                    printDifferences(first, other);
                }
                assertEquals(first, other, node.name() + " differs from node1: " + query);
            }
        }
        for (PgCluster node : nodes) {
            long byHandler = node.queryLong(DB, "SELECT count(*) FROM pgactive.pgactive_conflict_history"
                    + " WHERE conflict_resolution = 'conflict_trigger_returned_tuple'");
            System.out.printf("[handlers] %s: %d conflicts, %d resolved by a handler; %d rows, %d tag rows%n",
                    node.name(), node.queryLong(DB, "SELECT count(*) FROM pgactive.pgactive_conflict_history"
                            + " WHERE conflict_type <> 'unhandled_tx_abort'"), byHandler,
                    node.queryLong(DB, "SELECT count(*) FROM counters"), node.queryLong(DB, "SELECT count(*) FROM " + TAGS));
            merged += byHandler;
            // A deadlock with an application session is retried; anything else is a bug.
            assertEquals("", node.queryString(DB, "SELECT coalesce(string_agg(error_sqlstate || ' ' || error_message,"
                    + " '; '), '') FROM pgactive.pgactive_conflict_history"
                    + " WHERE conflict_type = 'unhandled_tx_abort' AND error_sqlstate <> '40P01'"),
                    "apply errors on " + node.name());
        }
        System.out.printf("[handlers] %d transactions committed by %d sessions in %d s%n", total, writers.size(), SECONDS);
        // The scenario must have raced: handlers decided on many rows.
        assertTrue(merged > 50, "too few conflicts resolved by the handlers to prove anything: " + merged);
    }

    /** For each key that differs: its row, its record of versions and its conflicts, on every node. */
    private static void printDifferences(String first, String other) {
        Set<String> a = Set.of(first.split(","));
        Set<String> b = Set.of(other.split(","));
        for (String entry : a) {
            if (b.contains(entry)) {
                continue;
            }
            String id = entry.substring(0, entry.indexOf('='));
            for (PgCluster node : nodes) {
                System.out.printf("[handlers] key %s on %s (%s): row %s; versions %s%n  conflicts: %s%n", id, node.name(),
                        node.queryString(DB, "SELECT sysid FROM pgactive.pgactive_get_local_nodeid()"),
                        node.queryString(DB, "SELECT n FROM counters WHERE id = " + id),
                        node.queryString(DB, "SELECT written_by || ' ' || versions FROM pgactive.pgactive_row_versions"
                                + " WHERE relname = 'public.counters' AND key = '{\"id\": " + id + "}'"),
                        node.queryString(DB, "SELECT string_agg(conflict_type || '/' || conflict_resolution || ' local '"
                                + " || coalesce(local_tuple::text, '-') || ' remote ' || coalesce(remote_tuple::text, '-')"
                                + " || ' from ' || coalesce(remote_commit_time::text, '?') || ' local time ' || coalesce(local_commit_time::text, '?'), E'\n    ' ORDER BY conflict_id)"
                                + " FROM pgactive.pgactive_conflict_history WHERE remote_tuple ->> 'id' = '" + id + "'"));
            }
            return; // one is enough to go on
        }
    }

    /** Alternating updates of one row, each after the previous arrived, are not conflicts. */
    @Test
    void sequentialUpdatesAcrossNodesAreNoConflicts() {
        PgCluster node1 = nodes.get(0);
        node1.executeAs(PgCluster.APP_ROLE, DB, "INSERT INTO counters VALUES (1000, 0)");
        Pgactive.awaitEverywhere(DB, "SELECT n FROM counters WHERE id = 1000", "0", nodes.toArray(PgCluster[]::new));
        for (int i = 1; i <= 6; i++) {
            PgCluster writer = nodes.get(i % nodes.size());
            // Decreasing values: keep_max would keep an older, larger one if these were judged conflicts.
            writer.executeAs(PgCluster.APP_ROLE, DB, "UPDATE counters SET n = " + (100 - i) + " WHERE id = 1000");
            Pgactive.awaitEverywhere(DB, "SELECT n FROM counters WHERE id = 1000", Integer.toString(100 - i),
                    nodes.toArray(PgCluster[]::new));
        }
        for (PgCluster node : nodes) {
            assertEquals(0, node.queryLong(DB, "SELECT count(*) FROM pgactive.pgactive_conflict_history"
                    + " WHERE (remote_tuple ->> 'id') = '1000'"), "conflicts logged on " + node.name());
        }
    }

    /** One application transaction: an upsert, a change or a delete of a random key of either table. */
    private static final class RandomChanges implements WorkloadWriter.Transaction {

        private final Random random;

        RandomChanges(Random random) {
            this.random = random;
        }

        @Override
        public void run(Connection conn) throws java.sql.SQLException {
            int key = random.nextInt(KEYS);
            int dice = random.nextInt(10);
            boolean tags = random.nextBoolean();
            String sql;
            if (dice < 2) {
                sql = tags ? "DELETE FROM " + TAGS + " WHERE id = ?" : "DELETE FROM counters WHERE id = ?";
            } else if (tags && dice < 4) {
                sql = "UPDATE " + TAGS + " SET " + LABELS + " = array_remove(" + LABELS + ", 'l' || ?) WHERE id = ?";
            } else if (tags) {
                sql = "INSERT INTO " + TAGS + " AS t VALUES (?, ARRAY['l' || ?]) ON CONFLICT (id) DO UPDATE SET "
                        + LABELS + " = ARRAY(SELECT DISTINCT l FROM unnest(t." + LABELS + " || EXCLUDED." + LABELS
                        + ") l ORDER BY 1)";
            } else {
                // Any value, up or down: keep_max only decides between versions that raced.
                sql = "INSERT INTO counters AS c VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET n = EXCLUDED.n";
            }
            try (PreparedStatement ps = conn.prepareStatement(sql)) {
                int label = random.nextInt(8);
                if (sql.startsWith("DELETE")) {
                    ps.setInt(1, key);
                } else if (sql.startsWith("UPDATE")) {
                    ps.setInt(1, label);
                    ps.setInt(2, key);
                } else {
                    ps.setInt(1, key);
                    ps.setInt(2, tags ? label : random.nextInt(1000));
                }
                ps.executeUpdate();
            }
        }
    }
}
