package io.pgactive.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgactive.harness.Await;
import io.pgactive.harness.ClusterExtension;
import io.pgactive.harness.PgCluster;
import io.pgactive.harness.SqlFailedException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 21 item 3: a table set up with {@code pgactive_set_column_level} merges concurrent
 * updates of one row column by column (each column keeps its own last writer), and its counter
 * columns add up what every node added, with nothing lost and no conflict logged for either.
 */
class ColumnLevelTest {

    private static final String DB = "app";
    private static final Duration SOON = Duration.ofSeconds(90);
    private static final String TABLE = "cl.\"Account $ö\"";
    private static final String OWNER = "\"Owner name\"";
    private static final String MAIL = "\"e-mail\"";
    private static final String BALANCE = "\"Balance ö\"";

    @RegisterExtension
    static final ClusterExtension clusters = new ClusterExtension();

    private static PgCluster node1;
    private static PgCluster node2;
    private static PgCluster node3;
    private static List<PgCluster> nodes;
    private static ExecutorService writers;

    @BeforeAll
    static void buildGroup() {
        node1 = clusters.newCluster("node1");
        node2 = clusters.newCluster("node2");
        node3 = clusters.newCluster("node3");
        nodes = List.of(node1, node2, node3);
        node1.createDatabase(DB);
        node1.execute(DB, "CREATE SCHEMA cl AUTHORIZATION " + PgCluster.APP_ROLE);
        node1.executeAs(PgCluster.APP_ROLE, DB, "CREATE TABLE " + TABLE + " (id int PRIMARY KEY, " + OWNER
                + " text, " + MAIL + " text, " + BALANCE + " bigint NOT NULL DEFAULT 0, hits numeric)");
        node1.executeAs(PgCluster.APP_ROLE, DB, "CREATE TABLE cl.plain (id int PRIMARY KEY, label text)");
        node1.executeAs(PgCluster.APP_ROLE, DB, "CREATE TABLE cl.tally (at timestamptz PRIMARY KEY, n int NOT NULL)");
        // Set before the group forms: the joiners copy the setting.
        node1.execute(DB, "CREATE EXTENSION pgactive");
        node1.execute(DB, "SELECT pgactive.pgactive_set_column_level('" + TABLE + "', ARRAY['Balance ö', 'hits'])");
        Pgactive.formGroup(DB, node1, node2, node3);
        awaitTriggersEverywhere(TABLE);
        writers = Executors.newFixedThreadPool(nodes.size());
    }

    private static void awaitTriggersEverywhere(String table) {
        for (PgCluster node : nodes) {
            Await.untilEquals(SOON, "column-level triggers on " + table + " on " + node.name(), 2L,
                    () -> node.queryLong(DB, "SELECT count(*) FROM pg_trigger WHERE tgrelid = '" + table + "'::regclass"
                            + " AND tgname IN ('pgactive_column_changes', 'pgactive_column_versions')"));
        }
    }

    @AfterAll
    static void stopWriters() {
        if (writers != null) {
            writers.shutdownNow();
        }
    }

    private static void insertEverywhere(int id) {
        node1.executeAs(PgCluster.APP_ROLE, DB, "INSERT INTO " + TABLE + " (id, " + OWNER + ", " + MAIL + ", hits)"
                + " VALUES (" + id + ", 'start', 'start@example.org', 0)");
        Pgactive.awaitEverywhere(DB, "SELECT count(*) FROM " + TABLE + " WHERE id = " + id, "1", node1, node2, node3);
    }

    private static String row(int id) {
        return "SELECT concat_ws('|', " + OWNER + ", " + MAIL + ", " + BALANCE + ", hits) FROM " + TABLE
                + " WHERE id = " + id;
    }

    private static long updateConflicts(PgCluster node, int id) {
        return node.queryLong(DB, "SELECT count(*) FROM pgactive.pgactive_conflict_history"
                + " WHERE conflict_type = 'update_update' AND (remote_tuple->>'id')::int = " + id);
    }

    /** {@code count} increments of one row's counters by every node at once, as the application role. */
    private static void incrementEverywhere(int id, int count) throws Exception {
        List<Future<?>> running = new ArrayList<>();
        for (PgCluster node : nodes) {
            running.add(writers.submit(() -> {
                try (Connection c = node.connect(DB, PgCluster.APP_ROLE);
                     PreparedStatement ps = c.prepareStatement("UPDATE " + TABLE + " SET " + BALANCE + " = "
                             + BALANCE + " + 1, hits = hits + 0.5 WHERE id = ?")) {
                    ps.setInt(1, id);
                    for (int i = 0; i < count; i++) {
                        assertEquals(1, ps.executeUpdate());
                    }
                }
                return null;
            }));
        }
        for (Future<?> f : running) {
            f.get();
        }
    }

