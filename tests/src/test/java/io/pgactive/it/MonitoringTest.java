package io.pgactive.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgactive.harness.Await;
import io.pgactive.harness.ClusterExtension;
import io.pgactive.harness.PgCluster;
import io.pgactive.harness.SqlFailedException;
import java.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Upstream's monitoring and worker-control functions, on three nodes. */
class MonitoringTest {

    private static final String DB = "app";
    private static final Duration SOON = Duration.ofSeconds(30);

    @RegisterExtension
    static final ClusterExtension clusters = new ClusterExtension();

    private static PgCluster node1;
    private static PgCluster node2;
    private static PgCluster node3;

    @BeforeAll
    static void formGroup() {
        node1 = clusters.newCluster("node1");
        node2 = clusters.newCluster("node2");
        node3 = clusters.newCluster("node3");
        node1.createDatabase(DB);
        node1.execute(DB, "CREATE TABLE t (id int PRIMARY KEY, v text)");
        Pgactive.formGroup(DB, node1, node2, node3);
    }

    private static String identityArguments(PgCluster node) {
        return node.queryString(DB, "SELECT format('%L, %s, %s', sysid, timeline, dboid) FROM pgactive.pgactive_get_local_nodeid()");
    }

    @Test
    void lastAppliedTransactionOfANode() {
        String xid = node1.queryString(DB, "INSERT INTO t VALUES (1, 'one') RETURNING txid_current()::text");
        String committed = node1.queryString(DB, "SELECT pg_xact_commit_timestamp(xmin)::text FROM t WHERE id = 1");
        // node1 may commit more (its catalog) after this one: the last applied is this one or a later one.
        String info = "SELECT last_applied_xact_id::text::bigint >= " + xid
                + " AND last_applied_xact_committs >= '" + committed + "'"
                + " AND last_applied_xact_at >= last_applied_xact_committs"
                + " FROM pgactive.pgactive_get_last_applied_xact_info(" + identityArguments(node1) + ")";
        for (PgCluster node : new PgCluster[] {node2, node3}) {
            Await.untilEquals(SOON, "node1's transaction applied on " + node.name(), "t", () -> node.queryString(DB, info));
        }
        assertEquals(2, node2.queryLong(DB, "SELECT count(*) FROM pgactive.pgactive_node_slots"
                + " WHERE walsender_active AND slot_confirmed_lsn IS NOT NULL"), "node2's slots for node1 and node3");
    }

    @Test
    void workersAreListedAndARestartedLinkComesBackLosingNothing() {
        String workers = "SELECT string_agg(worker_type, ',' ORDER BY worker_type) FROM pgactive.pgactive_get_workers_info()";
        Await.untilEquals(SOON, "node2's workers", "apply,apply,per-db,walsender,walsender",
                () -> node2.queryString(DB, workers));
        String applyFromNode1 = "SELECT pid FROM pgactive.pgactive_get_workers_info() w, pgactive.pgactive_nodes n"
                + " WHERE w.worker_type = 'apply' AND w.sysid = n.node_sysid AND n.node_name = 'node1'";
        long before = node2.queryLong(DB, applyFromNode1);

        assertEquals("t", node2.queryString(DB, "SELECT pgactive.pgactive_terminate_workers("
                + identityArguments(node1) + ", 'apply')"));
        node1.execute(DB, "INSERT INTO t SELECT g, 'after the restart' FROM generate_series(100, 199) g");
        Await.untilEquals(SOON, "node1's rows on node2 after its link restarted", 100L,
                () -> node2.queryLong(DB, "SELECT count(*) FROM t WHERE v = 'after the restart'"));
        assertNotEquals(before, node2.queryLong(DB, applyFromNode1), "a new apply backend");
        assertEquals(0, node2.queryLong(DB, "SELECT count(*) FROM pgactive.pgactive_conflict_history"),
                "nothing applied twice");

        // The node manager comes back too.
        long perDb = node3.queryLong(DB, "SELECT pid FROM pgactive.pgactive_get_workers_info() WHERE worker_type = 'per-db'");
        assertEquals("t", node3.queryString(DB, "SELECT pgactive.pgactive_terminate_perdb_worker("
                + "(SELECT oid FROM pg_database WHERE datname = current_database()))"));
        Await.until(SOON, "a new per-db worker on node3", () -> node3.queryLong(DB,
                "SELECT count(*) FROM pgactive.pgactive_get_workers_info() WHERE worker_type = 'per-db' AND pid <> " + perDb) == 1);
    }

    @Test
    void waitingForSlotsToConfirmWhatWasWritten() {
        node3.execute(DB, "INSERT INTO t SELECT g, 'waited for' FROM generate_series(1000, 1999) g");
        node3.execute(DB, "SELECT pgactive.pgactive_wait_for_slots_confirmed_flush_lsn(NULL, NULL)");
        // Confirmed means applied: both peers have every row.
        assertEquals(1000, node1.queryLong(DB, "SELECT count(*) FROM t WHERE v = 'waited for'"));
        assertEquals(1000, node2.queryLong(DB, "SELECT count(*) FROM t WHERE v = 'waited for'"));
        SqlFailedException unknown = assertThrows(SqlFailedException.class, () -> node3.execute(DB,
                "SELECT pgactive.pgactive_wait_for_slots_confirmed_flush_lsn('no_such_slot', NULL)"));
        assertTrue(unknown.getMessage().contains("replication slot \"no_such_slot\" does not exist"), unknown.getMessage());
    }
}
