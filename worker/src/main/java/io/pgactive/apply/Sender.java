package io.pgactive.apply;

import java.sql.SQLException;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The thread that uses the apply connection while the link's own thread decodes the next
 * changes (see {@link BufferedApplier}). Whoever hands it work waits for the outcome with
 * {@link #await} before touching the connection again.
 */
final class Sender implements AutoCloseable {

    interface Work<T> {
        T run() throws SQLException;
    }

    private final ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, Thread.currentThread().getName() + " (sender)");
        t.setDaemon(true);
        return t;
    });

    <T> Future<T> submit(Work<T> work) {
        Callable<T> task = work::run;
        return executor.submit(task);
    }

    /** The outcome of submitted work; its SQL error is rethrown as is. */
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

    @Override
    public void close() {
        executor.shutdownNow();
    }
}
