package io.pgactive.apply;

import io.pgactive.catalog.NodeIdentity;
import io.pgactive.conflict.RemoteTransaction;
import io.pgactive.decode.PgOutputMessage;
import io.pgactive.decode.PgOutputMessage.Delete;
import io.pgactive.decode.PgOutputMessage.Insert;
import io.pgactive.decode.PgOutputMessage.Relation;
import io.pgactive.decode.PgOutputMessage.Truncate;
import io.pgactive.decode.PgOutputMessage.Update;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;

/**
 * The apply session a link talks to. Small remote transactions are held until they commit and,
 * when a {@link TransactionProcedures procedure} can apply them, queued in a {@link Pipeline},
 * many per round trip: round trips, not the server's work, are what limit a client-side apply of
 * small transactions. Everything else (big transactions, deletes, truncates, a join's catch-up)
 * and every queued transaction that reports a conflict or fails goes through {@link Applier},
 * which judges conflicts change by change. Transactions still commit one by one, in order.
 *
 * <p>{@link #flush()} must run before anything relies on the queue having reached the server:
 * confirming positions upstream, and waiting for more changes.
 */
public final class BufferedApplier implements AutoCloseable {

    private final Applier careful;
    private final boolean buffering;
    private final TransactionProcedures procedures;
    private final Pipeline pipeline;
    /** The transaction being received, while it is held; null when it is applied as it streams. */
    private PendingTransaction pending;

    /** @param resolveConflicts false for a join's catch-up, which replays verbatim and is not buffered */
    public BufferedApplier(Connection conn, NodeIdentity self, boolean synchronousCommit, boolean resolveConflicts,
                           ApplyStats stats) throws SQLException {
        this.careful = new Applier(conn, self, synchronousCommit, resolveConflicts, stats);
        this.buffering = resolveConflicts;
        this.procedures = new TransactionProcedures(conn, new TransactionProcedures.TableFacts() {
            @Override
            public LocalColumns columns(Relation rel) throws SQLException {
                return careful.columnsHere(rel);
            }

            @Override
            public String copiedBefore(Relation rel) throws SQLException {
                return careful.copiedBefore(rel);
            }
        });
        this.pipeline = new Pipeline(conn, careful.statements());
    }

    public void relation(Relation relation) {
        careful.relation(relation); // held changes keep the definition they were decoded with
    }

    public void begin(String origin, RemoteTransaction transaction) throws SQLException {
        if (buffering) {
            pending = new PendingTransaction(origin, transaction);
        } else {
            careful.begin(origin, transaction);
        }
    }

    public void insert(Insert change) throws SQLException {
        Relation rel = careful.relationOf(change.relationOid());
        if (!hold(rel, change)) {
            careful.insert(rel, change);
        }
    }

    public void update(Update change) throws SQLException {
        Relation rel = careful.relationOf(change.relationOid());
        if (!hold(rel, change)) {
            careful.update(rel, change);
        }
    }

    public void delete(Delete change) throws SQLException {
        Relation rel = careful.relationOf(change.relationOid());
        if (!hold(rel, change)) {
            careful.delete(rel, change);
        }
    }

    public void truncate(Truncate change) throws SQLException {
        applyAsItStreams();
        careful.truncate(change);
    }

    /** Holds the change if the transaction is held and stays small; else switches it to the careful path. */
    private boolean hold(Relation rel, PgOutputMessage change) throws SQLException {
        if (pending != null && pending.add(rel, change)) {
            return true;
        }
        applyAsItStreams();
        return false;
    }

    /** From now on the current transaction is applied change by change; what was held goes first. */
    private void applyAsItStreams() throws SQLException {
        if (pending == null) {
            return;
        }
        PendingTransaction held = pending;
        pending = null;
        flush();
        careful.begin(held.origin(), held.remote());
        replayChanges(held);
    }

    public void commit(long originLsn, long commitTimeMicros) throws SQLException {
        if (pending == null) {
            careful.commit(originLsn, commitTimeMicros);
            return;
        }
        PendingTransaction held = pending;
        pending = null;
        held.committed(originLsn, commitTimeMicros);
        Optional<TransactionProcedures.Call> call = procedures.compile(held);
        if (call.isEmpty()) {
            flush();
            replay(held);
            return;
        }
        pipeline.add(call.get(), held);
        if (pipeline.isFull()) {
            flush();
        }
    }

    /** Sends the queued transactions; those that did not commit are applied the careful way. */
    public void flush() throws SQLException {
        if (pipeline.isEmpty()) {
            return;
        }
        List<PendingTransaction> queued = pipeline.queued();
        List<PendingTransaction> notCommitted = pipeline.execute(careful::useOrigin);
        for (PendingTransaction tx : queued.subList(0, queued.size() - notCommitted.size())) {
            for (PendingTransaction.Change change : tx.changes()) {
                if (!Applier.isLocalOnly(change.relation())) {
                    careful.count(change.message() instanceof Insert ? ApplyStats.Counter.INSERT
                            : ApplyStats.Counter.UPDATE);
                }
            }
            careful.committed(tx.commitTimeMicros());
        }
        for (PendingTransaction tx : notCommitted) {
            replay(tx);
        }
    }

    private void replay(PendingTransaction tx) throws SQLException {
        careful.begin(tx.origin(), tx.remote());
        replayChanges(tx);
        careful.commit(tx.originLsn(), tx.commitTimeMicros());
    }

    private void replayChanges(PendingTransaction tx) throws SQLException {
        for (PendingTransaction.Change change : tx.changes()) {
            if (change.message() instanceof Insert i) {
                careful.insert(change.relation(), i);
            } else if (change.message() instanceof Update u) {
                careful.update(change.relation(), u);
            } else if (change.message() instanceof Delete d) {
                careful.delete(change.relation(), d);
            }
        }
    }

    /** Gives up the current transaction and everything queued (none of it committed); see {@link Applier#abort}. */
    public void abort(Exception cause) {
        pending = null;
        pipeline.clear();
        careful.abort(cause);
    }

    public void collectGarbage() throws SQLException {
        careful.collectGarbage();
    }

    public void flushStats() throws SQLException {
        careful.flushStats();
    }

    @Override
    public void close() throws SQLException {
        careful.close();
    }
}
