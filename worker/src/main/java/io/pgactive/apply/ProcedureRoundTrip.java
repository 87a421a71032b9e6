package io.pgactive.apply;

import io.pgactive.conflict.ConflictLog;
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
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One round trip of a {@link Pipeline}, on the apply session's sender thread: consecutive
 * transactions of one shape under one origin go as calls of their procedure, each call applying
 * up to {@value #TRANSACTIONS_PER_CALL} of them, and the calls as one JDBC batch, which pgjdbc
 * pipelines. The procedure commits each transaction on its own (the driver runs in autocommit
 * mode, so a CALL may), so each remote transaction is still one local transaction, recorded with
 * its own origin position and time.
 *
 * <p>A transaction that needs judgement stops the round trip there (see
 * {@link TransactionProcedures}), as does one that fails; the origin's progress tells how many
 * committed before it.
 */
final class ProcedureRoundTrip implements Pipeline.RoundTrip {

    /** Transactions per procedure call at most: a statement's cost is shared, its values stay small. */
    static final int TRANSACTIONS_PER_CALL = 100;

    interface OriginSetter {
        void use(String origin) throws SQLException;
    }

    private final ApplySession session;
    private final StatementCache statements;
    private final ApplyRoles roles;
    private final OriginSetter origins;
    private final ConflictLog history;
    /** Counted on the sender thread, taken on the link's. */
    private final AtomicInteger resolved = new AtomicInteger();

    ProcedureRoundTrip(ApplySession session, ApplyRoles roles, OriginSetter origins, ConflictLog history) {
        this.session = session;
        this.history = history;
        this.statements = session.statements();
        this.roles = roles;
        this.origins = origins;
    }

    /** The connection belongs to the sender until the outcome is known. */
    @Override
    public Future<Integer> start(List<Pipeline.Queued> calls) {
        return session.submit(() -> execute(calls));
    }

    private int execute(List<Pipeline.Queued> queued) throws SQLException {
        int start = 0;
        while (start < queued.size()) {
            int end = start + 1;
            while (end < queued.size() && sameBatch(queued.get(start), queued.get(end))) {
                end++;
            }
            int committed = executeBatch(queued.subList(start, end));
            if (start + committed < end) {
                return start + committed;
            }
            start = end;
        }
        return queued.size();
    }

    private static boolean sameBatch(Pipeline.Queued a, Pipeline.Queued b) {
        return a.call().sql().equals(b.call().sql()) && a.tx().origin().equals(b.tx().origin());
    }

    /** Returns how many of {@code batch} committed. */
    private int executeBatch(List<Pipeline.Queued> batch) throws SQLException {
        String origin = batch.get(0).tx().origin();
        origins.use(origin);
        PreparedStatement ps = statements.get(batch.get(0).call().sql());
        for (int first = 0; first < batch.size(); first += TRANSACTIONS_PER_CALL) {
            List<Pipeline.Queued> call = batch.subList(first, Math.min(first + TRANSACTIONS_PER_CALL, batch.size()));
            List<String> values = new ArrayList<>(call.size() * call.get(0).call().values().length);
            for (Pipeline.Queued q : call) {
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
            allCommitted = true;
        } catch (SQLException e) {
            failure = e; // the server rolled the failed call back and skipped the rest
        }
        allCommitted &= !readNotices(ps.getWarnings());
        ps.clearWarnings();
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
        return Pipeline.committedThrough(batch, progress);
    }

    /**
     * Counts (and logs, if asked to) the conflicts the procedures resolved in transactions that
     * committed; returns whether a procedure said it stopped at a transaction that needs the
     * careful path.
     */
    private boolean readNotices(SQLWarning warnings) {
        boolean stopped = false;
        for (SQLWarning w = warnings; w != null; w = w.getNextWarning()) {
            if (TransactionProcedures.CAREFUL_PATH.equals(w.getSQLState())) {
                stopped = true;
            } else if (ContestedUpdates.RESOLVED.equals(w.getSQLState())) {
                resolved.incrementAndGet();
                if (history.toLogfile()) {
                    history.logResolved(w.getMessage());
                }
            }
        }
        return stopped;
    }

    /** How many conflicts the procedures resolved since the last call; see {@link ContestedUpdates}. */
    int takeResolvedConflicts() {
        return resolved.getAndSet(0);
    }
}
