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

/** Three nodes on three clusters: joins copy everything, and every node's writes reach the others once. */
class MeshReplicationTest {

    private static final String DB = "app";

    @RegisterExtension
    static final ClusterExtension clusters = new ClusterExtension();

    private static PgCluster node1;
    private static PgCluster node2;
    private static PgCluster node3;

    @BeforeAll
    static void buildGroup() {
        node1 = clusters.newCluster("node1");
        node2 = clusters.newCluster("node2");
        node3 = clusters.newCluster("node3");
        node1.createDatabase(DB);
        node1.execute(DB, "CREATE TABLE items (id int PRIMARY KEY, label text, qty int)");
        node1.execute(DB, "CREATE TABLE pairs (a int, b text, note text, PRIMARY KEY (a, b))");
        node1.execute(DB, "CREATE TABLE scratch (id int PRIMARY KEY)");
        node1.execute(DB, "INSERT INTO items SELECT g, 'before ' || g, g FROM generate_series(1, 100) g");
        Pgactive.formGroup(DB, node1, node2, node3);
    }

    /**
     * The worker names slots and origins (catalog/Names.java) as upstream's SQL functions do: each
     * peer's slot for this node, and this node's origin for each peer, exist under those names.
     */
    @Test
    void slotsAndOriginsHaveTheNamesTheSqlFunctionsGive() {
        for (PgCluster node : List.of(node1, node2, node3)) {
            for (PgCluster peer : List.of(node1, node2, node3)) {
                if (peer == node) {
                    continue;
                }
                String peerId = "(SELECT node_sysid, node_timeline, node_dboid FROM pgactive.pgactive_nodes"
                        + " WHERE node_name = '" + peer.name() + "')";
                assertEquals("1", node.queryString(DB, "SELECT count(*) FROM pg_replication_origin o, " + peerId
                        + " p(s, t, d) WHERE o.roname = pgactive.pgactive_format_replident_name(p.s, p.t, p.d,"
                        + " (SELECT oid FROM pg_database WHERE datname = current_database()), '')"), node.name());
                String slot = node.queryString(DB, "SELECT pgactive.pgactive_format_slot_name(l.sysid, l.timeline,"
                        + " l.dboid, (SELECT node_dboid FROM pgactive.pgactive_nodes WHERE node_name = '" + peer.name()
                        + "'), '') FROM pgactive.pgactive_get_local_nodeid() l");
                assertEquals("1", peer.queryString(DB, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '"
                        + slot + "'"), node.name() + "'s slot on " + peer.name());
            }
        }
    }

    @Test
    void joinsCopyDataCreatedBeforeTheGroup() {
        for (PgCluster node : List.of(node2, node3)) {
            assertEquals(100, node.queryLong(DB, "SELECT count(*) FROM items WHERE label LIKE 'before %'"));
        }
    }

    @Test
    void everyNodeListsEveryMember() {
        Pgactive.awaitEverywhere(DB, "SELECT string_agg(node_name || ':' || node_status::text, ',' ORDER BY node_name)"
                + " FROM pgactive.pgactive_nodes", "node1:r,node2:r,node3:r", node1, node2, node3);
        assertEquals("node1", node1.queryString(DB, "SELECT pgactive.pgactive_get_local_node_name()"));
        assertEquals("node2", node2.queryString(DB, "SELECT pgactive.pgactive_get_local_node_name()"));
        assertEquals("node3", node3.queryString(DB, "SELECT pgactive.pgactive_get_local_node_name()"));
        Pgactive.awaitEverywhere(DB, "SELECT count(*) FROM pgactive.pgactive_connections", "3", node1, node2, node3);
    }

    /** Nodes write each other's status rows while one joins: pgactive's business, not a user conflict. */
    @Test
    void cleanJoinsLogNoConflicts() {
        Pgactive.awaitEverywhere(DB, "SELECT string_agg(node_status::text, '') FROM pgactive.pgactive_nodes", "rrr",
                node1, node2, node3);
        for (PgCluster node : List.of(node1, node2, node3)) {
            assertEquals(0, node.queryLong(DB, "SELECT count(*) FROM pgactive.pgactive_conflict_history"
                    + " WHERE object_schema = 'pgactive'"), node.name());
            assertEquals(0, node.queryLong(DB, "SELECT count(*) FROM pgactive.pgactive_stats"
                    + " WHERE nr_insert_conflict + nr_update_conflict + nr_delete_conflict > 0"), node.name());
        }
    }

