package io.pgactive.bench;

import io.pgactive.harness.PgCluster;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;

/**
 * Apply capacity, measured the way the reference figures were taken: apply is held back on the
 * target while the origin writes, then released, and the time until the target has applied
 * everything is the drain time. A live run would only show how fast the origin writes.
 *
 * <p>"Everything applied" is a marker row the origin inserts after the workload: changes apply in
 * commit order on both systems, so once the marker is visible on the target, so is all before it.
 */
final class Backlog {

    private static final Duration DRAIN_TIMEOUT = Duration.ofMinutes(30);
    private static final long POLL_MILLIS = 5;
    private static final int WARM_UP_CYCLES = 2;

    private final ReplicationPair pair;
    private int lastMarker;

    Backlog(ReplicationPair pair) {
        this.pair = pair;
    }

    /** How long the writes took on the origin and the backlog took to apply on the target. */
    record Drain(double writeSeconds, double drainSeconds) {
    }

    /** Something to run while the drain is timed, e.g. a memory sampler. */
    interface Observer extends AutoCloseable {
        @Override
        void close();
    }

    Drain measure(Runnable writes, Observer duringDrain) {
        catchUp();
        pair.pauseApply();
        long writeStart = System.nanoTime();
        writes.run();
        int marker = insertMarker();
        double writeSeconds = seconds(System.nanoTime() - writeStart);
        // Both sides flush dirty buffers now rather than during the drain.
        pair.origin().execute(ReplicationPair.DB, "CHECKPOINT");
        pair.target().execute(ReplicationPair.DB, "CHECKPOINT");
        try (duringDrain) {
            long drainStart = System.nanoTime();
            pair.resumeApply();
            awaitMarker(marker);
            return new Drain(writeSeconds, seconds(System.nanoTime() - drainStart));
        }
    }

    /**
     * The same cycle, unmeasured, twice on a smaller workload: a replication worker is a
     * long-running process, so its steady state is what counts, not a just-started JVM compiling
     * its apply path. Once is not enough: the JIT compiles the apply path during the first drain
     * for a stream that never goes idle and never restarts, throws that code away when the stream
     * idles and the next session starts, and compiled it again during the measured drain (two
     * seconds of compiler time on one core in (b)). Both systems get the same warm-up.
     */
    void warmUp(Runnable writes) {
        for (int cycle = 0; cycle < WARM_UP_CYCLES; cycle++) {
            measure(writes, () -> { });
        }
    }

    /** Returns once the target has applied everything the origin committed so far. */
    void catchUp() {
        awaitMarker(insertMarker());
    }

    private int insertMarker() {
        lastMarker++;
        pair.origin().execute(ReplicationPair.DB, "INSERT INTO bench_marker (id) VALUES (" + lastMarker + ")");
        return lastMarker;
    }

    private void awaitMarker(int marker) {
        awaitRow(pair.target(), ReplicationPair.DB, "SELECT 1 FROM bench_marker WHERE id = " + marker,
                pair.system() + ": marker " + marker);
    }

    /**
     * Returns once {@code query} returns a row on {@code cluster}, polled every {@value #POLL_MILLIS} ms
     * on one connection: the end of a drain of a few seconds, timed to a few milliseconds.
     */
    static void awaitRow(PgCluster cluster, String db, String query, String what) {
        long deadline = System.nanoTime() + DRAIN_TIMEOUT.toNanos();
        try (Connection c = cluster.connect(db);
             PreparedStatement ps = c.prepareStatement(query)) {
            while (true) {
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next()) {
                        return;
                    }
                }
                if (System.nanoTime() - deadline > 0) {
                    throw new IllegalStateException(what + " not applied on " + cluster.name() + " within "
                            + DRAIN_TIMEOUT.toMinutes() + " minutes");
                }
                Thread.sleep(POLL_MILLIS);
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot poll " + cluster.name() + " for " + what, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for " + what, e);
        }
    }

    static double seconds(long nanos) {
        return nanos / 1e9;
    }
}
