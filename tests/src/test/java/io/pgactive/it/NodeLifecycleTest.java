package io.pgactive.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgactive.harness.Await;
import io.pgactive.harness.ClusterExtension;
import io.pgactive.harness.PgCluster;
import io.pgactive.harness.SqlFailedException;
import io.pgactive.harness.TcpProxy;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A node lost for good, as a DBA meets it: the group detaches it so that its slots stop holding
 * WAL; when it comes back it is refused and knows why; removed, it leaves nothing; it joins
 * again under its old name while the others write.
 */
class NodeLifecycleTest {

    private static final String DB = "app";
    private static final String APP = PgCluster.APP_ROLE;
    private static final Duration SOON = Duration.ofSeconds(30);

    @RegisterExtension
    static final ClusterExtension clusters = new ClusterExtension();

    @Test
    void aLostNodeIsDetachedRefusedWhenItComesBackRemovedAndJoinsAgain() throws Exception {
        PgCluster node1 = clusters.newCluster("node1");
        PgCluster node2 = clusters.newCluster("node2");
        PgCluster node3 = clusters.newCluster("node3");
        node1.createDatabase(DB);
        node1.execute(DB, "GRANT CREATE ON SCHEMA public TO " + APP);
        node1.executeAs(APP, DB, "CREATE TABLE events (node text, seq int, PRIMARY KEY (node, seq));"
                + " CREATE TABLE notes (id int PRIMARY KEY, body text)");
        Pgactive.formGroup(DB, node1, node2, node3);
        String node3Id = identity(node3);

        try (Writers writers = new Writers()) {
            writers.start(node1, DB, List.of());
            writers.start(node2, DB, List.of());
            node3.stopImmediate(); // lost for good, as far as the group knows

            node1.execute(DB, "SELECT pgactive.pgactive_detach_nodes(ARRAY['node3'])");
            for (PgCluster survivor : List.of(node1, node2)) {
                Await.untilEquals(SOON, "node3's slot and origin gone from " + survivor.name(), 0L,
                        () -> survivor.queryLong(DB, "SELECT (SELECT count(*) FROM pg_replication_slots"
                                + "   WHERE slot_name LIKE '%\\_" + node3Id + "\\_\\_')"
                                + " + (SELECT count(*) FROM pg_replication_origin WHERE roname LIKE 'pgactive\\_" + node3Id + "\\_%')"));
                assertEquals("k", survivor.queryString(DB, "SELECT node_status FROM pgactive.pgactive_nodes"
                        + " WHERE node_name = 'node3'"));
            }
            // The survivors go on replicating each other's writes.
            node1.executeAs(APP, DB, "INSERT INTO notes VALUES (1, 'after the detach, from node1')");
            node2.executeAs(APP, DB, "INSERT INTO notes VALUES (2, 'after the detach, from node2')");
            Pgactive.awaitEverywhere(DB, "SELECT count(*) FROM notes", "2", node1, node2);
            writers.stopAll();
        }

        // node3 comes back: refused by its peers, it says so itself, and what it writes stays there.
        node3.start();
        Await.untilEquals(SOON, "node3 to learn that it was detached", "k",
                () -> node3.queryString(DB, "SELECT node_status FROM pgactive._local_node()"));
        SqlFailedException detached = assertThrows(SqlFailedException.class, () -> Pgactive.waitReady(node3, DB));
        assertTrue(detached.getMessage().contains("node \"node3\" has been detached from its group"), detached.getMessage());
        node3.executeAs(APP, DB, "INSERT INTO notes VALUES (3, 'written on the detached node')");
        Await.holdsFor(Duration.ofSeconds(3), "node3's write applied nowhere",
                () -> node1.queryLong(DB, "SELECT count(*) FROM notes WHERE id = 3")
                        + node2.queryLong(DB, "SELECT count(*) FROM notes WHERE id = 3") == 0);

        // An active node's extension cannot be dropped; a removed one leaves nothing of pgactive.
        SqlFailedException refused = assertThrows(SqlFailedException.class,
                () -> node1.execute(DB, "DROP EXTENSION pgactive"));
        assertTrue(refused.getMessage().contains("cannot drop extension pgactive while this database is an active"
                + " pgactive node"), refused.getMessage());
        node3.execute(DB, "SELECT pgactive.pgactive_remove()");
        Await.untilEquals(SOON, "nothing of pgactive left on node3", 0L, () -> node3.queryLong(DB,
                "SELECT (SELECT count(*) FROM pg_replication_slots)"
                + " + (SELECT count(*) FROM pg_replication_origin)"
                + " + (SELECT count(*) FROM pg_publication)"
                + " + (SELECT count(*) FROM pg_trigger WHERE tgname = 'pgactive_tombstone')"
                + " + (SELECT count(*) FROM pgactive.pgactive_nodes)"
                + " + (SELECT count(*) FROM pgactive.pgactive_connections)"));

        // node3 joins again under its name, replacing what it had, while the others write (new
        // writers count from 1 again).
        node1.executeAs(APP, DB, "TRUNCATE events");
        Pgactive.awaitEverywhere(DB, "SELECT count(*) FROM events", "0", node1, node2);
        try (Writers writers = new Writers()) {
            Writers.Writer w1 = writers.start(node1, DB, List.of());
            Writers.Writer w2 = writers.start(node2, DB, List.of());
            node3.execute(DB, "SELECT pgactive.pgactive_join_group('node3', '" + node3.dsn(DB) + "', '"
                    + node1.dsn(DB) + "', bypass_user_tables_check := true)");
            Pgactive.waitReady(node3, DB);
            node3.executeAs(APP, DB, "INSERT INTO notes VALUES (4, 'from node3, back in the group')");
            writers.stopAll();
            String expected = w1.committedSeq.get() + "," + w2.committedSeq.get();
            Pgactive.awaitEverywhere(DB, "SELECT coalesce(max(seq) FILTER (WHERE node = 'node1'), 0) || ','"
                    + " || coalesce(max(seq) FILTER (WHERE node = 'node2'), 0) FROM events", expected, node1, node2, node3);
            Pgactive.awaitEverywhere(DB, "SELECT count(*) FROM events", String.valueOf(w1.committedSeq.get()
                    + w2.committedSeq.get()), node1, node2, node3);
        }
        Pgactive.awaitEverywhere(DB, "SELECT string_agg(id::text, ',' ORDER BY id) FROM notes", "1,2,4", node1, node2, node3);
        // Back as a new node under the old name; the detached one stays listed as such.
        assertTrue(!identity(node3).equals(node3Id), "node3 joined again with a new identity");
        Pgactive.awaitEverywhere(DB, "SELECT string_agg(node_name || ':' || node_status::text, ','"
                + " ORDER BY node_name, node_status DESC) FROM pgactive.pgactive_nodes",
                "node1:r,node2:r,node3:r,node3:k", node1, node2, node3);
    }

