package io.pgactive.it;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgactive.harness.Await;
import io.pgactive.harness.ClusterExtension;
import io.pgactive.harness.PgCluster;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A link whose session cannot be set up (its upstream is down) fails again and again without
 * leaving a backend behind: each attempt's apply session is closed, whatever failed.
 */
class LinkSetupFailureTest {

    private static final String DB = "app";
    private static final String APPLY_BACKENDS = "SELECT count(*) FROM pg_stat_activity"
            + " WHERE application_name LIKE 'pgactive:%:apply'";

    @RegisterExtension
    static final ClusterExtension clusters = new ClusterExtension();

    @Test
    void twentyFailedSetupsLeaveNoBackendBehind() {
        PgCluster node1 = clusters.newCluster("node1");
        PgCluster node2 = clusters.newCluster("node2");
        node1.createDatabase(DB);
        node1.execute(DB, "CREATE TABLE t (id int PRIMARY KEY)");
        Pgactive.formGroup(DB, node1, node2);
        Await.untilEquals(Duration.ofSeconds(30), "node1's link from node2 running", 1L,
                () -> node1.queryLong(DB, APPLY_BACKENDS));
        long backendsBefore = node1.queryLong(DB, "SELECT count(*) FROM pg_stat_activity");

        node2.stop();
        String retries = "SELECT retries FROM pgactive.pgactive_links WHERE peer_name = 'node2'";
        long firstRetries = Await.value(Duration.ofSeconds(30), "the link failing", () -> {
            Long r = node1.queryLong(DB, retries);
            return r > 0 ? r : null;
        });
        // Local DDL wakes a failed link at once: twenty attempts without twenty back-offs.
        for (int i = 0; i < 20; i++) {
            long before = node1.queryLong(DB, retries);
            node1.execute(DB, "CREATE TABLE wake_" + i + " (id int PRIMARY KEY)");
            Await.until(Duration.ofSeconds(30), "attempt " + (i + 1), () -> node1.queryLong(DB, retries) > before);
        }
        assertTrue(node1.queryLong(DB, retries) >= firstRetries + 20);
        assertTrue(node1.queryLong(DB, APPLY_BACKENDS) <= 1, "at most the attempt in progress");
        assertTrue(node1.queryLong(DB, "SELECT count(*) FROM pg_stat_activity") <= backendsBefore,
                "no backend left by the failed attempts");

        node2.start();
        node2.execute(DB, "INSERT INTO t VALUES (1)");
        Await.untilEquals(Duration.ofSeconds(60), "the link streaming again", 1L,
                () -> node1.queryLong(DB, "SELECT count(*) FROM t"));
        Await.untilEquals(Duration.ofSeconds(30), "the link's state", "streaming",
                () -> node1.queryString(DB, "SELECT state FROM pgactive.pgactive_links WHERE peer_name = 'node2'"));
    }
}
