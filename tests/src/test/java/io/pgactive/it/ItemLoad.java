package io.pgactive.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgactive.harness.Await;
import io.pgactive.harness.PgCluster;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@link ItemWrites} on every node as the application role (a steady load, not a benchmark), and
 * the check that every node ends with exactly what they committed: each transaction inserts a row
 * into a table {@code (id text PRIMARY KEY, origin text, n int, ...)} and adds 1 to the n of one of
 * the writer's own rows.
 */
final class ItemLoad implements AutoCloseable {
    private final String db;
    private final String table;
    private final List<PgCluster> nodes;
    private final Duration timeout;
    private final List<WorkloadWriter> writers = new ArrayList<>();
    private final List<ItemWrites> writes = new ArrayList<>();
    private final long rowsBefore;
    private final long nBefore;
    private boolean stopped;

    ItemLoad(String db, String table, List<PgCluster> nodes, Duration timeout) {
        this.db = db;
        this.table = table;
        this.nodes = nodes;
        this.timeout = timeout;
        rowsBefore = nodes.get(0).queryLong(db, "SELECT count(*) FROM " + table);
        nBefore = nodes.get(0).queryLong(db, "SELECT coalesce(sum(n), 0) FROM " + table);
        for (PgCluster node : nodes) {
            ItemWrites w = new ItemWrites(node, table);
            WorkloadWriter writer = new WorkloadWriter(node, db, 100, w).tolerating(ItemLoad::aroundDdlLocks);
            writes.add(w);
            writers.add(writer);
            writer.start();
        }
    }

    /**
     * What an application sees around the global DDL lock (docs/schema-changes.md): its statement
     * cancelled or timed out, its session ended; it retries, and only what committed counts.
     */
    private static boolean aroundDdlLocks(SQLException e) {
        String state = String.valueOf(e.getSQLState());
        return state.equals("57014") || state.equals("55P03") || state.equals("57P01") || state.startsWith("08");
    }

    /** Stops the writers and waits until every node has exactly what they committed. */
    void stopAndCheck() {
        stopped = true;
        writers.forEach(WorkloadWriter::stopAndCheck);
        long rows = rowsBefore + writes.stream().mapToLong(w -> w.inserted.get()).sum();
        long n = nBefore + writes.stream().mapToLong(w -> w.increments.get()).sum();
        assertTrue(rows > rowsBefore + 10, "the writers wrote");
        for (PgCluster node : nodes) {
            try {
                Await.untilEquals(timeout, "every committed row and increment on " + node.name(), rows + " rows, n " + n,
                        () -> node.queryString(db, "SELECT count(*) || ' rows, n ' || sum(n) FROM " + table));
            } catch (AssertionError e) {
                throw new AssertionError(e.getMessage() + "; conflicts there: " + node.queryString(db,
                        "SELECT string_agg(conflict_type || ' ' || conflict_resolution || ' ' || coalesce(object_name, '')"
                        + " || ' local ' || coalesce(local_tuple::text, '') || ' remote ' || coalesce(remote_tuple::text, '')"
                        + " || ' ' || coalesce(error_message, ''), E'\\n') FROM pgactive.pgactive_conflict_history"), e);
            }
        }
        String digest = "SELECT md5(string_agg(i::text, ',' ORDER BY id)) FROM " + table + " i";
        String expected = nodes.get(0).queryString(db, digest);
        for (PgCluster node : nodes.subList(1, nodes.size())) {
            assertEquals(expected, node.queryString(db, digest), "the rows of " + node.name() + " as "
                    + nodes.get(0).name() + "'s");
        }
    }

    @Override
    public void close() {
        if (!stopped) {
            stopped = true;
            writers.forEach(BackgroundLoop::stop);
        }
    }

    /**
     * Each transaction inserts a row and adds 1 to the n of one of the writer's own rows (writers
     * never conflict). Statements name only the columns that exist throughout. What each
     * committed is the ground truth.
     */
    static final class ItemWrites implements WorkloadWriter.Transaction {
        private final String node;
        private final String prefix;
        private final String table;
        final AtomicLong inserted = new AtomicLong();
        final AtomicLong increments = new AtomicLong();
        private int updated;

        ItemWrites(PgCluster node, String table) {
            this.node = node.name();
            this.table = table;
            this.prefix = node.name() + "-" + System.nanoTime() + "-";
        }

        @Override
        public void run(Connection conn) throws SQLException {
            long seq = inserted.get() + 1;
            try (PreparedStatement insert = conn.prepareStatement("INSERT INTO " + table + " (id, origin, n) VALUES (?, ?, 0)");
                 PreparedStatement update = conn.prepareStatement("UPDATE " + table + " SET n = n + 1 WHERE id = ?")) {
                insert.setString(1, prefix + seq);
                insert.setString(2, node);
                insert.executeUpdate();
                update.setString(1, prefix + ThreadLocalRandom.current().nextLong(1, seq + 1));
                updated = update.executeUpdate();
            }
        }

        @Override
        public void committed() {
            inserted.incrementAndGet();
            increments.addAndGet(updated);
        }
    }
}
