package io.pgactive.apply;

import io.pgactive.conn.LocalServer;
import io.pgactive.conn.StatementCache;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * One link's apply session: the only holder of the apply connection, its prepared statements,
 * its replication origin session and the sender thread that uses the connection while the link
 * decodes. Opened and closed in one place (the link, with try-with-resources).
 *
 * <p>Threading contract: the thread that opened the session owns the connection, except while
 * work handed to {@link #submit} runs: the sender holds it then, until that work returns, and
 * {@link #await} hands it back. Every use goes through {@link #connection()}, which fails on
 * any other thread: a use that did not wait for the sender is a bug, and it shows at once.
 */
public final class ApplySession implements AutoCloseable {

    interface Work<T> {
        T run() throws SQLException;
    }

    private final Connection conn;
    private final StatementCache statements;
    private final OriginSession origins;
    private final ExecutorService sender;
    /** The thread that may use the connection now; null between a submit and the sender's start. */
    private volatile Thread holder = Thread.currentThread();

    /** Takes over {@code conn}; {@link #open} is how links get one. */
    ApplySession(Connection conn) {
        this.conn = conn;
        this.statements = new StatementCache(this::connection);
        this.origins = new OriginSession(this);
        String name = Thread.currentThread().getName() + " (sender)";
        this.sender = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
    }

    public static ApplySession open(LocalServer local, String dbname, String applicationName) throws SQLException {
        return new ApplySession(local.connect(dbname, applicationName));
    }

    /** The connection, for the thread that holds it now. */
    public Connection connection() {
        Thread current = Thread.currentThread();
        if (current != holder) {
            throw new IllegalStateException("the apply connection was used by thread \"" + current.getName()
                    + "\" while " + (holder == null ? "work was being handed to the sender"
                    : "thread \"" + holder.getName() + "\" holds it"));
        }
        return conn;
    }

    StatementCache statements() {
        return statements;
    }

    OriginSession origins() {
        return origins;
    }

    /** Runs {@code work} on the sender thread, which holds the connection until it returns. */
    <T> Future<T> submit(Work<T> work) {
        connection(); // only the holder may hand the connection on
        Thread owner = holder;
        holder = null;
        Callable<T> task = () -> {
            holder = Thread.currentThread();
            try {
                return work.run();
            } finally {
                holder = owner;
            }
        };
        try {
            return sender.submit(task);
        } catch (RejectedExecutionException e) {
            holder = owner;
            throw e;
        }
    }

    /** The outcome of submitted work, once the connection is back; its SQL error is rethrown as is. */
    static <T> T await(Future<T> sent) throws SQLException {
        try {
            return sent.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SQLException("interrupted while waiting for the apply connection", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof SQLException sql) {
                throw sql;
            }
            throw new IllegalStateException("apply on the sender thread failed", e.getCause());
        }
    }

    /**
     * Stops the sender, gives the origin up and closes the connection, whatever state they are
     * in: after a failure the connection may be broken or still busy on the sender.
     */
    @Override
    public void close() throws SQLException {
        sender.shutdownNow();
        try {
            sender.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        holder = Thread.currentThread();
        try {
            origins.release();
        } catch (SQLException | RuntimeException ignored) {
            // a broken connection: its backend is exiting and gives the origin up by itself
        } finally {
            try {
                statements.close();
            } finally {
                conn.close();
            }
        }
    }
}
