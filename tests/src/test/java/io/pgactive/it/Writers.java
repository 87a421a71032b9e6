package io.pgactive.it;

import io.pgactive.harness.PgCluster;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Background writers, one per node ({@link WorkloadWriter}s), remembering exactly what each
 * committed: the ground truth every node must end up with. Each transaction inserts a row into
 * {@code events(node, seq)} and, when given rows to update, adds 1 to the balance of one random
 * {@code accounts} row owned by that writer (disjoint sets, so writers never conflict with each
 * other).
 */
final class Writers implements AutoCloseable {

    /** About 200 transactions a second per writer: what three servers on two cores can all apply. */
    private static final int PER_SECOND = 200;

    static final class Writer implements WorkloadWriter.Transaction {
        final PgCluster node;
        final List<Integer> ownedAccounts;
        final AtomicInteger committedSeq = new AtomicInteger();
        final Map<Integer, Integer> committedIncrements = new ConcurrentHashMap<>();
        private Integer account;

        Writer(PgCluster node, List<Integer> ownedAccounts) {
            this.node = node;
            this.ownedAccounts = ownedAccounts;
        }

        @Override
        public void run(Connection conn) throws SQLException {
            try (PreparedStatement insert = conn.prepareStatement("INSERT INTO events VALUES (?, ?)")) {
                insert.setString(1, node.name());
                insert.setInt(2, committedSeq.get() + 1);
                insert.executeUpdate();
            }
            account = null;
            if (!ownedAccounts.isEmpty()) {
                account = ownedAccounts.get(ThreadLocalRandom.current().nextInt(ownedAccounts.size()));
                try (PreparedStatement update = conn.prepareStatement(
                        "UPDATE accounts SET balance = balance + 1 WHERE id = ?")) {
                    update.setInt(1, account);
                    update.executeUpdate();
                }
            }
        }

        @Override
        public void committed() {
            committedSeq.incrementAndGet();
            if (account != null) {
                committedIncrements.merge(account, 1, Integer::sum);
            }
        }
    }

    private final List<Writer> writers = new ArrayList<>();
    private final List<WorkloadWriter> running = new ArrayList<>();

    Writer start(PgCluster node, String db, List<Integer> ownedAccounts) {
        Writer w = new Writer(node, ownedAccounts);
        WorkloadWriter writer = new WorkloadWriter(node, db, PER_SECOND, w);
        writers.add(w);
        running.add(writer);
        writer.start();
        return w;
    }

    /** Stops every writer and rethrows the first failure. */
    void stopAll() {
        for (WorkloadWriter w : running) {
            w.stopAndCheck();
        }
    }

    List<Writer> all() {
        return writers;
    }

    @Override
    public void close() {
        for (WorkloadWriter w : running) {
            w.stop();
        }
    }
}
