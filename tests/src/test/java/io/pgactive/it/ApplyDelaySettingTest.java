package io.pgactive.it;

import io.pgactive.harness.Await;
import io.pgactive.harness.ClusterExtension;
import io.pgactive.harness.PgCluster;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code pgactive.debug_apply_delay} is in milliseconds, so the server shows it with its unit
 * ("2500ms"); set in postgresql.conf or by a reload, it delays apply and breaks nothing.
 */
class ApplyDelaySettingTest {

    private static final String DB = "app";
    private static final String APP = PgCluster.APP_ROLE;
    private static final Duration DELAY = Duration.ofMillis(2500);

    @RegisterExtension
    static final ClusterExtension clusters = new ClusterExtension();

    @Test
    void delayFromPostgresqlConfAndFromAReloadIsHonoured() {
        PgCluster node1 = clusters.builder("node1").setting("pgactive.debug_apply_delay", "2500").start();
        PgCluster node2 = clusters.newCluster("node2");
        node1.createDatabase(DB);
        node1.execute(DB, "GRANT CREATE ON SCHEMA public TO " + APP);
        node1.executeAs(APP, DB, "CREATE TABLE t (id int PRIMARY KEY)");
        Pgactive.formGroup(DB, node1, node2);

        // node1 applies node2's changes late, by its postgresql.conf.
        long inserted = System.nanoTime();
        node2.executeAs(APP, DB, "INSERT INTO t VALUES (1)");
        assertArrivesLate(node1, 1, inserted);

        // node2 applies node1's changes late from a reload on: its links restart by themselves
        // (issue 20 item 3), which the restart of the walsender serving node2 on node1 shows.
        long walsender = walsenderPid(node1);
        node2.execute(DB, "ALTER SYSTEM SET pgactive.debug_apply_delay = '2500ms'");
        node2.reload();
        Await.untilEquals(Duration.ofSeconds(10), "the reloaded setting", "2500ms",
                () -> node2.queryString(DB, "SHOW pgactive.debug_apply_delay"));
        Await.until(Duration.ofSeconds(30), "node2's link from node1 to restart",
                () -> walsenderPid(node1) != walsender && walsenderPid(node1) != 0);
        inserted = System.nanoTime();
        node1.executeAs(APP, DB, "INSERT INTO t VALUES (2)");
        assertArrivesLate(node2, 2, inserted);
        for (PgCluster node : new PgCluster[] {node1, node2}) {
            String log = node.serverLogText();
            if (log.contains("invalid input syntax")) {
                throw new AssertionError("a link failed on " + node.name() + ":\n" + log);
            }
        }
    }

    /** A reload that turns the conflict history off takes effect without restarting anything by hand. */
    @Test
    void conflictHistoryTurnedOffByAReload() {
        PgCluster node1 = clusters.newCluster("hist1");
        PgCluster node2 = clusters.newCluster("hist2");
        node1.createDatabase(DB);
        node1.execute(DB, "GRANT CREATE ON SCHEMA public TO " + APP);
        node1.executeAs(APP, DB, "CREATE TABLE t (id int PRIMARY KEY, v text)");
        Pgactive.formGroup(DB, node1, node2);
        long walsender = walsenderPid(node1);
        node2.execute(DB, "ALTER SYSTEM SET pgactive.log_conflicts_to_table = off");
        node2.reload();
        Await.until(Duration.ofSeconds(30), "node2's link from node1 to restart",
                () -> walsenderPid(node1) != walsender && walsenderPid(node1) != 0);

        node2.executeAs(APP, DB, "INSERT INTO t VALUES (1, 'node2')");
        Pgactive.awaitEverywhere(DB, "SELECT count(*) FROM t", "1", node1);
        // Two updates that do not know each other (neither node applies the other's meanwhile):
        // a conflict on node2, where node1's, the later, wins.
        Pgactive.pauseApply(node2, DB, node1);
        Pgactive.pauseApply(node1, DB, node2);
        node2.executeAs(APP, DB, "UPDATE t SET v = 'node2 again' WHERE id = 1");
        node1.executeAs(APP, DB, "UPDATE t SET v = 'node1' WHERE id = 1");
        node1.execute(DB, "SELECT pgactive.pgactive_apply_resume()");
        node2.execute(DB, "SELECT pgactive.pgactive_apply_resume()");
        Pgactive.awaitEverywhere(DB, "SELECT v FROM t WHERE id = 1", "node1", node2);
        Await.until(Duration.ofSeconds(30), "node2 to count the conflict", () -> node2.queryLong(DB,
                "SELECT coalesce(sum(nr_update_conflict), 0) FROM pgactive.pgactive_stats") > 0);
        Await.holdsFor(Duration.ofSeconds(2), "no row in node2's conflict history",
                () -> node2.queryLong(DB, "SELECT count(*) FROM pgactive.pgactive_conflict_history") == 0);
    }

    /** The pid of the walsender streaming {@code node}'s changes to its peer, 0 if none. */
    private static long walsenderPid(PgCluster node) {
        return node.queryLong(DB, "SELECT coalesce(max(active_pid), 0) FROM pg_replication_slots"
                + " WHERE slot_name LIKE 'pgactive%' AND active");
    }

    /** Absent until shortly before the delay since {@code insertStart} ends (the commit came after it), then present. */
    private static void assertArrivesLate(PgCluster node, int id, long insertStart) {
        String probe = "SELECT count(*) FROM t WHERE id = " + id;
        Duration absentFor = DELAY.minusMillis(300).minusNanos(System.nanoTime() - insertStart);
        if (absentFor.isNegative()) {
            throw new IllegalStateException("the insert took longer than the delay; nothing to check");
        }
        Await.holdsFor(absentFor, "row " + id + " not yet applied on " + node.name(),
                () -> node.queryLong(DB, probe) == 0);
        Await.untilEquals(Duration.ofSeconds(30), "row " + id + " applied on " + node.name(), 1L,
                () -> node.queryLong(DB, probe));
    }
}