    /**
     * A node's streaming standby is promoted and takes its place: it keeps the node's identity, so
     * that its peers, once told its new address, stream from it and it from them, with nothing
     * lost and no rejoin.
     */
    @Test
    void aPromotedStandbyTakesItsNodesPlace() throws Exception {
        PgCluster node1 = clusters.newCluster("promo1");
        PgCluster node2 = clusters.newCluster("promo2");
        node1.createDatabase(DB);
        node1.execute(DB, "GRANT CREATE ON SCHEMA public TO " + APP);
        node1.executeAs(APP, DB, "CREATE TABLE events (node text, seq int, PRIMARY KEY (node, seq))");
        Pgactive.formGroup(DB, node1, node2);
        String node2Id = identity(node2);
        PgCluster standby = clusters.builder("promo2s").copyOf(node2, true).start();

        long before1;
        long before2;
        try (Writers writers = new Writers()) {
            Writers.Writer w1 = writers.start(node1, DB, List.of());
            Writers.Writer w2 = writers.start(node2, DB, List.of());
            Await.until(SOON, "some writes", () -> w1.committedSeq.get() > 50 && w2.committedSeq.get() > 50);
            writers.stopAll();
            before1 = w1.committedSeq.get();
            before2 = w2.committedSeq.get();
        }
        // The failover loses nothing when the standby and the peer have everything: wait for both.
        String counts = "SELECT count(*) FILTER (WHERE node = 'promo1') || ',' || count(*) FILTER (WHERE node = 'promo2') FROM events";
        Pgactive.awaitEverywhere(DB, counts, before1 + "," + before2, node1, node2);
        String lsn = node2.queryString(DB, "SELECT pg_current_wal_lsn()::text");
        Await.untilEquals(SOON, "the standby to replay node2's WAL", "t",
                () -> standby.queryString(DB, "SELECT pg_last_wal_replay_lsn() >= '" + lsn + "'::pg_lsn"));
        assertEquals(node2Id, identity(standby), "a standby has its primary's node identity");

        node2.stopImmediate(); // lost
        standby.promote();
        assertEquals(node2Id, identity(standby), "a promoted standby keeps it");
        node1.execute(DB, "SELECT pgactive.pgactive_update_node_conninfo('promo2', '" + standby.dsn(DB) + "')");
        Pgactive.waitReady(standby, DB);

        standby.executeAs(APP, DB, "INSERT INTO events VALUES ('promo2', " + (before2 + 1) + ")");
        node1.executeAs(APP, DB, "INSERT INTO events VALUES ('promo1', " + (before1 + 1) + ")");
        Pgactive.awaitEverywhere(DB, counts, (before1 + 1) + "," + (before2 + 1), node1, standby);
        Pgactive.awaitEverywhere(DB, "SELECT string_agg(node_name || ':' || node_status::text, ',' ORDER BY node_name)"
                + " FROM pgactive.pgactive_nodes", "promo1:r,promo2:r", node1, standby);
        assertEquals(0, node1.queryLong(DB, "SELECT count(*) FROM pgactive.pgactive_conflict_history")
                + standby.queryLong(DB, "SELECT count(*) FROM pgactive.pgactive_conflict_history"), "nothing applied twice");
    }

