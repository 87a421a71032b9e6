package io.pgactive.apply;

import io.pgactive.conn.StatementCache;
import io.pgactive.pg.Lsn;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Types;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Future;

/**
 * Compiled transactions queued for the server and sent many per round trip: consecutive
 * transactions of one shape under one origin go as calls of their procedure, each call applying
 * up to {@value #TRANSACTIONS_PER_CALL} of them, and the calls as one JDBC batch, which pgjdbc
 * pipelines. The procedure commits each transaction on its own (the driver runs in autocommit
 * mode, so a CALL may), so each remote transaction is still one local transaction, recorded with
 * its own origin position and time.
 *
 * <p>A transaction that needs judgement stops the batch there (see {@link TransactionProcedures}),
 * as does one that fails. The transactions before it committed (the origin's progress says
 * which); the caller applies that one the careful way and queues the rest again.
 */
final class Pipeline {

    /** Transactions per procedure call at most: a statement's cost is shared, its values stay small. */
    static final int TRANSACTIONS_PER_CALL = 100;
    /** How long a transaction may wait for others to share its round trip: batching must not become lag. */
    static final long MAX_WAIT_NANOS = 5_000_000;

    interface OriginSetter {
        void use(String origin) throws SQLException;
    }

    record Queued(TransactionProcedures.Call call, PendingTransaction tx) {
    }

    private final ApplySession session;
    private final StatementCache statements;
    private final ApplyRoles roles;
    private final List<Queued> queue = new ArrayList<>();
    private long firstQueuedAt;
    private final PipelinePacing pacing = new PipelinePacing();

    Pipeline(ApplySession session, ApplyRoles roles) {
        this.session = session;
        this.statements = session.statements();
        this.roles = roles;
    }

    PipelinePacing pacing() {
        return pacing;
    }

    void add(TransactionProcedures.Call call, PendingTransaction tx) {
        if (queue.isEmpty()) {
            firstQueuedAt = System.nanoTime();
        }
        queue.add(new Queued(call, tx));
    }

    /** Time to send: enough transactions for one round trip, or the first has waited long enough. */
    boolean isDue() {
        return queue.size() >= pacing.limit()
                || (!queue.isEmpty() && System.nanoTime() - firstQueuedAt > MAX_WAIT_NANOS);
    }

    boolean isEmpty() {
        return queue.isEmpty();
    }

    void clear() {
        queue.clear();
    }

    /** Transactions handed to the sender thread; {@link #committed()} waits for the outcome. */
    final class Sent {
        private final List<Queued> calls;
        private final Future<Integer> outcome;

        private Sent(List<Queued> calls, Future<Integer> outcome) {
            this.calls = calls;
            this.outcome = outcome;
        }

        List<Queued> calls() {
            return calls;
        }

        /** How many of the calls, from the first, committed (all, unless one stopped or failed). */
        int committed() throws SQLException {
            int committed = ApplySession.await(outcome);
            pacing.roundTripEnded(calls.size(), committed);
            return committed;
        }
    }

    /**
     * Sends what is queued, up to the current limit, from {@code sender}'s thread and returns at
     * once, so that the caller can decode and compile the next transactions while the server
     * applies these. The connection belongs to the sender until the outcome is known.
     */
    Sent send(OriginSetter origins) {
        List<Queued> sending = queue.subList(0, Math.min(pacing.limit(), queue.size()));
        List<Queued> batch = List.copyOf(sending);
        sending.clear();
        firstQueuedAt = System.nanoTime();
        return new Sent(batch, session.submit(() -> execute(batch, origins)));
    }

    /** Puts calls back at the head of the queue, before anything queued since they were sent. */
    void requeue(List<Queued> calls) {
        if (queue.isEmpty()) {
            firstQueuedAt = System.nanoTime();
        }
        queue.addAll(0, calls);
    }

    private int execute(List<Queued> queued, OriginSetter origins) throws SQLException {
        int start = 0;
        while (start < queued.size()) {
            int end = start + 1;
            while (end < queued.size() && sameBatch(queued.get(start), queued.get(end))) {
                end++;
            }
            int committed = executeBatch(queued.subList(start, end), origins);
            if (start + committed < end) {
                return start + committed;
            }
            start = end;
        }
        return queued.size();
    }

    private static boolean sameBatch(Queued a, Queued b) {
        return a.call().sql().equals(b.call().sql()) && a.tx().origin().equals(b.tx().origin());
    }

    /** Returns how many of {@code batch} committed. */
    private int executeBatch(List<Queued> batch, OriginSetter origins) throws SQLException {
        String origin = batch.get(0).tx().origin();
        origins.use(origin);
        PreparedStatement ps = statements.get(batch.get(0).call().sql());
        for (int first = 0; first < batch.size(); first += TRANSACTIONS_PER_CALL) {
            List<Queued> call = batch.subList(first, Math.min(first + TRANSACTIONS_PER_CALL, batch.size()));
            List<String> values = new ArrayList<>(call.size() * call.get(0).call().values().length);
            for (Queued q : call) {
                values.addAll(Arrays.asList(q.call().values()));
            }
            ps.setObject(1, TextArrays.literal(values.toArray(new String[0])), Types.OTHER);
            ps.setInt(2, call.size());
            // A call does nothing unless the one before it in this round trip committed all of its own.
            ps.setObject(3, first == 0 ? null : batch.get(first - 1).tx().originLsn().toString(), Types.OTHER);
            ps.addBatch();
        }
        // Each call commits itself; the driver must not wrap the batch in a transaction.
        session.connection().setAutoCommit(true);
        boolean allCommitted = false;
        SQLException failure = null;
        try {
            ps.clearWarnings();
            ps.executeBatch();
            allCommitted = !stopped(ps.getWarnings());
            ps.clearWarnings();
        } catch (SQLException e) {
            failure = e; // the server rolled the failed call back and skipped the rest
        }
        roles.transactionEnded(); // each call switches roles inside its own transactions
        Lsn progress;
        try {
            ps.clearBatch();
            ps.clearParameters(); // see StatementCache
            session.connection().setAutoCommit(false);
            if (allCommitted) {
                return batch.size();
            }
            if (failure != null) {
                OriginSession.resetTransaction(session.connection());
            }
            progress = OriginSession.progress(session.connection(), origin, false);
        } catch (SQLException afterFailure) {
            // A connection that died fails everything after the call: why the call failed is what counts.
            if (failure == null) {
                throw afterFailure;
            }
            failure.addSuppressed(afterFailure);
            throw failure;
        }
        int committed = 0;
        while (committed < batch.size()
                && !batch.get(committed).tx().originLsn().isAfter(progress)) {
            committed++;
        }
        return committed;
    }

    /** Whether a procedure said it stopped at a transaction that needs the careful path. */
    private static boolean stopped(SQLWarning warnings) {
        for (SQLWarning w = warnings; w != null; w = w.getNextWarning()) {
            if (TransactionProcedures.CAREFUL_PATH.equals(w.getSQLState())) {
                return true;
            }
        }
        return false;
    }
}
