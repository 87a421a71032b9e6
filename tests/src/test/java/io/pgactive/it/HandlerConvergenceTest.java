package io.pgactive.it;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgactive.harness.Await;
import io.pgactive.harness.ClusterExtension;
import io.pgactive.harness.PgCluster;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The keep-the-larger handler of docs/conflicts.md under random overlapping upserts, updates and
 * deletes on three nodes whose links lag by different amounts: the nodes end identical. A handler
 * decides only between changes made without knowing each other (causality-aware detection), and
 * keep-max decides the same whichever side is local, so every node reaches the same rows.
 * {@code -Dpgactive.handlers.seconds=60} runs the full length.
 */
class HandlerConvergenceTest {

    private static final String DB = "app";
    private static final int KEYS = 60;
    private static final int SECONDS = Integer.getInteger("pgactive.handlers.seconds", 20);
    private static final String TABLE = "bank.accounts";

    @RegisterExtension
    final ClusterExtension clusters = new ClusterExtension();

    @Test
    void keepMaxConvergesUnderRandomOverlappingWrites() throws Exception {
        PgCluster node1 = clusters.newCluster("node1");
        PgCluster node2 = clusters.newCluster("node2");
        PgCluster node3 = clusters.newCluster("node3");
        List<PgCluster> nodes = List.of(node1, node2, node3);
        node1.createDatabase(DB);
        node1.execute(DB, "CREATE SCHEMA bank AUTHORIZATION " + PgCluster.APP_ROLE);
        node1.executeAs(PgCluster.APP_ROLE, DB, "CREATE TABLE " + TABLE + " (id int PRIMARY KEY, balance bigint NOT NULL)");
        // docs/conflicts.md's handler, for this table
        node1.executeAs(PgCluster.APP_ROLE, DB, "CREATE FUNCTION bank.keep_max(local_row bank.accounts,"
                + " remote_row bank.accounts, command_tag text, table_oid regclass,"
                + " conflict_type pgactive.pgactive_conflict_type, OUT \"row\" bank.accounts,"
                + " OUT handler_action pgactive.pgactive_conflict_handler_action) LANGUAGE plpgsql AS $$ BEGIN"
                + " \"row\" := CASE WHEN local_row.balance >= remote_row.balance THEN local_row ELSE remote_row END;"
                + " handler_action := 'ROW'; END $$");
        Map<PgCluster, Integer> delays = Map.of(node1, 0, node2, 150, node3, 400);
        Pgactive.formGroupWithDelays(DB, delays::get, node1, node2, node3);
        node1.execute(DB, "SELECT pgactive.pgactive_create_conflict_handler('" + TABLE + "', 'keep_max',"
                + " 'bank.keep_max(bank.accounts, bank.accounts, text, regclass, pgactive.pgactive_conflict_type)',"
                + " 'update_update')");
        Pgactive.awaitEverywhere(DB, "SELECT count(*) FROM pgactive.pgactive_conflict_handlers", "1", node1, node2, node3);

        List<WorkloadWriter> writers = new ArrayList<>();
        for (PgCluster node : nodes) {
            for (int i = 0; i < 2; i++) {
                // Errors an application meets here (a deadlock with apply) are retried.
                writers.add(new WorkloadWriter(node, DB, 50, HandlerConvergenceTest::randomChange).tolerating(e -> true));
            }
        }
        writers.forEach(WorkloadWriter::start);
        Thread.sleep(SECONDS * 1000L); // the length of the workload, not a wait for a condition
        writers.forEach(WorkloadWriter::stopAndCheck);
        long commits = writers.stream().mapToLong(WorkloadWriter::commits).sum();
        assertTrue(commits > SECONDS * 50L, "the writers wrote: " + commits);

        String digest = "SELECT count(*) || ':' || coalesce(md5(string_agg(id || '=' || balance, ',' ORDER BY id)), '')"
                + " FROM " + TABLE;
        Await.until(Duration.ofSeconds(90), "the same accounts on every node", () -> {
            String first = node1.queryString(DB, digest);
            return nodes.stream().allMatch(n -> n.queryString(DB, digest).equals(first));
        });
        for (PgCluster node : nodes) {
            System.out.printf("[handlers] %s: %s; conflicts %s%n", node.name(), node.queryString(DB, digest),
                    node.queryString(DB, "SELECT coalesce(string_agg(conflict_type || ' ' || conflict_resolution || ' '"
                            + " || n, ', '), 'none') FROM (SELECT conflict_type, conflict_resolution, count(*) n"
                            + " FROM pgactive.pgactive_conflict_history GROUP BY 1, 2) c"));
        }
    }

    /** An upsert of a random balance, an increment, or a delete, of one of {@value #KEYS} accounts. */
    private static void randomChange(java.sql.Connection conn) throws java.sql.SQLException {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        int id = 1 + random.nextInt(KEYS);
        int op = random.nextInt(100);
        String sql = op < 55 ? "INSERT INTO " + TABLE + " VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET balance = EXCLUDED.balance"
                : op < 85 ? "UPDATE " + TABLE + " SET balance = balance + ? WHERE id = ?"
                : "DELETE FROM " + TABLE + " WHERE id = ?";
        try (PreparedStatement ps = conn.prepareStatement(sql)) {
            if (op < 55) {
                ps.setInt(1, id);
                ps.setLong(2, random.nextInt(1000));
            } else if (op < 85) {
                ps.setLong(1, 1 + random.nextInt(10));
                ps.setInt(2, id);
            } else {
                ps.setInt(1, id);
            }
            ps.executeUpdate();
        }
    }
}