    /**
     * A physical copy of a running node has the node's identity: it does not replicate (it would
     * take changes the original needs) and says so; removed and joined, it is a node of its own,
     * and the original goes on as before.
     */
    @Test
    void aPhysicalCopyRemovedAndJoinedIsANodeOfItsOwn() {
        PgCluster node1 = clusters.newCluster("orig1");
        PgCluster node2 = clusters.newCluster("orig2");
        node1.createDatabase(DB);
        node1.execute(DB, "CREATE TABLE notes (id int PRIMARY KEY, body text)");
        Pgactive.formGroup(DB, node1, node2);
        node2.execute(DB, "INSERT INTO notes VALUES (1, 'before the copy')");
        Pgactive.awaitEverywhere(DB, "SELECT count(*) FROM notes", "1", node1, node2);

        PgCluster copy = clusters.builder("copy").copyOf(node2, false).start();
        Await.until(SOON, "the copy to say what it is", () -> String.valueOf(copy.queryString(DB,
                "SELECT last_error FROM pgactive.pgactive_local_state")).contains("is a physical copy of node \"orig2\""));
        SqlFailedException notReady = assertThrows(SqlFailedException.class, () -> Pgactive.waitReady(copy, DB));
        assertTrue(notReady.getMessage().contains("pgactive_remove(force := true)"), notReady.getMessage());

        copy.execute(DB, "SELECT pgactive.pgactive_remove(force := true)");
        copy.execute(DB, "SELECT pgactive.pgactive_join_group('copy', '" + copy.dsn(DB) + "', '" + node1.dsn(DB)
                + "', bypass_user_tables_check := true)");
        Pgactive.waitReady(copy, DB);
        assertTrue(!identity(copy).equals(identity(node2)), "the copy has an identity of its own");

        node1.execute(DB, "INSERT INTO notes VALUES (2, 'from node1')");
        node2.execute(DB, "INSERT INTO notes VALUES (3, 'from the original')");
        copy.execute(DB, "INSERT INTO notes VALUES (4, 'from the copy')");
        Pgactive.awaitEverywhere(DB, "SELECT string_agg(id::text, ',' ORDER BY id) FROM notes", "1,2,3,4", node1, node2, copy);
        Pgactive.awaitEverywhere(DB, "SELECT string_agg(node_name || ':' || node_status::text, ',' ORDER BY node_name)"
                + " FROM pgactive.pgactive_nodes", "copy:r,orig1:r,orig2:r", node1, node2, copy);
    }

