package io.pgactive.bench;

import java.time.Duration;
import java.util.List;

/** Workload (b): many single-row INSERT transactions from several clients, applied from a backlog. */
final class SmallTransactions {

    /** The warm-up writes this fraction of the measured transactions. */
    static final int WARM_UP_FRACTION = 10;

    private SmallTransactions() {
    }

    static void run(ReplicationPair pair, Backlog backlog, Scale scale, Figures figures) {
        String script = Pgbench.script(pair.origin(), "small",
                "INSERT INTO small (client, payload) VALUES (:client_id, 'a row from client ' || :client_id);\n")
                .toString();
        int perClient = scale.smallTransactions() / Scale.CLIENTS;
        backlog.warmUp(() -> insert(pair, script, perClient / WARM_UP_FRACTION));
        Backlog.Drain drain = backlog.measure(() -> insert(pair, script, perClient), () -> { });
        long transactions = (long) perClient * Scale.CLIENTS;
        figures.put("small.origin_tps", transactions / drain.writeSeconds());
        figures.put("small.drain_s", drain.drainSeconds());
        figures.put("small.rate", transactions / drain.drainSeconds());
    }

    private static void insert(ReplicationPair pair, String script, int perClient) {
        Pgbench.run(pair.origin(), ReplicationPair.DB, List.of("-c", Integer.toString(Scale.CLIENTS), "-j", "2",
                "-t", Integer.toString(perClient), "-f", script), Duration.ofMinutes(20));
    }
}
