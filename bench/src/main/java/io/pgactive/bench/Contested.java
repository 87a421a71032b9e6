package io.pgactive.bench;

import io.pgactive.harness.Await;
import java.time.Duration;
import java.util.List;

/**
 * Workload (h): single-row UPDATEs, every one of which pgactive's target must judge as a
 * conflict: the target wrote each row last, so a change from the origin is contested
 * (update_update) and takes the careful path, with a conflict history row each. Native logical
 * replication has no conflict detection and applies them as plain updates; the ratio is what
 * judging costs. Each row is updated once, in a sequence's order, so no update finds a row the
 * origin itself wrote last; each round takes the rows after the last round's.
 */
final class Contested {

    /** Enough for five full-size rounds (30,000 rows each, warm-ups included). */
    static final int ROWS = 150_000;

    private Contested() {
    }

    static String schema() {
        return """
                CREATE TABLE contested (id int PRIMARY KEY, v int NOT NULL);
                INSERT INTO contested SELECT g, 0 FROM generate_series(1, %d) g;
                CREATE SEQUENCE contested_order;
                """.formatted(ROWS);
    }

    static void run(ReplicationPair pair, Backlog backlog, Scale scale, Figures figures) {
        int transactions = scale.smallTransactions() / 4;
        int warmUp = transactions / SmallTransactions.WARM_UP_FRACTION;
        long used = pair.origin().queryLong(ReplicationPair.DB,
                "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM contested_order");
        long last = used + transactions + 2L * warmUp;
        if (last > ROWS) {
            throw new IllegalStateException("(h) has rows for " + ROWS / (last - used) + " rounds");
        }
        // The target writes every row the workload will update, and the origin has applied that.
        String rows = "id > " + used + " AND id <= " + last;
        pair.target().execute(ReplicationPair.DB, "UPDATE contested SET v = 1 WHERE " + rows);
        if (pair.system().equals("pgactive")) {
            Await.untilEquals(Duration.ofMinutes(10), "the target's writes on the origin", last - used,
                    () -> pair.origin().queryLong(ReplicationPair.DB,
                            "SELECT count(*) FROM contested WHERE v = 1 AND " + rows));
        }
        String script = Pgbench.script(pair.origin(), "contested",
                "UPDATE contested SET v = v + 1 WHERE id = (SELECT nextval('contested_order'));\n").toString();
        backlog.warmUp(() -> update(pair, script, warmUp / Scale.CLIENTS));
        Backlog.Drain drain = backlog.measure(() -> update(pair, script, transactions / Scale.CLIENTS), () -> { });
        figures.put("contested.rate", transactions / drain.drainSeconds());
    }

    private static void update(ReplicationPair pair, String script, int perClient) {
        Pgbench.run(pair.origin(), ReplicationPair.DB, List.of("-c", Integer.toString(Scale.CLIENTS), "-j", "2",
                "-t", Integer.toString(perClient), "-f", script), Duration.ofMinutes(20));
    }
}
