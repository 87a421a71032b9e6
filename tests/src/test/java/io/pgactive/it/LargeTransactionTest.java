package io.pgactive.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgactive.harness.Await;
import io.pgactive.harness.ClusterExtension;
import io.pgactive.harness.OsCommand;
import io.pgactive.harness.PgCluster;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A single transaction of 1,000,000 inserted rows replicates with the worker's heap capped at
 * 256 MB: the worker applies changes as they arrive and never holds a transaction in memory.
 */
class LargeTransactionTest {

    private static final String DB = "app";
    private static final int ROWS = 1_000_000;
    private static final String HEAP_CAP = "-Xmx256m";
    private static final Duration APPLY_DEADLINE = Duration.ofMinutes(4);

    @RegisterExtension
    final ClusterExtension clusters = new ClusterExtension();

    @Test
    void millionRowTransactionReplicatesWithCappedHeap() throws Exception {
        PgCluster node1 = clusters.builder("node1").setting("pgactive.jvm_options", HEAP_CAP).start();
        PgCluster node2 = clusters.builder("node2").setting("pgactive.jvm_options", HEAP_CAP).start();
        node1.createDatabase(DB);
        node1.execute(DB, "CREATE TABLE big (id int PRIMARY KEY, v int)");
        node1.execute(DB, "CREATE TABLE markers (id int PRIMARY KEY)");
        node1.execute(DB, "CREATE EXTENSION pgactive");
        Pgactive.createGroup(node1, DB, "node1");
        Pgactive.waitReady(node1, DB);
        Pgactive.createDatabaseWithExtension(node2, DB);
        Pgactive.joinGroup(node2, DB, "node2", node1);
        Pgactive.waitReady(node2, DB);

        long workerPid = Pgactive.awaitWorkerPid(node2, DB);
        assertTrue(Pgactive.commandLine(workerPid).contains(HEAP_CAP), Pgactive.commandLine(workerPid));
        int logOffset = node2.serverLogText().length();

        long start = System.nanoTime();
        node1.execute(DB, "INSERT INTO big SELECT g, g % 1000 FROM generate_series(1, " + ROWS + ") g");
        long committed = System.nanoTime();
        // A marker committed after the big transaction: once node2 has it, it has applied the big one.
        // (Polling for it is cheap; counting a growing table of uncommitted rows is not.)
        node1.execute(DB, "INSERT INTO markers VALUES (1)");

        HeapProbe heap = new HeapProbe(workerPid);
        long[] lastReport = {System.nanoTime()};
        Await.until(APPLY_DEADLINE, "the 1,000,000-row transaction (and the marker after it) on node2", () -> {
            if (System.nanoTime() - lastReport[0] > 10_000_000_000L) {
                lastReport[0] = System.nanoTime();
                System.out.printf("[LargeTransactionTest] %.0fs: node2's table big holds %d MB so far; worker heap"
                                + " used %s%n", (System.nanoTime() - start) / 1e9,
                        node2.queryLong(DB, "SELECT pg_relation_size('big')") >> 20, heap.sample());
            }
            return node2.queryLong(DB, "SELECT count(*) FROM markers WHERE id = 1") == 1;
        });
        long applied = System.nanoTime();

        assertEquals(ROWS, node2.queryLong(DB, "SELECT count(*) FROM big"));
        assertEquals(node1.queryString(DB, "SELECT sum(id) || '/' || sum(v) FROM big"),
                node2.queryString(DB, "SELECT sum(id) || '/' || sum(v) FROM big"));
        assertEquals(Long.valueOf(workerPid), Pgactive.workerPid(node2, DB), "node2's worker was restarted");

        String log = node2.serverLogText().substring(logOffset);
        assertFalse(log.contains("OutOfMemoryError"), "node2's worker ran out of memory:\n" + grep(log, "OutOfMemory"));
        assertFalse(node1.serverLogText().contains("OutOfMemoryError"), "node1's worker ran out of memory");
        // The link must not have started over (e.g. after a replication timeout while applying).
        String linkFailures = grep(log, "link from node \"node1\" failed");
        assertTrue(linkFailures.isEmpty(), "the link node1 -> node2 failed while applying:\n" + linkFailures);

        double insertSeconds = (committed - start) / 1e9;
        double applySeconds = (applied - committed) / 1e9;
        System.out.printf("[LargeTransactionTest] insert of %,d rows on node1: %.1f s; replicated and applied on"
                        + " node2 %.1f s after its commit (%,.0f rows/s, %.1f s from the start of the insert);"
                        + " worker heap: %s%n", ROWS, insertSeconds, applySeconds, ROWS / applySeconds,
                (applied - start) / 1e9, heap.summary());
    }

    private static String grep(String text, String needle) {
        return text.lines().filter(l -> l.contains(needle)).limit(20).collect(Collectors.joining("\n"));
    }

    /**
     * The worker's heap use, for information only, from {@code jstat} (run as the JVM's user);
     * "n/a" where jstat is unavailable.
     */
    private static final class HeapProbe {
        private final long pid;
        private long maxUsedKb = -1;
        private long maxOldKb = -1;

        HeapProbe(long pid) {
            this.pid = pid;
        }

        String sample() {
            try {
                OsCommand.Result r = OsCommand.of("jstat", "-gc", Long.toString(pid)).asPostgresUser()
                        .timeout(Duration.ofSeconds(10)).runAllowingFailure();
                List<String> lines = r.output().lines().filter(l -> !l.isBlank()).toList();
                if (r.exitCode() != 0 || lines.size() < 2) {
                    return "n/a";
                }
                String[] names = lines.get(0).trim().split("\\s+");
                String[] values = lines.get(1).trim().split("\\s+");
                double used = 0;
                double old = 0;
                for (int i = 0; i < names.length && i < values.length; i++) {
                    if (List.of("S0U", "S1U", "EU", "OU").contains(names[i])) {
                        used += Double.parseDouble(values[i]);
                    }
                    if (names[i].equals("OU")) {
                        old = Double.parseDouble(values[i]);
                    }
                }
                maxUsedKb = Math.max(maxUsedKb, (long) used);
                maxOldKb = Math.max(maxOldKb, (long) old);
                return (long) used / 1024 + " MB (old generation " + (long) old / 1024 + " MB)";
            } catch (RuntimeException e) {
                return "n/a";
            }
        }

        String summary() {
            String now = sample();
            return maxUsedKb < 0 ? "n/a" : "now " + now + ", max sampled " + maxUsedKb / 1024 + " MB (old generation "
                    + maxOldKb / 1024 + " MB)";
        }
    }
}