    /**
     * A node moves (here: from one TCP proxy to another in front of it): its DSN changes
     * group-wide, links reconnect with the new one, and nothing written meanwhile is lost or
     * applied twice.
     */
    @Test
    void aNodeMovesToANewAddressUnderLoad() throws Exception {
        PgCluster node1 = clusters.newCluster("mover1");
        PgCluster node2 = clusters.newCluster("mover2");
        try (TcpProxy oldAddress = TcpProxy.start(node2.port()); TcpProxy newAddress = TcpProxy.start(node2.port())) {
            node1.createDatabase(DB);
            node1.execute(DB, "GRANT CREATE ON SCHEMA public TO " + APP);
            node1.executeAs(APP, DB, "CREATE TABLE events (node text, seq int, PRIMARY KEY (node, seq))");
            node1.execute(DB, "CREATE EXTENSION pgactive");
            Pgactive.createGroup(node1, DB, "node1");
            Pgactive.waitReady(node1, DB);
            Pgactive.createDatabaseWithExtension(node2, DB);
            node2.execute(DB, "SELECT pgactive.pgactive_join_group('node2', '" + viaProxy(oldAddress) + "', '"
                    + node1.dsn(DB) + "')");
            Pgactive.waitReady(node2, DB);
            Await.until(SOON, "node1 streaming from node2 through the old address", () -> oldAddress.openConnections() > 0);

            try (Writers writers = new Writers()) {
                Writers.Writer w1 = writers.start(node1, DB, List.of());
                Writers.Writer w2 = writers.start(node2, DB, List.of());
                SqlFailedException wrong = assertThrows(SqlFailedException.class, () -> node1.execute(DB,
                        "SELECT pgactive.pgactive_update_node_conninfo('node2', '" + node1.dsn(DB) + "')"));
                assertTrue(wrong.getMessage().contains("node_dsn_to_update reaches database"), wrong.getMessage());
                node1.execute(DB, "SELECT pgactive.pgactive_update_node_conninfo('node2', '" + viaProxy(newAddress) + "')");
                Await.until(SOON, "node1 streaming from node2 through the new address",
                        () -> newAddress.openConnections() > 0 && oldAddress.openConnections() == 0);
                oldAddress.cut();
                Pgactive.awaitEverywhere(DB, "SELECT node_dsn FROM pgactive.pgactive_nodes WHERE node_name = 'node2'",
                        viaProxy(newAddress), node1, node2);
                writers.stopAll();
                String expected = w1.committedSeq.get() + "," + w2.committedSeq.get();
                Pgactive.awaitEverywhere(DB, "SELECT count(*) FILTER (WHERE node = 'mover1') || ','"
                        + " || count(*) FILTER (WHERE node = 'mover2') FROM events", expected, node1, node2);
            }
            for (PgCluster node : List.of(node1, node2)) {
                assertEquals(0, node.queryLong(DB, "SELECT count(*) FROM pgactive.pgactive_conflict_history"),
                        "nothing applied twice on " + node.name());
            }
        }
    }

    @Test
    void aReadOnlyNodeRefusesUserWritesAndStillApplies() {
        PgCluster node1 = clusters.newCluster("ro1");
        PgCluster node2 = clusters.newCluster("ro2");
        node1.createDatabase(DB);
        node1.execute(DB, "GRANT CREATE ON SCHEMA public TO " + APP);
        node1.executeAs(APP, DB, "CREATE TABLE notes (id int PRIMARY KEY, body text)");
        Pgactive.formGroup(DB, node1, node2);

        node1.execute(DB, "SELECT pgactive.pgactive_set_node_read_only('ro2', true)");
        Pgactive.awaitEverywhere(DB, "SELECT node_read_only FROM pgactive.pgactive_nodes WHERE node_name = 'ro2'",
                "t", node1, node2);
        for (String write : List.of("INSERT INTO notes VALUES (1, 'x')", "UPDATE notes SET body = 'y'",
                "DELETE FROM notes", "TRUNCATE notes", "COPY notes FROM PROGRAM 'true'", "CREATE TABLE more (id int)",
                "CREATE TEMP TABLE scratch (id int)", "ALTER TABLE notes ADD COLUMN extra int")) {
            SqlFailedException refused = assertThrows(SqlFailedException.class, () -> node2.execute(DB, write), write);
            assertTrue(refused.getMessage().contains("on a read-only pgactive node"), refused.getMessage());
        }
        SqlFailedException asApp = assertThrows(SqlFailedException.class,
                () -> node2.executeAs(APP, DB, "INSERT INTO notes VALUES (2, 'x')"));
        assertTrue(asApp.getMessage().contains("cannot execute INSERT on a read-only pgactive node"), asApp.getMessage());
        // Apply still writes: node1's rows arrive.
        node1.executeAs(APP, DB, "INSERT INTO notes VALUES (3, 'from node1')");
        Pgactive.awaitEverywhere(DB, "SELECT string_agg(id::text, ',') FROM notes", "3", node1, node2);

        node2.execute(DB, "SELECT pgactive.pgactive_set_node_read_only('ro2', false)");
        node2.executeAs(APP, DB, "INSERT INTO notes VALUES (4, 'from node2, writable again')");
        Pgactive.awaitEverywhere(DB, "SELECT string_agg(id::text, ',' ORDER BY id) FROM notes", "3,4", node1, node2);
    }

