package io.pgactive.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgactive.harness.Await;
import io.pgactive.harness.ClusterExtension;
import io.pgactive.harness.PgCluster;
import io.pgactive.harness.Processes;
import io.pgactive.harness.SqlFailedException;
import java.time.Duration;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * pgactive_apply_pause() on node2 stops it applying node1's changes, which wait in node1's slot
 * until pgactive_apply_resume() or a restart of node2's server. "Not applied" is checked where it
 * cannot be a matter of timing: node2's stream from node1 is seen to stop first (its slot on node1
 * goes inactive), and only then does node1 write.
 */
class ApplyPauseTest {

    private static final String DB = "app";
    private static final Duration TIMEOUT = Duration.ofSeconds(20);
    /** How long a paused node2 must stay without node1's rows; its stream is known stopped already. */
    private static final Duration NOTHING_ARRIVES_FOR = Duration.ofSeconds(2);
    private static final String PAUSED_LOG = "apply paused on node \"node2\"";
    private static final String RESUMED_LOG = "apply resumed on node \"node2\"";

    @RegisterExtension
    static final ClusterExtension clusters = new ClusterExtension();

    private static PgCluster node1;
    private static PgCluster node2;

    @BeforeAll
    static void formGroup() {
        node1 = clusters.newCluster("node1");
        node2 = clusters.newCluster("node2");
        node1.createDatabase(DB);
        node1.execute(DB, "CREATE TABLE t (id int PRIMARY KEY)");
        Pgactive.formGroup(DB, node1, node2);
    }

    @AfterEach
    void resumeNode2() {
        node2.execute(DB, "SELECT pgactive.pgactive_apply_resume()");
    }

    @Test
    void pausedNodeAppliesNothingUntilResumed() {
        awaitNode2Streaming(true);
        int beforePause = node2.serverLogText().length();
        pauseNode2();
        node1.execute(DB, "INSERT INTO t SELECT generate_series(1, 10)");
        node2.reload(); // as upstream, reloading the configuration does not resume apply
        assertNothingArrivesWhilePaused(1, 10);

        node2.execute(DB, "INSERT INTO t VALUES (11)");
        Await.untilEquals(TIMEOUT, "node2's own row on node1", 1L, () -> rowsOn(node1, 11, 11));
        assertEquals("paused", node2.queryString(DB, "SELECT state FROM pgactive.pgactive_links WHERE peer_name = 'node1'"));

        node2.execute(DB, "SELECT pgactive.pgactive_apply_resume()");
        assertFalse(applyPaused(node2, DB));
        Await.untilEquals(TIMEOUT, "node1's rows on node2 after resume", 10L, () -> rowsOn(node2, 1, 10));
        Await.untilEquals(TIMEOUT, "node2's link from node1 streaming, nothing left to apply", "streaming 0",
                () -> node2.queryString(DB, "SELECT state || ' ' || lag_seconds FROM pgactive.pgactive_links"
                        + " WHERE peer_name = 'node1'"));
        awaitLogged(RESUMED_LOG, beforePause);
        // The worker looks once a second but logs only the changes.
        assertEquals(1, occurrences(node2.serverLogText().substring(beforePause), PAUSED_LOG));
    }

    @Test
    void pauseOutlivesTheWorker() {
        int beforePause = node2.serverLogText().length();
        pauseNode2();
        awaitLogged(PAUSED_LOG, beforePause);
        int beforeKill = node2.serverLogText().length();
        Processes.kill9(Pgactive.awaitWorkerPid(node2, DB));
        awaitLogged(PAUSED_LOG, beforeKill); // by the new worker
        awaitNode2Streaming(false);
        node1.execute(DB, "INSERT INTO t SELECT generate_series(101, 110)");
        assertNothingArrivesWhilePaused(101, 110);

        node2.execute(DB, "SELECT pgactive.pgactive_apply_resume()");
        Await.untilEquals(TIMEOUT, "node1's rows on node2 after resume", 10L, () -> rowsOn(node2, 101, 110));
    }

    @Test
    void serverRestartEndsThePause() {
        pauseNode2();
        node1.execute(DB, "INSERT INTO t SELECT generate_series(201, 210)");
        node2.restart();
        assertFalse(applyPaused(node2, DB));
        Await.untilEquals(TIMEOUT, "node1's rows on node2 after its restart", 10L, () -> rowsOn(node2, 201, 210));
    }

    @Test
    void onlyANodeCanBePaused() {
        Pgactive.createDatabaseWithExtension(node1, "plain");
        for (String call : new String[] {"pgactive_apply_pause", "pgactive_apply_resume"}) {
            SqlFailedException e = assertThrows(SqlFailedException.class,
                    () -> node1.execute("plain", "SELECT pgactive." + call + "()"));
            assertEquals("55000", e.sqlState(), e.getMessage());
            assertTrue(e.getMessage().contains("database \"plain\" is not a pgactive node"), e.getMessage());
        }
        assertFalse(applyPaused(node1, "plain"));
    }

    @Test
    void onlySuperusersCanPause() {
        node2.execute(DB, "CREATE ROLE app_user");
        SqlFailedException e = assertThrows(SqlFailedException.class,
                () -> node2.execute(DB, "SET ROLE app_user; SELECT pgactive.pgactive_apply_pause()"));
        assertEquals("42501", e.sqlState(), e.getMessage());
        assertFalse(applyPaused(node2, DB));
    }

    /** Pauses node2 and waits until its stream from node1 has stopped. */
    private static void pauseNode2() {
        node2.execute(DB, "SELECT pgactive.pgactive_apply_pause()");
        assertTrue(applyPaused(node2, DB));
        awaitNode2Streaming(false);
    }

    private static void awaitLogged(String message, int logOffset) {
        Await.until(TIMEOUT, "\"" + message + "\" in node2's log",
                () -> node2.serverLogText().substring(logOffset).contains(message));
    }

    private static int occurrences(String text, String part) {
        return text.split(Pattern.quote(part), -1).length - 1;
    }

    private static void assertNothingArrivesWhilePaused(int fromId, int toId) {
        Await.holdsFor(NOTHING_ARRIVES_FOR, "paused node2 without rows " + fromId + ".." + toId,
                () -> rowsOn(node2, fromId, toId) == 0 && !node2Streaming() && applyPaused(node2, DB));
    }

    private static void awaitNode2Streaming(boolean streaming) {
        Await.untilEquals(TIMEOUT, "node2 streaming from node1", streaming, ApplyPauseTest::node2Streaming);
    }

    /** Whether node2 streams from node1: its slot on node1 has a walsender. */
    private static boolean node2Streaming() {
        return "true".equals(node1.queryString(DB, "SELECT active::text FROM pgactive.pgactive_get_replication_lag_info()"
                + " WHERE node_name = 'node2'"));
    }

    private static long rowsOn(PgCluster node, int fromId, int toId) {
        return node.queryLong(DB, "SELECT count(*) FROM t WHERE id BETWEEN " + fromId + " AND " + toId);
    }

    private static boolean applyPaused(PgCluster node, String db) {
        return node.queryLong(db, "SELECT pgactive.pgactive_is_apply_paused()::int") == 1;
    }
}
