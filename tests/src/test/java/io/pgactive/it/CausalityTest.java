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
 * A remote change is a conflict only if its author had not seen the row's version
 * (docs/conflicts.md, "How a conflict is detected"): updates and deletes that follow each other
 * across nodes log nothing, while truly concurrent ones are still detected on every node that
 * sees them, and resolved the same way everywhere.
 */
class CausalityTest {

    private static final String DB = "app";
    private static final Duration SOON = Duration.ofSeconds(60);
    private static final String TABLE = "causal.\"Causal $ö\"";

    @RegisterExtension
    static final ClusterExtension clusters = new ClusterExtension();

    private static PgCluster node1;
    private static PgCluster node2;
    private static PgCluster node3;
    private static List<PgCluster> nodes;

    @BeforeAll
    static void buildGroup() {
        node1 = clusters.newCluster("node1");
        node2 = clusters.newCluster("node2");
        node3 = clusters.newCluster("node3");
        nodes = List.of(node1, node2, node3);
        node1.createDatabase(DB);
        node1.execute(DB, "CREATE SCHEMA causal AUTHORIZATION " + PgCluster.APP_ROLE);
        node1.executeAs(PgCluster.APP_ROLE, DB, "CREATE TABLE " + TABLE + " (k int PRIMARY KEY, v text NOT NULL)");
        Pgactive.formGroup(DB, node1, node2, node3);
    }

    private static long conflicts(PgCluster node, int key) {
        return node.queryLong(DB, "SELECT count(*) FROM pgactive.pgactive_conflict_history"
                + " WHERE conflict_type IN ('update_update', 'update_delete', 'insert_insert')"
                + " AND (remote_tuple->>'k')::int = " + key);
    }

    private static void awaitEverywhere(int key, String value) {
        for (PgCluster node : nodes) {
            Await.untilEquals(SOON, "row " + key + " = " + value + " on " + node.name(), value,
                    () -> node.queryString(DB, "SELECT coalesce((SELECT v FROM " + TABLE + " WHERE k = " + key + "),"
                            + " '<none>')"));
        }
    }

    @Test
    void changesThatFollowEachOtherAcrossNodesAreNoConflicts() {
        node1.executeAs(PgCluster.APP_ROLE, DB, "INSERT INTO " + TABLE + " VALUES (1, 'start')");
        awaitEverywhere(1, "start");
        List<PgCluster> order = List.of(node2, node3, node1);
        for (int round = 1; round <= 3; round++) {
            for (PgCluster node : order) {
                String value = node.name() + " 'round' " + round;
                node.executeAs(PgCluster.APP_ROLE, DB, "UPDATE " + TABLE + " SET v = '" + value.replace("'", "''")
                        + "' WHERE k = 1");
                awaitEverywhere(1, value);
            }
        }
        node2.executeAs(PgCluster.APP_ROLE, DB, "DELETE FROM " + TABLE + " WHERE k = 1");
        awaitEverywhere(1, "<none>");
        for (PgCluster node : nodes) {
            assertEquals(0L, conflicts(node, 1), "conflicts logged on " + node.name()
                    + " for changes each made after seeing the one before");
        }
    }

    @Test
    void concurrentUpdatesAreStillConflictsOnEveryNodeAndEndTheSame() {
        node3.executeAs(PgCluster.APP_ROLE, DB, "INSERT INTO " + TABLE + " VALUES (2, 'start')");
        awaitEverywhere(2, "start");
        Pgactive.pauseApplyEverywhere(DB, nodes);
        // Neither has seen the other's: a conflict wherever the second one arrives.
        node1.executeAs(PgCluster.APP_ROLE, DB, "UPDATE " + TABLE + " SET v = 'from node1' WHERE k = 2");
        node2.executeAs(PgCluster.APP_ROLE, DB, "UPDATE " + TABLE + " SET v = 'from node2' WHERE k = 2");
        Pgactive.resumeApplyEverywhere(DB, nodes);
        String winner = "from node2"; // the later commit
        awaitEverywhere(2, winner);
        for (PgCluster node : nodes) {
            Await.untilEquals(SOON, "one conflict for row 2 on " + node.name(), 1L, () -> conflicts(node, 2));
            // The history says why, and pgactive_stats counts what the history holds.
            String reason = node.queryString(DB, "SELECT conflict_reason FROM pgactive.pgactive_conflict_history"
                    + " WHERE (remote_tuple->>'k')::int = 2");
            assertTrue(reason.startsWith("last update wins: ") && reason.contains(" is later than "), reason);
            // Both versions named with their nodes and times; both rows recorded.
            String time = "to_char(%s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')";
            assertEquals("t", node.queryString(DB, "SELECT position('(committed ' || " + time.formatted("remote_commit_time")
                    + " || ' on node ' || remote_node_sysid || ')' IN conflict_reason) > 0"
                    + " AND position('(committed ' || " + time.formatted("local_commit_time") + " || ' on node '"
                    + " || local_tuple_origin_sysid || ')' IN conflict_reason) > 0"
                    + " AND local_tuple->>'v' <> remote_tuple->>'v' AND remote_tuple->>'k' = '2'"
                    + " FROM pgactive.pgactive_conflict_history WHERE (remote_tuple->>'k')::int = 2"), reason);
            Await.untilEquals(SOON, "update conflicts counted on " + node.name() + " as in its history",
                    node.queryLong(DB, "SELECT count(*) FROM pgactive.pgactive_conflict_history WHERE conflict_type = 'update_update'"),
                    () -> node.queryLong(DB, "SELECT coalesce(sum(nr_update_conflict), 0) FROM pgactive.pgactive_stats"));
        }
    }
}