    @Test
    void concurrentIncrementsOnEveryNodeAddUp() throws Exception {
        insertEverywhere(1);
        // Half made while no node sees another's (every increment concurrent with the others'),
        // half while all apply as they go.
        Pgactive.pauseApplyEverywhere(DB, nodes);
        incrementEverywhere(1, 500);
        Pgactive.resumeApplyEverywhere(DB, nodes);
        incrementEverywhere(1, 500);
        Pgactive.awaitEverywhere(DB, row(1), "start|start@example.org|3000|1500.0", node1, node2, node3);
        for (PgCluster node : nodes) {
            assertEquals(0L, updateConflicts(node, 1), "conflicts logged on " + node.name() + " for counters");
        }
    }

    /**
     * Set once the group runs, on a table keyed by a time written from sessions in other time
     * zones: the messages name the row as the stream does, whatever the writer's settings.
     */
    @Test
    void aSettingMadeInAGroupReachesEveryNode() {
        String row = " WHERE at = '2026-01-01 12:00:00+00'";
        node1.executeAs(PgCluster.APP_ROLE, DB, "INSERT INTO cl.tally VALUES ('2026-01-01 12:00:00+00', 0)");
        Pgactive.awaitEverywhere(DB, "SELECT n FROM cl.tally" + row, "0", node1, node2, node3);
        node2.execute(DB, "SELECT pgactive.pgactive_set_column_level('cl.tally', ARRAY['n'])");
        awaitTriggersEverywhere("cl.tally");
        Pgactive.pauseApplyEverywhere(DB, nodes);
        List<String> zones = List.of("Asia/Kolkata", "America/New_York", "UTC");
        for (int n = 0; n < nodes.size(); n++) {
            for (int i = 0; i < 10; i++) {
                nodes.get(n).executeAs(PgCluster.APP_ROLE, DB, "SET TimeZone = '" + zones.get(n) + "';"
                        + " UPDATE cl.tally SET n = n + 1" + row);
            }
        }
        Pgactive.resumeApplyEverywhere(DB, nodes);
        Pgactive.awaitEverywhere(DB, "SELECT n FROM cl.tally" + row, "30", node1, node2, node3);
    }

    @Test
    void concurrentUpdatesOfDifferentColumnsAllSurvive() {
        insertEverywhere(2);
        Pgactive.pauseApplyEverywhere(DB, nodes);
        node1.executeAs(PgCluster.APP_ROLE, DB, "UPDATE " + TABLE + " SET " + OWNER + " = 'Zoë ''n1''' WHERE id = 2");
        node2.executeAs(PgCluster.APP_ROLE, DB, "UPDATE " + TABLE + " SET " + MAIL + " = 'n2@example.org' WHERE id = 2");
        node3.executeAs(PgCluster.APP_ROLE, DB, "UPDATE " + TABLE + " SET " + BALANCE + " = " + BALANCE + " + 5"
                + " WHERE id = 2");
        Pgactive.resumeApplyEverywhere(DB, nodes);
        Pgactive.awaitEverywhere(DB, row(2), "Zoë 'n1'|n2@example.org|5|0", node1, node2, node3);
        for (PgCluster node : nodes) {
            assertEquals(0L, updateConflicts(node, 2), "conflicts logged on " + node.name()
                    + " for updates of different columns");
        }
    }

    @Test
    void concurrentUpdatesOfOneColumnAreConflictsDecidedPerColumn() {
        insertEverywhere(3);
        Pgactive.pauseApplyEverywhere(DB, nodes);
        node1.executeAs(PgCluster.APP_ROLE, DB, "UPDATE " + TABLE + " SET " + OWNER + " = 'n1', " + MAIL
                + " = 'n1@example.org' WHERE id = 3");
        node2.executeAs(PgCluster.APP_ROLE, DB, "UPDATE " + TABLE + " SET " + OWNER + " = 'n2' WHERE id = 3");
        Pgactive.resumeApplyEverywhere(DB, nodes);
        // The owner both changed goes to the later update; the mail only node1 changed stays node1's.
        Pgactive.awaitEverywhere(DB, row(3), "n2|n1@example.org|0|0", node1, node2, node3);
        for (PgCluster node : nodes) {
            Await.untilEquals(SOON, "one conflict for row 3 on " + node.name(), 1L, () -> updateConflicts(node, 3));
        }
        assertEquals("last_update_wins_keep_local", node2.queryString(DB, "SELECT conflict_resolution::text"
                + " FROM pgactive.pgactive_conflict_history WHERE (remote_tuple->>'id')::int = 3"));
    }

    @Test
    void columnsThatCannotBeCountersAreRefused() {
        for (String[] bad : new String[][] {
                {"ARRAY['id']", "is part of its key and cannot be a counter"},
                {"ARRAY['label']", "is of type text, not a number"},
                {"ARRAY['nope']", "column \"nope\" of table"}}) {
            SqlFailedException error = assertThrows(SqlFailedException.class, () -> node1.execute(DB,
                    "SELECT pgactive.pgactive_set_column_level('cl.plain', " + bad[0] + ")"));
            assertTrue(error.getMessage().contains(bad[1]), error.getMessage());
        }
        assertEquals(0L, node1.queryLong(DB, "SELECT count(*) FROM pgactive.pgactive_column_level_tables"
                + " WHERE relname = 'cl.plain'"), "nothing recorded for a refused call");
    }
}
