package io.pgactive.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgactive.harness.Await;
import io.pgactive.harness.ClusterExtension;
import io.pgactive.harness.PgCluster;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Schema changes on three nodes under continuous writes from the application role on all of
 * them (docs/schema-changes.md): first by hand on each node, one node after the other, then
 * through {@code pgactive_replicate_ddl_command}. Nothing may be lost, applied twice or cut
 * short, and every node ends with the same rows and the same schema.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SchemaChangesTest {

    private static final String DB = "app";
    private static final Duration SOON = Duration.ofSeconds(60);
    /** Between one node's DDL and the next's: the window in which schemas differ. */
    private static final long BETWEEN_NODES_MILLIS = 1000;
    private static final String ITEMS = "shop.items";
    /** A name that breaks SQL built by concatenation, for a table created and dropped node by node. */
    private static final String NOTES = "shop.\"Notes ö\"";
    private static final String EXTRA = "\"Extra $col\"";

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
        node1.execute(DB, "CREATE SCHEMA shop AUTHORIZATION " + PgCluster.APP_ROLE);
        node1.executeAs(PgCluster.APP_ROLE, DB, "CREATE TABLE " + ITEMS
                + " (id text PRIMARY KEY, origin text NOT NULL, n int NOT NULL, code varchar(5));"
                + " INSERT INTO " + ITEMS + " VALUES ('code row', 'test', 0, 'abc')");
        Pgactive.formGroup(DB, node1, node2, node3);
    }

    @Test
    @Order(1)
    void ddlByHandOnEachNodeUnderLoad() throws Exception {
        try (ItemLoad load = new ItemLoad(DB, ITEMS, nodes, SOON)) {
            onEachNode("ALTER TABLE " + ITEMS + " ADD COLUMN " + EXTRA + " text");
            // Rows written where the column does not exist yet get the default where it does.
            onEachNode("ALTER TABLE " + ITEMS + " ADD COLUMN flag int NOT NULL DEFAULT 7");
            onEachNode("ALTER TABLE " + ITEMS + " ALTER COLUMN n TYPE bigint");

            // A widened column takes longer values whole: the other nodes wait for their own
            // ALTER (the value does not fit there yet) instead of cutting it short.
            asApp(node1, "ALTER TABLE " + ITEMS + " ALTER COLUMN code TYPE varchar(20)");
            asApp(node1, "UPDATE " + ITEMS + " SET code = 'twelve chars' WHERE id = 'code row'");
            for (PgCluster node : List.of(node2, node3)) {
                awaitStalled(node, "value too long");
                asApp(node, "ALTER TABLE " + ITEMS + " ALTER COLUMN code TYPE varchar(20)");
                Await.untilEquals(SOON, "the long value on " + node.name(), "twelve chars",
                        () -> node.queryString(DB, "SELECT code FROM " + ITEMS + " WHERE id = 'code row'"));
            }

            // A table created on one node, written at once: the others wait for it, saying so.
            asApp(node1, "CREATE TABLE " + NOTES + " (id int PRIMARY KEY, body text);"
                    + " INSERT INTO " + NOTES + " SELECT g, 'from node1' FROM generate_series(1, 10) g");
            for (PgCluster node : List.of(node2, node3)) {
                awaitStalled(node, "relation \"shop.Notes ö\" does not exist");
                asApp(node, "CREATE TABLE " + NOTES + " (id int PRIMARY KEY, body text)");
            }
            asApp(node2, "INSERT INTO " + NOTES + " VALUES (11, 'from node2')");
            asApp(node3, "INSERT INTO " + NOTES + " VALUES (12, 'from node3')");
            for (PgCluster node : nodes) {
                Await.untilEquals(SOON, "every note on " + node.name(), 12L,
                        () -> node.queryLong(DB, "SELECT count(*) FROM " + NOTES));
            }
            // Dropped node by node while the others still write into it: those rows go with it.
            asApp(node1, "DROP TABLE " + NOTES);
            asApp(node2, "INSERT INTO " + NOTES + " VALUES (13, 'gone with the table')");
            pause();
            asApp(node2, "DROP TABLE " + NOTES);
            asApp(node3, "INSERT INTO " + NOTES + " VALUES (14, 'gone with the table')");
            pause();
            asApp(node3, "DROP TABLE " + NOTES);

            // A column dropped node by node while node3 still writes values into it.
            asApp(node3, "UPDATE " + ITEMS + " SET " + EXTRA + " = 'x' WHERE origin = 'node3'");
            asApp(node1, "ALTER TABLE " + ITEMS + " DROP COLUMN " + EXTRA);
            asApp(node3, "UPDATE " + ITEMS + " SET " + EXTRA + " = 'y' WHERE origin = 'node3'");
            pause();
            asApp(node2, "ALTER TABLE " + ITEMS + " DROP COLUMN " + EXTRA);
            asApp(node3, "UPDATE " + ITEMS + " SET " + EXTRA + " = 'z' WHERE origin = 'node3'");
            pause();
            asApp(node3, "ALTER TABLE " + ITEMS + " DROP COLUMN " + EXTRA);

            for (PgCluster node : nodes) {
                asApp(node, "CREATE INDEX CONCURRENTLY items_n ON " + ITEMS + " (n)");
                pause();
            }
            load.stopAndCheck();
        }
        assertSameSchemaEverywhere();
        for (PgCluster node : nodes) {
            assertNull(node.queryString(DB, "SELECT to_regclass('shop.\"Notes ö\"')"), node.name());
            assertEquals("12 7", node.queryString(DB,
                    "SELECT max(length(code)) || ' ' || min(flag) || (CASE WHEN max(flag) <> 7 THEN '!' ELSE '' END)"
                    + " FROM " + ITEMS), node.name());
            assertEquals("t", node.queryString(DB, "SELECT 'shop.items_n'::regclass IS NOT NULL"));
        }
    }

    /**
     * DDL through pgactive_replicate_ddl_command, under the same load: every node runs each
     * command at the same point of the stream, as the role that queued it and with its
     * search_path, including DDL and writes to the new definition in one transaction.
     */
    @Test
    @Order(2)
    void replicatedDdlUnderLoad() throws Exception {
        for (PgCluster node : nodes) {
            node.execute(DB, "GRANT EXECUTE ON FUNCTION pgactive.pgactive_replicate_ddl_command(text, text[]) TO "
                    + PgCluster.APP_ROLE + "; GRANT INSERT ON pgactive.pgactive_queued_commands TO " + PgCluster.APP_ROLE);
        }
        try (ItemLoad load = new ItemLoad(DB, ITEMS, nodes, SOON)) {
            replicate(node1, "CREATE TABLE \"Orders\" (id int PRIMARY KEY, item text, qty int DEFAULT 1)");
            awaitEverywhere("SELECT count(*) FROM pg_tables WHERE tablename = 'Orders'", "1");
            asApp(node2, "SET search_path = shop; BEGIN;"
                    + " SELECT pgactive.pgactive_replicate_ddl_command('ALTER TABLE \"Orders\" ADD COLUMN note text DEFAULT ''n''');"
                    + " INSERT INTO \"Orders\" (id, item, note) SELECT g, 'item ' || (g % 3), 'node2' FROM generate_series(1, 20) g;"
                    + " COMMIT");
            awaitEverywhere("SELECT count(*) FROM pg_attribute WHERE attname = 'note' AND attrelid = 'shop.\"Orders\"'::regclass", "1");
            replicate(node3, "CREATE INDEX orders_item ON \"Orders\" (item)");
            replicate(node1, "ALTER TABLE \"Orders\" ALTER COLUMN qty TYPE bigint");
            asApp(node1, "INSERT INTO shop.\"Orders\" (id, item, qty) VALUES (100, 'big', 5000000000)");
            awaitEverywhere("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attname = 'qty'"
                    + " AND attrelid = 'shop.\"Orders\"'::regclass", "bigint");
            replicate(node2, "ALTER TABLE items DROP COLUMN code");
            replicate(node3, "CREATE VIEW order_totals AS SELECT item, sum(qty) AS qty FROM \"Orders\" GROUP BY item");
            load.stopAndCheck();
        }
        for (PgCluster node : nodes) {
            Await.untilEquals(SOON, "the orders on " + node.name(), "21 rows, 5000000020 in all, 20 noted by node2",
                    () -> node.queryString(DB, "SELECT count(*) || ' rows, ' || sum(qty) || ' in all, '"
                            + " || count(*) FILTER (WHERE note = 'node2') || ' noted by node2' FROM shop.\"Orders\""));
            assertEquals("5000000020", node.queryString(DB, "SELECT sum(qty) FROM shop.order_totals"), node.name());
        }
        assertSameSchemaEverywhere();
        String dump = SchemaDumps.dump(node1, DB, "shop");
        assertTrue(dump.contains("CREATE VIEW shop.order_totals"), dump);
        assertEquals("app", node3.queryString(DB, "SELECT tableowner FROM pg_tables WHERE tablename = 'Orders'"),
                "the command ran as the role that queued it");
    }

    /** A queued command that fails on a peer stops that link, says why, and goes on once fixed. */
    @Test
    @Order(3)
    void aCommandThatFailsOnAPeerWaitsForTheOperator() {
        node2.executeAs(PgCluster.APP_ROLE, DB, "CREATE TABLE shop.clash (id int PRIMARY KEY)");
        replicate(node1, "CREATE TABLE clash (id int PRIMARY KEY, v text)");
        asApp(node1, "INSERT INTO shop.clash VALUES (1, 'after the command')");
        awaitStalled(node2, "relation \"clash\" already exists");
        Await.untilEquals(SOON, "the failure in node2's conflict history", "t",
                () -> node2.queryString(DB, "SELECT count(*) > 0 FROM pgactive.pgactive_conflict_history"
                        + " WHERE conflict_type = 'unhandled_tx_abort' AND error_message LIKE '%\"clash\" already exists%'"));
        asApp(node2, "DROP TABLE shop.clash");
        Await.untilEquals(SOON, "the command and the row after it on node2", "after the command",
                () -> node2.queryString(DB, "SELECT v FROM shop.clash WHERE id = 1"));
        assertSameSchemaEverywhere();
    }

    // ------------------------------------------------------------------ helpers

    private static void onEachNode(String ddl) throws InterruptedException {
        for (PgCluster node : nodes) {
            asApp(node, ddl);
            pause();
        }
    }

    private static void awaitEverywhere(String sql, String expected) {
        Pgactive.awaitEverywhere(DB, sql, expected, node1, node2, node3);
    }

    private static void pause() throws InterruptedException {
        // Not a wait for a condition: the time during which the nodes' schemas differ.
        TimeUnit.MILLISECONDS.sleep(BETWEEN_NODES_MILLIS);
    }

    private static void asApp(PgCluster node, String sql) {
        node.executeAs(PgCluster.APP_ROLE, DB, sql);
    }

    private static void replicate(PgCluster node, String ddl) {
        asApp(node, "SET search_path = shop; SELECT pgactive.pgactive_replicate_ddl_command('"
                + ddl.replace("'", "''") + "')");
    }

    /** Waits until {@code node}'s link from node1 is stalled, naming why, and when that began. */
    private static void awaitStalled(PgCluster node, String why) {
        Await.untilEquals(SOON, node.name() + "'s link from node1 stalled on: " + why, "stalled since a moment ago",
                () -> node.queryString(DB, "SELECT state || ' since ' || CASE WHEN state_since > now() - interval '5 min'"
                        + " THEN 'a moment ago' END FROM pgactive.pgactive_links WHERE peer_name = 'node1'"
                        + " AND last_error LIKE '%' || " + literal(why) + " || '%'"));
    }

    private static String literal(String text) {
        return "'" + text.replace("'", "''") + "'";
    }

    private static void assertSameSchemaEverywhere() {
        SchemaDumps.awaitSameSchema(DB, "shop", SOON, node1, node2, node3);
    }
}
