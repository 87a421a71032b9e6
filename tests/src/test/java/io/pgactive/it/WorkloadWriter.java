package io.pgactive.it;

import io.pgactive.harness.PgCluster;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

/**
 * The tests' one workload writer: an application's session on one node, as the application role
 * ({@link PgCluster#APP_ROLE}, which owns the tables; only administration runs as a superuser),
 * committing transactions at a steady rate until stopped. What a transaction does is a
 * {@link Transaction}; it learns which of its transactions committed, which makes it the ground
 * truth every node must end up with.
 *
 * <p>An error the test {@linkplain #tolerating expects} (a crashed server, a deadlock with apply)
 * is counted, the transaction rolled back, or the connection replaced if it broke, and the writer
 * goes on; any other error ends it and {@link #stopAndCheck} reports it.
 */
final class WorkloadWriter extends BackgroundLoop {

    /** One transaction's statements; the writer commits. */
    interface Transaction {
        void run(Connection conn) throws SQLException;

        /** The statements of the last {@link #run} committed. */
        default void committed() {
        }
    }

    private static final long RETRY_MILLIS = 100;

    private final PgCluster node;
    private final String db;
    private final Transaction transaction;
    private final long nanosPerCommit;
    private Predicate<SQLException> tolerated = e -> false;
    private final AtomicLong commits = new AtomicLong();
    private final AtomicLong errors = new AtomicLong();
    private volatile String lastError;
    private volatile Throwable failure;

    /** @param perSecond commits a second at most, 0 for as many as it can: tests check correctness, bench/ measures speed */
    WorkloadWriter(PgCluster node, String db, int perSecond, Transaction transaction) {
        super("writer " + node.name());
        this.node = node;
        this.db = db;
        this.transaction = transaction;
        this.nanosPerCommit = perSecond == 0 ? 0 : 1_000_000_000L / perSecond;
    }

    /** Errors to count and retry after, rather than fail on. */
    WorkloadWriter tolerating(Predicate<SQLException> expected) {
        this.tolerated = expected;
        return this;
    }

    PgCluster node() {
        return node;
    }

    long commits() {
        return commits.get();
    }

    long errors() {
        return errors.get();
    }

    String lastError() {
        return lastError;
    }

    /** Stops the writer; an error it did not expect fails the test. */
    void stopAndCheck() {
        stop();
        if (failure != null) {
            throw new AssertionError("writer on " + node.name() + " failed", failure);
        }
    }

    @Override
    public void run() {
        Connection conn = null;
        long next = System.nanoTime();
        try {
            while (running()) {
                next = Math.max(next + nanosPerCommit, System.nanoTime()); // no burst to make up for a slow spell
                long ahead = next - System.nanoTime();
                if (ahead > 0) {
                    TimeUnit.NANOSECONDS.sleep(ahead);
                }
                try {
                    if (conn == null) {
                        conn = connect();
                    }
                    transaction.run(conn);
                    conn.commit();
                    transaction.committed();
                    commits.incrementAndGet();
                } catch (SQLException e) {
                    if (!tolerated.test(e)) {
                        throw e;
                    }
                    errors.incrementAndGet();
                    String message = e.getSQLState() + " " + e.getMessage();
                    lastError = message.length() > 200 ? message.substring(0, 200) + "..." : message; // values can be long
                    conn = rollbackOrDiscard(conn);
                    TimeUnit.MILLISECONDS.sleep(RETRY_MILLIS);
                }
            }
        } catch (SQLException | RuntimeException e) {
            failure = e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            rollbackOrDiscard(conn);
            closeQuietly(conn);
        }
    }

    private Connection connect() throws SQLException {
        Connection conn = node.connect(db, PgCluster.APP_ROLE);
        try (Statement st = conn.createStatement()) {
            st.execute("SET statement_timeout = '30s'"); // never hang on a lock for the whole test
        }
        conn.setAutoCommit(false);
        return conn;
    }

    /** The connection rolled back, or null if it broke. */
    private static Connection rollbackOrDiscard(Connection conn) {
        if (conn == null) {
            return null;
        }
        try {
            conn.rollback();
            return conn;
        } catch (SQLException e) {
            closeQuietly(conn);
            return null;
        }
    }

    private static void closeQuietly(Connection conn) {
        if (conn != null) {
            try {
                conn.close();
            } catch (SQLException ignored) {
                // the server went away; so does the session
            }
        }
    }
}
