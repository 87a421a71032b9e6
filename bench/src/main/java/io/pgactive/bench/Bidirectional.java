package io.pgactive.bench;

import io.pgactive.harness.Await;
import io.pgactive.harness.PgCluster;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * Workload (d): TPC-B-shaped writers on both nodes at once, each on its own side's tables, the
 * two together paced at half the single-node maximum (a quarter each): the group as a whole
 * runs at 50% of what one node can write, and each node also applies the other's writes. Every
 * {@value #SAMPLE_MILLIS} ms, while a side's writer runs, the probe asks how long that side's
 * oldest transaction not yet visible on the other node has been committed: the replication lag
 * as a user sees it. A warm-up at the same pace, unmeasured, goes first.
 * Afterwards both nodes must hold the same balances, or the run fails.
 */
final class Bidirectional {

    private static final long SAMPLE_MILLIS = 100;
    /** The single-node maximum to pace against when (c) did not run (e.g. --workloads d). */
    static final double DEFAULT_TPS = 1500;

    private Bidirectional() {
    }

    static void run(ReplicationPair pair, Backlog backlog, Scale scale, double singleNodeTps, Figures figures) {
        int rate = Math.max(1, (int) Math.round(singleNodeTps / 4));
        figures.put("bidir.rate_tps_per_node", rate);
        // Unmeasured first, as (b) and (c): the steady state of long-running appliers is what counts.
        int warmUpSeconds = Math.max(3, scale.bidirectionalSeconds() / 3);
        Writers warmUp = Writers.start(pair, rate, warmUpSeconds);
        warmUp.onOrigin().join();
        warmUp.onTarget().join();
        checkConverged(pair, backlog, "warm-up");
        Writers measured = Writers.start(pair, rate, scale.bidirectionalSeconds());
        CompletableFuture<Pgbench.Result> onOrigin = measured.onOrigin();
        CompletableFuture<Pgbench.Result> onTarget = measured.onTarget();
        List<Double> lagMillis = new ArrayList<>();
        try (LagProbe originSeesB = new LagProbe(pair.origin(), pair.target(), "b");
             LagProbe targetSeesA = new LagProbe(pair.target(), pair.origin(), "a")) {
            // A side is sampled only while its writer runs: after that its lag is 0 once applied.
            while (!(onOrigin.isDone() && onTarget.isDone())) {
                if (!onTarget.isDone()) {
                    lagMillis.add(originSeesB.sample());
                }
                if (!onOrigin.isDone()) {
                    lagMillis.add(targetSeesA.sample());
                }
                Thread.sleep(SAMPLE_MILLIS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
        figures.put("bidir.achieved_tps", onOrigin.join().tps() + onTarget.join().tps());
        Collections.sort(lagMillis);
        figures.put("bidir.lag_p50_ms", percentile(lagMillis, 0.50));
        figures.put("bidir.lag_p99_ms", percentile(lagMillis, 0.99));
        figures.put("bidir.lag_max_ms", lagMillis.get(lagMillis.size() - 1));
        checkConverged(pair, backlog, "run");
    }

    /** pgbench running on both nodes at once, each on its own side's tables. */
    private record Writers(CompletableFuture<Pgbench.Result> onOrigin, CompletableFuture<Pgbench.Result> onTarget) {
        static Writers start(ReplicationPair pair, int rate, int seconds) {
            return new Writers(CompletableFuture.supplyAsync(() -> writers(pair.origin(), "a", rate, seconds)),
                    CompletableFuture.supplyAsync(() -> writers(pair.target(), "b", rate, seconds)));
        }
    }

    private static Pgbench.Result writers(PgCluster node, String side, int rate, int seconds) {
        int branches = Scale.OLTP_SCALE;
        String script = Pgbench.script(node, "tpcb-" + side, """
                \\set aid random(1, %2$d)
                \\set bid random(1, %3$d)
                \\set tid random(1, %4$d)
                \\set delta random(-5000, 5000)
                BEGIN;
                UPDATE accounts_%1$s SET abalance = abalance + :delta WHERE aid = :aid;
                SELECT abalance FROM accounts_%1$s WHERE aid = :aid;
                UPDATE tellers_%1$s SET tbalance = tbalance + :delta WHERE tid = :tid;
                UPDATE branches_%1$s SET bbalance = bbalance + :delta WHERE bid = :bid;
                INSERT INTO history_%1$s (tid, bid, aid, delta, mtime) VALUES (:tid, :bid, :aid, :delta, CURRENT_TIMESTAMP);
                END;
                """.formatted(side, branches * 100_000, branches, branches * 10)).toString();
        return Pgbench.run(node, ReplicationPair.DB, List.of("-c", Integer.toString(Scale.CLIENTS), "-j", "2",
                "-R", Integer.toString(rate), "-T", Integer.toString(seconds), "-f", script),
                Duration.ofSeconds(seconds + 120));
    }

    /** Nearest-rank percentile of sorted samples. */
    static double percentile(List<Double> sorted, double p) {
        if (sorted.isEmpty()) {
            throw new IllegalStateException("no lag samples: nothing replicated during the run");
        }
        int rank = (int) Math.ceil(p * sorted.size());
        return sorted.get(Math.max(0, rank - 1));
    }

    /** Waits until each side's writes have all been applied on the other node; fails if they never are. */
    private static void checkConverged(ReplicationPair pair, Backlog backlog, String phase) {
        backlog.catchUp();
        for (String side : BenchSchema.SIDES) {
            String sql = "SELECT sum(abalance)::text || '/' || (SELECT count(*) FROM history_" + side + ")"
                    + " FROM accounts_" + side;
            PgCluster writer = side.equals("a") ? pair.origin() : pair.target();
            PgCluster reader = side.equals("a") ? pair.target() : pair.origin();
            String written = writer.queryString(ReplicationPair.DB, sql);
            String applied = Await.value(Duration.ofMinutes(5), "side " + side + " on "
                    + reader.name(), () -> {
                        String now = reader.queryString(ReplicationPair.DB, sql);
                        return Objects.equals(now, written) ? now : null;
                    });
            System.out.println("    " + phase + ": side " + side + " converged (balance/history rows " + applied + ")");
        }
    }

    /**
     * How long the oldest of one side's transactions that the other node does not show yet has
     * been committed (0 when it shows them all): the newest history row the reader has, then the
     * commit time of the first one after it on the writer. The age of the reader's newest row
     * would be simpler but keeps growing once the writer stops, and a run's two pgbench
     * processes do not exit at the same moment.
     */
    private static final class LagProbe implements AutoCloseable {
        private final Connection onReader;
        private final Connection onWriter;
        private final PreparedStatement newestApplied;
        private final PreparedStatement oldestMissing;

        LagProbe(PgCluster reader, PgCluster writer, String side) {
            try {
                onReader = reader.connect(ReplicationPair.DB);
                onWriter = writer.connect(ReplicationPair.DB);
                newestApplied = onReader.prepareStatement("SELECT coalesce(max(hid), 0) FROM history_" + side);
                oldestMissing = onWriter.prepareStatement(
                        "SELECT extract(epoch FROM clock_timestamp() - pg_xact_commit_timestamp(xmin)) * 1000"
                        + " FROM history_" + side + " WHERE hid > ? ORDER BY hid LIMIT 1");
            } catch (SQLException e) {
                throw new IllegalStateException("cannot connect to " + reader.name() + " and " + writer.name(), e);
            }
        }

        double sample() {
            try {
                long applied;
                try (ResultSet rs = newestApplied.executeQuery()) {
                    rs.next();
                    applied = rs.getLong(1);
                }
                oldestMissing.setLong(1, applied);
                try (ResultSet rs = oldestMissing.executeQuery()) {
                    return rs.next() ? Math.max(0, rs.getDouble(1)) : 0;
                }
            } catch (SQLException e) {
                throw new IllegalStateException("lag probe failed", e);
            }
        }

        @Override
        public void close() {
            try (onReader; onWriter) {
                // closing probe connections cannot lose anything
            } catch (SQLException ignored) {
                // nor can failing to
            }
        }
    }
}
