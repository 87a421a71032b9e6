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
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Workload (d): TPC-B-shaped writers on both nodes at once, each on its own side's tables, the
 * two together paced at half the single-node maximum (a quarter each): the group as a whole
 * runs at 50% of what one node can write, and each node also applies the other's writes. Every
 * {@value #SAMPLE_MILLIS} ms each node is asked how old the newest history row from the other
 * side is: that is the replication lag as a user sees it.
 * Afterwards both nodes must hold the same balances, or the run fails.
 */
final class Bidirectional {

    private static final long SAMPLE_MILLIS = 100;
    /** The single-node maximum to pace against when (c) did not run (e.g. --workloads d). */
    static final double DEFAULT_TPS = 1500;

    private Bidirectional() {
    }

    static void run(ReplicationPair pair, Backlog backlog, Scale scale, double singleNodeTps, Figures figures) {
        backlog.catchUp();
        int rate = Math.max(1, (int) Math.round(singleNodeTps / 4));
        figures.put("bidir.rate_tps_per_node", rate);
        CompletableFuture<Pgbench.Result> onOrigin = CompletableFuture.supplyAsync(() -> writers(pair.origin(), "a",
                rate, scale));
        CompletableFuture<Pgbench.Result> onTarget = CompletableFuture.supplyAsync(() -> writers(pair.target(), "b",
                rate, scale));
        List<Double> lagMillis = new ArrayList<>();
        try (LagProbe originSeesB = new LagProbe(pair.origin(), "b");
             LagProbe targetSeesA = new LagProbe(pair.target(), "a")) {
            while (!(onOrigin.isDone() && onTarget.isDone())) {
                originSeesB.sample().ifPresent(lagMillis::add);
                targetSeesA.sample().ifPresent(lagMillis::add);
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
        checkConverged(pair, backlog);
    }

    private static Pgbench.Result writers(PgCluster node, String side, int rate, Scale scale) {
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
                "-R", Integer.toString(rate), "-T", Integer.toString(scale.bidirectionalSeconds()), "-f", script),
                Duration.ofSeconds(scale.bidirectionalSeconds() + 120));
    }

    /** Nearest-rank percentile of sorted samples. */
    static double percentile(List<Double> sorted, double p) {
        if (sorted.isEmpty()) {
            throw new IllegalStateException("no lag samples: nothing replicated during the run");
        }
        int rank = (int) Math.ceil(p * sorted.size());
        return sorted.get(Math.max(0, rank - 1));
    }

    private static void checkConverged(ReplicationPair pair, Backlog backlog) {
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
            System.out.println("    side " + side + " converged (balance/history rows " + applied + ")");
        }
    }

    /** The age of the newest row of one side's history, as seen on one node, over one connection. */
    private static final class LagProbe implements AutoCloseable {
        private final Connection conn;
        private final PreparedStatement ps;

        LagProbe(PgCluster node, String side) {
            try {
                conn = node.connect(ReplicationPair.DB);
                ps = conn.prepareStatement("SELECT extract(epoch FROM clock_timestamp() - mtime) * 1000"
                        + " FROM history_" + side + " ORDER BY hid DESC LIMIT 1");
            } catch (SQLException e) {
                throw new IllegalStateException("cannot connect to " + node.name(), e);
            }
        }

        Optional<Double> sample() {
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(rs.getDouble(1)) : Optional.empty();
            } catch (SQLException e) {
                throw new IllegalStateException("lag probe failed", e);
            }
        }

        @Override
        public void close() {
            try {
                conn.close();
            } catch (SQLException ignored) {
                // closing a probe connection cannot lose anything
            }
        }
    }
}