    @Test
    void truncateReplicates() {
        node2.execute(DB, "INSERT INTO scratch SELECT generate_series(1, 10)");
        Pgactive.awaitEverywhere(DB, "SELECT count(*) FROM scratch", "10", node1, node2, node3);
        node3.execute(DB, "TRUNCATE scratch");
        Pgactive.awaitEverywhere(DB, "SELECT count(*) FROM scratch", "0", node1, node2, node3);
    }

    @Test
    void onAnIdleGroupAChangeIsEverywhereWithinOneSecond() {
        for (PgCluster origin : List.of(node1, node2, node3)) {
            int id = 2000 + Integer.parseInt(origin.name().substring(4));
            long start = System.nanoTime();
            origin.execute(DB, "INSERT INTO items VALUES (" + id + ", 'latency', 0)");
            for (PgCluster node : List.of(node1, node2, node3)) {
                Await.until(Duration.ofSeconds(5), "row " + id + " on " + node.name(),
                        () -> node.queryLong(DB, "SELECT count(*) FROM items WHERE id = " + id) == 1);
            }
            long millis = (System.nanoTime() - start) / 1_000_000;
            assertTrue(millis < 1000, "row from " + origin.name() + " took " + millis + " ms to reach every node");
        }
    }

    /** As upstream, from any node: every node's slots, each node asked. */
    @Test
    void lagInfoHasOneRowPerSlotOfTheGroup() {
        String everySlot = "SELECT string_agg(sender_node_name || '->' || node_name || ':' || active, ','"
                + " ORDER BY sender_node_name, node_name) FROM pgactive.pgactive_get_replication_lag_info()";
        Pgactive.awaitEverywhere(DB, everySlot,
                "node1->node2:true,node1->node3:true,node2->node1:true,node2->node3:true,node3->node1:true,node3->node2:true",
                node1, node2, node3);
        assertEquals(List.of("node_name", "node_sysid", "application_name", "slot_name", "active", "active_pid",
                        "pending_wal_decoding", "pending_wal_to_apply", "restart_lsn", "confirmed_flush_lsn",
                        "sent_lsn", "write_lsn", "flush_lsn", "replay_lsn"),
                node3.queryColumn(DB, "SELECT unnest(proargnames[1:14]) FROM pg_proc"
                        + " WHERE proname = 'pgactive_get_replication_lag_info'"));
        assertTrue(node3.queryString(DB, "SELECT string_agg(application_name, ',')"
                + " FROM pgactive.pgactive_get_replication_lag_info() WHERE sender_node_name = 'node3'")
                .matches("pgactive:\\d+:send,pgactive:\\d+:send"));
    }

    @Test
    void writesOnEveryNodeReachTheOthersExactlyOnce() {
        node1.execute(DB, "INSERT INTO items VALUES (1001, 'from node1', 1)");
        node2.execute(DB, "INSERT INTO items VALUES (1002, 'from node2', 2)");
        node3.execute(DB, "INSERT INTO items VALUES (1003, 'from node3', 3)");
        Pgactive.awaitEverywhere(DB, "SELECT string_agg(label, ',' ORDER BY id) FROM items WHERE id BETWEEN 1001 AND 1999",
                "from node1,from node2,from node3", node1, node2, node3);

        node2.execute(DB, "UPDATE items SET qty = qty + 10 WHERE id = 1001");
        node3.execute(DB, "DELETE FROM items WHERE id = 1002");
        node1.execute(DB, "INSERT INTO pairs VALUES (1, 'x', 'one'), (2, 'y', 'two')");
        Pgactive.awaitEverywhere(DB, "SELECT string_agg(id || ':' || qty, ',' ORDER BY id) FROM items WHERE id BETWEEN 1001 AND 1999",
                "1001:11,1003:3", node1, node2, node3);
        Pgactive.awaitEverywhere(DB, "SELECT string_agg(a || b || note, ',' ORDER BY a) FROM pairs",
                "1xone,2ytwo", node1, node2, node3);

        node3.execute(DB, "UPDATE pairs SET b = 'z' WHERE a = 2"); // key change
        Pgactive.awaitEverywhere(DB, "SELECT string_agg(a || b || note, ',' ORDER BY a) FROM pairs",
                "1xone,2ztwo", node1, node2, node3);
    }
}
