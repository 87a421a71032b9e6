package io.pgactive.bench;

import java.time.Duration;
import java.util.List;

/**
 * Workload (c): pgbench's TPC-B-like transactions on the origin, applied from a backlog; the
 * drain time is the time to catch up after pgbench stops. Each transaction changes four rows
 * (three updates and an insert). The origin's rate is also the single-node maximum the
 * bidirectional workload is paced against.
 */
final class Oltp {

    static final int ROWS_PER_TRANSACTION = 4;

    private Oltp() {
    }

    static void run(ReplicationPair pair, Backlog backlog, Scale scale, Figures figures) {
        MemorySampler memory = new MemorySampler(pair);
        backlog.warmUp(() -> tpcb(pair, Math.max(2, scale.oltpSeconds() / SmallTransactions.WARM_UP_FRACTION)));
        Pgbench.Result[] result = new Pgbench.Result[1];
        Backlog.Drain drain = backlog.measure(() -> result[0] = tpcb(pair, scale.oltpSeconds()), memory);
        figures.put("oltp.origin_tps", result[0].tps());
        figures.put("oltp.catchup_s", drain.drainSeconds());
        figures.put("oltp.rate", result[0].transactions() * ROWS_PER_TRANSACTION / drain.drainSeconds());
        Memory.record(figures, "oltp", memory.peak());
    }

    private static Pgbench.Result tpcb(ReplicationPair pair, int seconds) {
        return Pgbench.run(pair.origin(), ReplicationPair.DB, List.of("-b", "tpcb-like",
                "-c", Integer.toString(Scale.CLIENTS), "-j", "2", "-T", Integer.toString(seconds)),
                Duration.ofSeconds(seconds + 120));
    }
}