    /**
     * With max_slot_wal_keep_size, a server invalidates a slot that holds too much WAL: the peer
     * that streamed from it has lost changes for good. The lag view shows it, the peer says it
     * must rejoin, and its link does not spin.
     */
    @Test
    void aSlotInvalidatedForMaxSlotWalKeepSizeSaysTheNodeMustRejoin() {
        PgCluster node1 = clusters.builder("keep1").setting("max_slot_wal_keep_size", "1MB")
                .setting("wal_keep_size", "0").start();
        PgCluster node2 = clusters.newCluster("keep2");
        node1.createDatabase(DB);
        node1.execute(DB, "CREATE TABLE t (id int PRIMARY KEY)");
        Pgactive.formGroup(DB, node1, node2);
        Await.untilEquals(SOON, "node2's slot on node1 keeping little WAL", "reserved", () -> node1.queryString(DB,
                "SELECT wal_status FROM pgactive.pgactive_get_replication_lag_info() WHERE node_name = 'keep2'"));

        Pgactive.pauseApply(node2, DB, node1);
        for (int i = 0; i < 4; i++) {
            node1.execute(DB, "INSERT INTO t VALUES (" + i + "); SELECT pg_switch_wal()");
        }
        node1.execute(DB, "CHECKPOINT");
        Await.untilEquals(SOON, "node2's slot on node1 invalidated", "lost", () -> node1.queryString(DB,
                "SELECT wal_status FROM pgactive.pgactive_get_replication_lag_info() WHERE node_name = 'keep2'"));

        node2.execute(DB, "SELECT pgactive.pgactive_apply_resume()");
        Await.until(SOON, "node2 to say it must rejoin", () -> {
            try {
                Pgactive.waitReady(node2, DB);
                return false;
            } catch (SqlFailedException e) {
                return e.getMessage().contains("must be removed and join the group again");
            }
        });
        String said = "failed for good";
        Await.holdsFor(Duration.ofSeconds(3), "the lost link said so once, and does not retry",
                () -> node2.serverLogText().split(said, -1).length - 1 == 1);
    }

    /**
     * Replication origins belong to a whole instance: two databases of one instance, nodes of one
     * group, each apply from the same upstream under origins of their own.
     */
    @Test
    void twoDatabasesOfOneInstanceAreNodesOfOneGroup() {
        PgCluster first = clusters.newCluster("single");
        PgCluster both = clusters.newCluster("double");
        first.createDatabase(DB);
        first.execute(DB, "CREATE TABLE notes (id int PRIMARY KEY, body text); CREATE EXTENSION pgactive");
        Pgactive.createGroup(first, DB, "single");
        Pgactive.waitReady(first, DB);
        for (String db : List.of("one", "two")) {
            Pgactive.createDatabaseWithExtension(both, db);
            // "two" keeps its server's identity, as bypass_node_identifier_creation asks
            both.execute(db, "SELECT pgactive.pgactive_join_group('" + db + "', '" + both.dsn(db) + "', '"
                    + first.dsn(DB) + "', bypass_node_identifier_creation := " + db.equals("two") + ")");
            Pgactive.waitReady(both, db);
        }
        assertEquals(both.queryString("one", "SELECT pgactive.pgactive_get_node_identifier()::text"),
                both.queryString("one", "SELECT sysid FROM pgactive.pgactive_get_local_nodeid()"));
        assertEquals(both.queryString("two", "SELECT system_identifier::text FROM pg_control_system()"),
                both.queryString("two", "SELECT sysid FROM pgactive.pgactive_get_local_nodeid()"));
        first.execute(DB, "INSERT INTO notes VALUES (1, 'from single')");
        both.execute("one", "INSERT INTO notes VALUES (2, 'from one')");
        both.execute("two", "INSERT INTO notes VALUES (3, 'from two')");
        String all = "SELECT string_agg(id::text, ',' ORDER BY id) FROM notes";
        Await.untilEquals(SOON, "every row on single", "1,2,3", () -> first.queryString(DB, all));
        Await.untilEquals(SOON, "every row on one", "1,2,3", () -> both.queryString("one", all));
        Await.untilEquals(SOON, "every row on two", "1,2,3", () -> both.queryString("two", all));
        assertEquals(4, both.queryLong("one", "SELECT count(*) FROM pg_replication_origin WHERE roname LIKE 'pgactive\\_%'"),
                "each database of the instance has its own origins for its two peers");
    }

    private static String viaProxy(TcpProxy proxy) {
        return "host=127.0.0.1 port=" + proxy.port() + " dbname=" + DB + " user=postgres";
    }

    /** {@code <sysid>_<timeline>_<dboid>}, as slot and origin names hold it. */
    private static String identity(PgCluster node) {
        return node.queryString(DB, "SELECT format('%s_%s_%s', sysid, timeline, dboid) FROM pgactive.pgactive_get_local_nodeid()");
    }
}
