package io.pgactive.bench;

import java.time.Duration;
import java.util.List;

/** Workload (b): many single-row INSERT transactions from several clients, applied from a backlog. */
final class SmallTransactions {

    private SmallTransactions() {
    }

    static void run(ReplicationPair pair, Backlog backlog, Scale scale, Figures figures) {
        String script = Pgbench.script(pair.origin(), "small",
                "INSERT INTO small (client, payload) VALUES (:client_id, 'a row from client ' || :client_id);\n")
                .toString();
        int perClient = scale.smallTransactions() / Scale.CLIENTS;
        Backlog.Drain drain = backlog.measure(() -> Pgbench.run(pair.origin(), ReplicationPair.DB,
                List.of("-c", Integer.toString(Scale.CLIENTS), "-j", "2", "-t", Integer.toString(perClient),
                        "-f", script), Duration.ofMinutes(20)), () -> { });
        long transactions = (long) perClient * Scale.CLIENTS;
        figures.put("small.origin_tps", transactions / drain.writeSeconds());
        figures.put("small.drain_s", drain.drainSeconds());
        figures.put("small.rate", transactions / drain.drainSeconds());
    }
}
