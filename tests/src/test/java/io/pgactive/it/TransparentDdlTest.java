package io.pgactive.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgactive.harness.Await;
import io.pgactive.harness.ClusterExtension;
import io.pgactive.harness.PgCluster;
import io.pgactive.harness.SqlFailedException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code pgactive.skip_ddl_replication = off} (docs/schema-changes.md): DDL the application role
 * runs on one node reaches every node under the global DDL lock, while all three write; what
 * cannot replicate is refused with upstream's errors; the lock holds peers' writes while it is
 * held, and a holder that dies, or one that cannot get every answer, leaves no lock behind.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TransparentDdlTest {

    private static final String DB = "app";
    private static final Duration SOON = Duration.ofSeconds(60);
    private static final String ITEMS = "shop.items";
    /** A name that breaks SQL built by concatenation. */
    private static final String NOTES = "shop.\"Notes ö $ \"\"x\"\"\"";

    @RegisterExtension
    static final ClusterExtension clusters = new ClusterExtension();

    private static PgCluster node1;
    private static PgCluster node2;
    private static PgCluster node3;
    private static List<PgCluster> nodes;

    @BeforeAll
    static void buildGroup() {
        node1 = start("node1");
        node2 = start("node2");
        node3 = start("node3");
        nodes = List.of(node1, node2, node3);
        node1.createDatabase(DB);
        node1.execute(DB, "CREATE SCHEMA shop AUTHORIZATION " + PgCluster.APP_ROLE);
        node1.executeAs(PgCluster.APP_ROLE, DB, "CREATE TABLE " + ITEMS
                + " (id text PRIMARY KEY, origin text NOT NULL, n int NOT NULL)");
        Pgactive.formGroup(DB, node1, node2, node3);
    }

    private static PgCluster start(String name) {
        return clusters.builder(name)
                .setting("pgactive.skip_ddl_replication", "off")
                .setting("pgactive.ddl_lock_timeout", "20s")
                .setting("pgactive.max_ddl_lock_delay", "2s")
                .start();
    }

    private static void asApp(PgCluster node, String sql) {
        node.executeAs(PgCluster.APP_ROLE, DB, sql);
    }

    @Test
    @Order(1)
    void ddlOnOneNodeReachesEveryNodeUnderLoad() {
        try (ItemLoad load = new ItemLoad(DB, ITEMS, nodes, SOON)) {
            asApp(node1, "ALTER TABLE " + ITEMS + " ADD COLUMN note text");
            // Two statements in one string, each queued with its own text.
            asApp(node2, "ALTER TABLE " + ITEMS + " ADD COLUMN flag int NOT NULL DEFAULT 7;"
                    + " CREATE INDEX items_flag ON " + ITEMS + " (flag)");
            asApp(node3, "ALTER TABLE " + ITEMS + " ALTER COLUMN n TYPE bigint");
            asApp(node1, "CREATE TABLE " + NOTES + " (id int PRIMARY KEY, body text)");
            // The table exists everywhere once node1's transaction applied: write into it on the others.
            for (PgCluster node : List.of(node2, node3)) {
                Await.untilEquals(SOON, "the notes table on " + node.name(), "true",
                        () -> node.queryString(DB, "SELECT (to_regclass('" + NOTES.replace("'", "''") + "') IS NOT NULL)::text"));
            }
            asApp(node2, "INSERT INTO " + NOTES + " VALUES (2, 'from node2')");
            asApp(node3, "INSERT INTO " + NOTES + " VALUES (3, 'from node3')");
            for (PgCluster node : nodes) {
                Await.untilEquals(SOON, "every note on " + node.name(), 2L,
                        () -> node.queryLong(DB, "SELECT count(*) FROM " + NOTES));
            }
            asApp(node2, "DROP TABLE " + NOTES);
            asApp(node3, "ALTER TABLE " + ITEMS + " DROP COLUMN note");
            load.stopAndCheck();
        }
        SchemaDumps.awaitSameSchema(DB, "shop", SOON, node1, node2, node3);
        String dump = SchemaDumps.dump(node1, DB, "shop");
        assertTrue(dump.contains("flag integer DEFAULT 7 NOT NULL") && dump.contains("n bigint NOT NULL")
                && dump.contains("items_flag") && !dump.contains("note text") && !dump.contains("Notes"), dump);
        // A row can reach a node before the DDL it needs, from a third node: that link waits a
        // moment and goes on by itself (docs/schema-changes.md). None may stay stuck.
        for (PgCluster node : nodes) {
            Await.untilEquals(SOON, "both links of " + node.name() + " streaming", 2L, () -> node.queryLong(DB,
                    "SELECT count(*) FROM pgactive.pgactive_links WHERE state = 'streaming'"));
        }
    }

    @Test
    @Order(2)
    void whatCannotReplicateIsRefusedAndWhatIsLocalStaysLocal() {
        long queued = node1.queryLong(DB, "SELECT count(*) FROM pgactive.pgactive_queued_commands");
        assertRefused("CREATE TABLE shop.copy AS SELECT * FROM " + ITEMS,
                "CREATE TABLE AS is not supported when pgactive is active");
        assertRefused("ALTER TABLE " + ITEMS + " ADD COLUMN r float8 DEFAULT random()",
                "ALTER TABLE ... ADD COLUMN ... DEFAULT may only affect UNLOGGED or TEMPORARY tables when pgactive"
                        + " is active; shop.items is a regular table");
        assertRefused("CREATE INDEX CONCURRENTLY items_n ON " + ITEMS + " (n)",
                "CREATE INDEX CONCURRENTLY without pgactive.skip_ddl_replication set may only affect UNLOGGED"
                        + " or TEMPORARY tables");
        assertRefused("DO $$ BEGIN EXECUTE 'CREATE TABLE shop.t_in_do (id int PRIMARY KEY)'; END $$",
                "DDL command attempted inside function or multi-statement string");
        SqlFailedException sneaky = assertThrows(SqlFailedException.class, () -> asApp(node1,
                "SELECT pgactive._execute_ddl_uncaptured('CREATE TABLE shop.sneaky (id int PRIMARY KEY)')"));
        assertTrue(sneaky.getMessage().contains("permission denied for function pgactive_replicate_ddl_command"),
                sneaky.getMessage());
        SqlFailedException skip = assertThrows(SqlFailedException.class, () -> node1.execute(DB,
                "SELECT pgactive.pgactive_skip_changes(node_sysid, node_timeline, node_dboid, '0/1')"
                + " FROM pgactive.pgactive_nodes WHERE node_name = 'node2'"));
        assertTrue(skip.getMessage().contains("skipping changes is unsafe"), skip.getMessage());
        SqlFailedException local = assertThrows(SqlFailedException.class,
                () -> node1.execute(DB, "SET pgactive.skip_ddl_replication = off"));
        assertTrue(local.getMessage().contains("can not be disabled locally"), local.getMessage());

        // Temporary tables and roles are each node's own: not queued, and no error.
        try (Connection conn = node1.connect(DB, PgCluster.APP_ROLE); Statement st = conn.createStatement()) {
            st.execute("CREATE TEMP TABLE scratch (id int PRIMARY KEY); INSERT INTO scratch VALUES (1)");
        } catch (SQLException e) {
            throw new AssertionError(e);
        }
        node1.execute(DB, "CREATE ROLE \"Local Ünïcode role\"");
        assertEquals(queued, node1.queryLong(DB, "SELECT count(*) FROM pgactive.pgactive_queued_commands"),
                "nothing refused or local was queued");
        // CREATE INDEX CONCURRENTLY, node by node, in a session that keeps its DDL local.
        for (PgCluster node : nodes) {
            try (Connection conn = node.connect(DB); Statement st = conn.createStatement()) {
                st.execute("SET pgactive.skip_ddl_replication = on");
                st.execute("CREATE INDEX CONCURRENTLY items_n ON " + ITEMS + " (n)");
            } catch (SQLException e) {
                throw new AssertionError(e);
            }
        }
        SchemaDumps.awaitSameSchema(DB, "shop", SOON, node1, node2, node3);
    }

    private static void assertRefused(String sql, String message) {
        SqlFailedException e = assertThrows(SqlFailedException.class, () -> asApp(node1, sql), sql);
        assertTrue(e.getMessage().contains(message), "refusing " + sql + ": " + e.getMessage());
        assertEquals("0A000", e.sqlState(), e.getMessage());
    }

    @Test
    @Order(3)
    void aWriteLockHoldsPeersWritesUntilItsTransactionEnds() throws Exception {
        try (Connection holder = node1.connect(DB)) {
            holder.setAutoCommit(false);
            try (Statement st = holder.createStatement()) {
                st.execute("SELECT pgactive.pgactive_acquire_global_lock('write_lock')");
            }
            assertEquals("acquire_acquired write_lock 2 2 true", node1.queryString(DB, "SELECT lock_state || ' ' || lock_mode"
                    + " || ' ' || npeers || ' ' || npeers_confirmed || ' ' || owner_is_my_node FROM pgactive.pgactive_global_locks_info"));
            assertEquals("write_lock acquired node1", node2.queryString(DB, "SELECT l.locktype || ' ' || l.state || ' ' || i.owner_node_name"
                    + " FROM pgactive.pgactive_global_locks l, pgactive.pgactive_global_locks_info i"));

            CompletableFuture<Void> write = CompletableFuture.runAsync(
                    () -> asApp(node2, "INSERT INTO " + ITEMS + " (id, origin, n) VALUES ('during the lock', 'node2', 0)"));
            Await.untilEquals(SOON, "node2's insert waiting for the global lock", 1L, () -> node2.queryLong(DB,
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Extension' AND query LIKE 'INSERT%'"));
            assertTrue(!write.isDone(), "the write waits while node1 holds the lock");
            // Apply goes on meanwhile: node1's own change reaches node2 before the lock is released.
            try (Statement st = holder.createStatement()) {
                st.execute("UPDATE " + ITEMS + " SET n = n + 1 WHERE id IN (SELECT min(id) FROM " + ITEMS + ")");
            }
            holder.commit();
        }
        Await.untilEquals(SOON, "node2's insert once the lock is released", 1L, () -> node2.queryLong(DB,
                "SELECT count(*) FROM " + ITEMS + " WHERE id = 'during the lock'"));
        for (PgCluster node : nodes) {
            Await.untilEquals(SOON, "no lock left on " + node.name(), "nolock",
                    () -> node.queryString(DB, "SELECT lock_state FROM pgactive.pgactive_global_locks_info"));
        }
    }

    @Test
    @Order(4)
    void aLockNoPeerCanGrantIsRefusedAndOneHeldByADeadNodeIsReleased() throws Exception {
        // A peer that is down cannot confirm: the request ends after ddl_lock_timeout, and the
        // peer that did confirm releases what it granted.
        node1.setSetting("pgactive.ddl_lock_timeout", "3s").reload();
        node3.stopImmediate();
        try {
            SqlFailedException e = assertThrows(SqlFailedException.class,
                    () -> node1.execute(DB, "SELECT pgactive.pgactive_acquire_global_lock('ddl_lock')"));
            assertTrue(e.getMessage().contains("1 of 2 peer nodes confirmed within 3000 ms"), e.getMessage());
            Await.untilEquals(SOON, "node2 to release what it granted", "nolock",
                    () -> node2.queryString(DB, "SELECT lock_state FROM pgactive.pgactive_global_locks_info"));
        } finally {
            node3.start();
            node1.setSetting("pgactive.ddl_lock_timeout", "20s").reload();
        }
        Await.untilEquals(SOON, "node3's links from node1 and node2 streaming again", 2L, () -> node3.queryLong(DB,
                "SELECT count(*) FROM pgactive.pgactive_links WHERE state = 'streaming'"));

        // A holder that dies holding a write lock: its peers write again once their links from it are gone.
        try (Connection holder = node1.connect(DB)) {
            holder.setAutoCommit(false);
            try (Statement st = holder.createStatement()) {
                st.execute("SELECT pgactive.pgactive_acquire_global_lock('write_lock')");
            }
            Await.untilEquals(SOON, "node2 holding node1's write lock", "acquired",
                    () -> node2.queryString(DB, "SELECT coalesce(max(state), 'none') FROM pgactive.pgactive_global_locks"));
            node1.stopImmediate();
        } catch (SQLException expected) {
            // the holder's connection goes with its server
        }
        try {
            CompletableFuture<Void> write = CompletableFuture.runAsync(
                    () -> asApp(node2, "INSERT INTO " + ITEMS + " (id, origin, n) VALUES ('after the holder died', 'node2', 0)"));
            write.get(SOON.toSeconds(), TimeUnit.SECONDS);
            assertEquals("nolock", node2.queryString(DB, "SELECT lock_state FROM pgactive.pgactive_global_locks_info"));
        } finally {
            node1.start();
        }
        Await.untilEquals(SOON, "the row written after the holder died, on node1", 1L, () -> node1.queryLong(DB,
                "SELECT count(*) FROM " + ITEMS + " WHERE id = 'after the holder died'"));
    }

    @Test
    @Order(5)
    void aNodeWhoseSettingDiffersStartsNoLinksAndSaysWhy() {
        node3.setSetting("pgactive.skip_ddl_replication", "on").reload();
        try {
            Await.untilEquals(SOON, "node3's links stalled on the setting", 2L, () -> node3.queryLong(DB,
                    "SELECT count(*) FROM pgactive.pgactive_links WHERE state <> 'streaming' AND last_error LIKE"
                    + " '%pgactive.skip_ddl_replication is on here but off on the upstream node%'"));
        } finally {
            node3.setSetting("pgactive.skip_ddl_replication", "off").reload();
        }
        Await.untilEquals(SOON, "node3's links streaming again", 2L, () -> node3.queryLong(DB,
                "SELECT count(*) FROM pgactive.pgactive_links WHERE state = 'streaming'"));
    }
}
