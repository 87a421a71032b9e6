package io.pgactive.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgactive.harness.Await;
import io.pgactive.harness.ClusterExtension;
import io.pgactive.harness.PgCluster;
import java.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Changes that cannot be applied at all: the error is recorded, the link retries with back-off
 * while the other links keep running, and once the operator fixes the local data nothing is lost.
 */
class DivergentConflictTest {

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
        node1.execute(DB, "CREATE TABLE people (id int PRIMARY KEY, email text UNIQUE, phone text UNIQUE)");
        node1.execute(DB, "CREATE TABLE readings (id int PRIMARY KEY, v int)");
        Pgactive.formGroup(DB, node1, node2, node3);
    }

    @Test
    void rowViolatingTwoUniqueConstraintsBlocksItsLinkUntilFixed() {
        // Rows only node3 has: written under a foreign replication origin, which peers skip.
        node3.execute(DB, "SELECT pg_replication_origin_create('test_only_here');"
                + " SELECT pg_replication_origin_session_setup('test_only_here');"
                + " INSERT INTO people VALUES (2, 'a@example.com', '000'), (3, 'b@example.com', '111')");
        node1.execute(DB, "INSERT INTO people VALUES (1, 'a@example.com', '111')");
        Await.until(Duration.ofSeconds(30), "the failed apply in node3's history", () -> node3.queryLong(DB,
                "SELECT count(*) FROM pgactive.pgactive_conflict_history WHERE conflict_type = 'unhandled_tx_abort'"
                + " AND conflict_resolution = 'unhandled_tx_abort' AND error_sqlstate = '23505'"
                + " AND error_message LIKE 'duplicate key value violates unique constraint%'") >= 1);

        // node3's other link keeps running.
        node2.execute(DB, "INSERT INTO readings VALUES (1, 1)");
        Pgactive.awaitEverywhere(DB, "SELECT count(*) FROM readings WHERE id = 1", "1", node3);
        assertTrue(node3.queryLong(DB, "SELECT nr_rollback FROM pgactive.pgactive_stats WHERE riremoteid ="
                + " (SELECT format('pgactive_%s_%s_%s_%s_', node_sysid, node_timeline, node_dboid, l.dboid)"
                + "    FROM pgactive.pgactive_nodes, pgactive.pgactive_get_local_nodeid() l WHERE node_name = 'node1')") >= 1);

        node3.execute(DB, "DELETE FROM people WHERE id IN (2, 3)");
        Pgactive.awaitEverywhere(DB, "SELECT string_agg(id || email || phone, ',') FROM people",
                "1a@example.com111", node1, node2, node3);
    }

    @Test
    void applyErrorIsRetriedWithBackOffNotInALoop() {
        node3.execute(DB, "ALTER TABLE readings ADD CONSTRAINT small CHECK (v < 100)"); // only on node3
        node1.execute(DB, "INSERT INTO readings VALUES (100, 500)");
        Await.until(Duration.ofSeconds(30), "the check violation in node3's history", () -> node3.queryLong(DB,
                "SELECT count(*) FROM pgactive.pgactive_conflict_history WHERE error_sqlstate = '23514'") >= 1);
        long start = System.nanoTime();
        // Observe the retries for a few seconds: back-off (0.5 s, 1 s, 2 s, ...) keeps them few.
        Await.until(Duration.ofSeconds(30), "a few retries", () -> node3.queryLong(DB,
                "SELECT count(*) FROM pgactive.pgactive_conflict_history WHERE error_sqlstate = '23514'") >= 3);
        double seconds = (System.nanoTime() - start) / 1e9;
        long attempts = node3.queryLong(DB, "SELECT count(*) FROM pgactive.pgactive_conflict_history"
                + " WHERE error_sqlstate = '23514'");
        assertTrue(seconds >= 1.0, "retries came too fast: " + attempts + " in " + seconds + " s");

        node3.execute(DB, "ALTER TABLE readings DROP CONSTRAINT small");
        Pgactive.awaitEverywhere(DB, "SELECT v FROM readings WHERE id = 100", "500", node1, node2, node3);
        assertEquals(1, node3.queryLong(DB, "SELECT count(*) FROM readings WHERE id = 100"));
    }
}
