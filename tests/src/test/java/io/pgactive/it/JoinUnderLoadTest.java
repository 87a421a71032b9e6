package io.pgactive.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgactive.harness.Await;
import io.pgactive.harness.ClusterExtension;
import io.pgactive.harness.PgCluster;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A third node joins while nodes 1 and 2 commit continuously, inserting rows and updating rows
 * that existed before the join; afterwards all three hold exactly what the writers committed.
 */
class JoinUnderLoadTest {

    private static final String DB = "app";
    private static final int ACCOUNTS = 1000;

    @RegisterExtension
    final ClusterExtension clusters = new ClusterExtension();

    @Test
    void nodeJoinedUnderLoadEndsUpIdentical() throws Exception {
        PgCluster node1 = clusters.newCluster("node1");
        PgCluster node2 = clusters.newCluster("node2");
        PgCluster node3 = clusters.newCluster("node3");
        node1.createDatabase(DB);
        node1.execute(DB, "CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL)");
        node1.execute(DB, "CREATE TABLE events (node text, seq int, PRIMARY KEY (node, seq))");
        node1.execute(DB, "ALTER TABLE accounts OWNER TO " + PgCluster.APP_ROLE + "; ALTER TABLE events OWNER TO "
                + PgCluster.APP_ROLE);
        node1.execute(DB, "INSERT INTO accounts SELECT g, 0 FROM generate_series(1, " + ACCOUNTS + ") g");
        Pgactive.formGroup(DB, node1, node2);

        try (Writers writers = new Writers()) {
            // Even accounts belong to node1's writer, odd ones to node2's.
            writers.start(node1, DB, IntStream.rangeClosed(1, ACCOUNTS).filter(i -> i % 2 == 0).boxed().toList());
            writers.start(node2, DB, IntStream.rangeClosed(1, ACCOUNTS).filter(i -> i % 2 == 1).boxed().toList());
            Await.until(Duration.ofSeconds(30), "both writers to have committed",
                    () -> writers.all().stream().allMatch(w -> w.committedSeq.get() > 50));

            Pgactive.createDatabaseWithExtension(node3, DB);
            Pgactive.joinGroup(node3, DB, "node3", node1);
            Pgactive.waitReady(node3, DB);

            // Keep writing for a while after the join, through the new direct links.
            int seqAtReady = writers.all().get(0).committedSeq.get();
            Await.until(Duration.ofSeconds(30), "writers to continue after the join",
                    () -> writers.all().get(0).committedSeq.get() > seqAtReady + 50);
            writers.stopAll();

            String expected = expectedState(writers);
            for (PgCluster node : List.of(node1, node2, node3)) {
                Await.untilEquals(Duration.ofSeconds(60), "contents of " + node.name(), expected,
                        () -> actualState(node));
            }
            for (Writers.Writer w : writers.all()) {
                assertTrue(w.committedSeq.get() > 100, w.node.name() + " committed only " + w.committedSeq.get());
            }
        }
        assertEquals(node1.queryString(DB, "SELECT md5(string_agg(id || ':' || balance, ',' ORDER BY id)) FROM accounts"),
                node3.queryString(DB, "SELECT md5(string_agg(id || ':' || balance, ',' ORDER BY id)) FROM accounts"));
    }

    /** Events 1..committed per writer, and each account's balance = its committed increments. */
    private static String expectedState(Writers writers) {
        StringBuilder sb = new StringBuilder();
        for (Writers.Writer w : writers.all()) {
            sb.append(w.node.name()).append(" events=").append(w.committedSeq.get()).append("; ");
        }
        long total = writers.all().stream()
                .flatMap(w -> w.committedIncrements.values().stream()).mapToLong(Integer::longValue).sum();
        long weighted = writers.all().stream().flatMap(w -> w.committedIncrements.entrySet().stream())
                .mapToLong((Map.Entry<Integer, Integer> e) -> (long) e.getKey() * e.getValue()).sum();
        return sb + "balance total=" + total + " weighted=" + weighted;
    }

    private static String actualState(PgCluster node) {
        StringBuilder sb = new StringBuilder();
        for (String writer : List.of("node1", "node2")) {
            // count = max = committed means every event 1..committed is there exactly once
            String counts = node.queryString(DB, "SELECT count(*) || '/' || coalesce(max(seq), 0) FROM events"
                    + " WHERE node = '" + writer + "'");
            String[] parts = counts.split("/");
            sb.append(writer).append(" events=").append(parts[0].equals(parts[1]) ? parts[0] : counts).append("; ");
        }
        return sb + "balance total=" + node.queryString(DB, "SELECT sum(balance) FROM accounts")
                + " weighted=" + node.queryString(DB, "SELECT sum(id::bigint * balance) FROM accounts");
    }
}
