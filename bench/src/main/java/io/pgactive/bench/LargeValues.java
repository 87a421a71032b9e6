package io.pgactive.bench;

import java.time.Duration;
import java.util.List;

/**
 * Workload (g): single-row UPDATEs of a small column of rows that hold 8 KB out-of-line values.
 * pgactive's UPDATEs carry such values in full, unchanged or not (docs/replication.md: else a
 * node that must turn the update into an insert, or that holds another value, could not apply it
 * as its origin did); native logical replication's send them as "unchanged". This shows the
 * price: WAL written per transaction on the origin, the origin's rate, and apply capacity.
 */
final class LargeValues {

    static final int ROWS = 2_000;

    private LargeValues() {
    }

    /** The table, created on the origin with the other workloads' tables. */
    static String schema() {
        return """
                CREATE TABLE doc (id int PRIMARY KEY, v int NOT NULL, body text NOT NULL);
                ALTER TABLE doc ALTER COLUMN body SET STORAGE EXTERNAL;
                INSERT INTO doc SELECT g, 0, repeat(md5(g::text), 256) FROM generate_series(1, %d) g;
                """.formatted(ROWS);
    }

    static void run(ReplicationPair pair, Backlog backlog, Scale scale, Figures figures) {
        String script = Pgbench.script(pair.origin(), "doc",
                "\\set id random(1, " + ROWS + ")\nUPDATE doc SET v = v + 1 WHERE id = :id;\n").toString();
        int perClient = scale.smallTransactions() / 4 / Scale.CLIENTS;
        backlog.warmUp(() -> update(pair, script, perClient / SmallTransactions.WARM_UP_FRACTION));
        long[] walBytes = new long[1];
        Backlog.Drain drain = backlog.measure(() -> {
            String before = pair.origin().queryString(ReplicationPair.DB, "SELECT pg_current_wal_insert_lsn()");
            update(pair, script, perClient);
            walBytes[0] = pair.origin().queryLong(ReplicationPair.DB,
                    "SELECT pg_current_wal_insert_lsn() - '" + before + "'::pg_lsn");
        }, () -> { });
        long transactions = (long) perClient * Scale.CLIENTS;
        figures.put("large.origin_tps", transactions / drain.writeSeconds());
        figures.put("large.wal_per_txn", (double) walBytes[0] / transactions);
        figures.put("large.rate", transactions / drain.drainSeconds());
    }

    private static void update(ReplicationPair pair, String script, int perClient) {
        Pgbench.run(pair.origin(), ReplicationPair.DB, List.of("-c", Integer.toString(Scale.CLIENTS), "-j", "2",
                "-t", Integer.toString(perClient), "-f", script), Duration.ofMinutes(20));
    }
}
