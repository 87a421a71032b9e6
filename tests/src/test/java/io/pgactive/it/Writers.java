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
 * Background writers, one per node, committing small transactions until stopped and
 * remembering exactly what each committed: the ground truth every node must end up with.
 * Each transaction inserts a row into {@code events(node, seq)} and, when given rows to update,
 * adds 1 to the balance of one random {@code accounts} row owned by that writer (disjoint sets,
 * so writers never conflict with each other). Writers connect as the application role
 * ({@link PgCluster#APP_ROLE}), which owns those tables: only administration runs as a superuser.
 */
final class Writers implements AutoCloseable {

    static final class Writer implements Runnable {
        final PgCluster node;
        final String db;
        final List<Integer> ownedAccounts;
        final AtomicInteger committedSeq = new AtomicInteger();
        final Map<Integer, Integer> committedIncrements = new ConcurrentHashMap<>();
        volatile boolean stop;
        volatile Throwable failure;
        private final Thread thread;

        Writer(PgCluster node, String db, List<Integer> ownedAccounts) {
            this.node = node;
            this.db = db;
            this.ownedAccounts = ownedAccounts;
            this.thread = new Thread(this, "writer " + node.name());
        }

        @Override
        public void run() {
            try (Connection conn = node.connect(db, PgCluster.APP_ROLE)) {
                conn.setAutoCommit(false);
                try (PreparedStatement insert = conn.prepareStatement("INSERT INTO events VALUES (?, ?)");
                     PreparedStatement update = conn.prepareStatement(
                             "UPDATE accounts SET balance = balance + 1 WHERE id = ?")) {
                    while (!stop) {
                        int seq = committedSeq.get() + 1;
                        insert.setString(1, node.name());
                        insert.setInt(2, seq);
                        insert.executeUpdate();
                        Integer account = null;
                        if (!ownedAccounts.isEmpty()) {
                            account = ownedAccounts.get(ThreadLocalRandom.current().nextInt(ownedAccounts.size()));
                            update.setInt(1, account);
                            update.executeUpdate();
                        }
                        conn.commit();
                        committedSeq.set(seq);
                        if (account != null) {
                            committedIncrements.merge(account, 1, Integer::sum);
                        }
                        pace();
                    }
                }
            } catch (SQLException | RuntimeException e) {
                failure = e;
            }
        }
    }

    /**
     * About 200 transactions per second per writer: a steady load that three servers on two
     * cores can all apply, so the tests measure correctness, not throughput (bench/ does that).
     */
    private static void pace() {
        try {
            Thread.sleep(5);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private final List<Writer> writers = new ArrayList<>();

    Writer start(PgCluster node, String db, List<Integer> ownedAccounts) {
        Writer w = new Writer(node, db, ownedAccounts);
        writers.add(w);
        w.thread.start();
        return w;
    }

    /** Stops every writer and rethrows the first failure. */
    void stopAll() throws InterruptedException {
        for (Writer w : writers) {
            w.stop = true;
        }
        for (Writer w : writers) {
            w.thread.join(30_000);
            if (w.failure != null) {
                throw new AssertionError("writer on " + w.node.name() + " failed", w.failure);
            }
        }
    }

    List<Writer> all() {
        return writers;
    }

    @Override
    public void close() throws InterruptedException {
        for (Writer w : writers) {
            w.stop = true;
        }
        for (Writer w : writers) {
            w.thread.join(30_000);
        }
    }
}
