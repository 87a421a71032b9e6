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
    private static int metricsPort;

    private static int freePort() {
        try (java.net.ServerSocket socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static String scrape() throws Exception {
        java.net.http.HttpResponse<String> response = java.net.http.HttpClient.newHttpClient().send(
                java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + metricsPort + "/metrics"))
                        .timeout(Duration.ofSeconds(10)).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode());
        return response.body();
    }

    /** pgactive.metrics_port on node1: Prometheus sees what the SQL views show, and the JVM. */
    @Test
    void prometheusMetricsDuringAWorkload() throws Exception {
        node2.execute(DB, "INSERT INTO t SELECT g, 'for the metrics' FROM generate_series(5000, 5199) g");
        node2.execute(DB, "UPDATE t SET v = 'updated for the metrics' WHERE id BETWEEN 5000 AND 5049");
        Await.until(SOON, "node1 to apply node2's rows", () -> node1.queryLong(DB,
                "SELECT count(*) FROM t WHERE v = 'updated for the metrics'") == 50);
        Await.until(SOON, "the metrics to show node2's rows applied on node1, and the link from node3 streaming", () -> {
            String body = scrape();
            java.util.regex.Matcher inserts = java.util.regex.Pattern.compile(
                    "pgactive_applied_rows_total\\{database=\"app\",kind=\"insert\",peer=\"node2\"\\} (\\S+)").matcher(body);
            // the link from node3, the last to join, starts a moment after its join ended
            return inserts.find() && Double.parseDouble(inserts.group(1)) >= 200
                    && body.contains("pgactive_link_state{database=\"app\",peer=\"node3\",state=\"streaming\"} 1.0");
        });
        String body = scrape();
        for (String expected : new String[] {
                "pgactive_link_state{database=\"app\",peer=\"node2\",state=\"streaming\"} 1.0",
                "pgactive_link_state{database=\"app\",peer=\"node3\",state=\"streaming\"} 1.0",
                "pgactive_link_lag_bytes{database=\"app\",peer=\"node2\"}",
                "pgactive_slot_retained_wal_bytes{database=\"app\",peer=\"node3\"}",
                "pgactive_node_status{database=\"app\",node=\"node1\",status=\"pgactive_NODE_STATUS_READY\"} 1.0",
                "jvm_memory_used_bytes{area=\"heap\"}"}) {
            assertTrue(body.contains(expected), expected + " in\n" + body);
        }
    }

    @BeforeAll
    static void formGroup() {
        metricsPort = freePort();
        node1 = clusters.builder("node1").setting("pgactive.metrics_port", String.valueOf(metricsPort)).start();
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

    /** A heartbeat an hour ahead, as a peer whose clock is wrong would send it. */
    @Test
    void aPeerWhoseClockIsAheadIsReported() {
        String fakeHeartbeat = "SELECT pg_logical_emit_message(false, 'pgactive', 'heartbeat '"
                + " || ((extract(epoch FROM clock_timestamp()) - 946684800 + 3600) * 1000000)::bigint)";
        int logStart = node2.serverLogText().length();
        node1.execute(DB, fakeHeartbeat);
        Await.untilEquals(SOON, "node2 to show node1's clock ahead", "t", () -> node2.queryString(DB,
                "SELECT peer_clock_ahead_seconds > 3500 FROM pgactive.pgactive_links WHERE peer_name = 'node1'"));
        assertEquals("0.0", node2.queryString(DB, "SELECT peer_clock_ahead_seconds::numeric(10,1)::text"
                + " FROM pgactive.pgactive_links WHERE peer_name = 'node3'"));
        node1.execute(DB, fakeHeartbeat);
        Await.until(SOON, "node2's warning", () -> node2.serverLogText().substring(logStart).contains("ahead of this node's"));
        assertEquals(1, node2.serverLogText().substring(logStart).split("ahead of this node's", -1).length - 1,
                "said once per link");
        // What the future heartbeat says holds only up to now here: the tombstone horizon does not jump ahead.
        assertEquals("t", node2.queryString(DB, "SELECT bool_and(caught_up_at <= now()) FROM pgactive.pgactive_apply_stats"));
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
