package io.pgactive.apply;

import io.pgactive.catalog.NodeIdentity;
import io.pgactive.conflict.ColumnChanges;
import io.pgactive.conflict.ConflictLog;
import io.pgactive.conflict.PriorVersion;
import io.pgactive.conflict.RemoteTransaction;
import io.pgactive.conflict.SeenVersions;
import io.pgactive.pg.Lsn;
import io.pgactive.pgoutput.PgOutputMessage.Delete;
import io.pgactive.pgoutput.PgOutputMessage.Insert;
import io.pgactive.pgoutput.PgOutputMessage.Relation;
import io.pgactive.pgoutput.PgOutputMessage.Truncate;
import io.pgactive.pgoutput.PgOutputMessage.Update;
import io.pgactive.pgoutput.PgOutputMessage;
import java.sql.SQLException;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.LongSupplier;

/**
 * The apply session a link talks to. Small remote transactions are held until they commit and,
 * when a {@link TransactionProcedures procedure} can apply them, queued in a {@link Pipeline},
 * many per round trip: round trips, not the server's work, are what limit a client-side apply of
 * small transactions. Everything else (big transactions, deletes, truncates)
 * and every queued transaction that reports a conflict or fails goes through {@link Applier},
 * which judges conflicts change by change. Transactions still commit one by one, in order.
 *
 * <p>A full queue is {@linkplain #send() sent} from a thread of its own, so the link decodes and
 * compiles the next transactions while the server applies these; the connection is the
 * sender's until the outcome is known, and every other use of it waits for that first.
 * {@link #flush()} must run before anything relies on the queue having committed: confirming
 * positions upstream.
 */
public final class BufferedApplier {

    private final Applier careful;
    private final TransactionProcedures procedures;
    private final ProcedureRoundTrip roundTrip;
    private final Pipeline pipeline;
    /** The transaction being received, while it is held; null when it is applied as it streams. */
    private PendingTransaction pending;
    /** How many local DDL commands the node manager has seen committed, and how many of them this session has taken into account. */
    private final LongSupplier localDdl;
    private long localDdlNoticed;

    /**
     * @param resolveConflicts false for a join's catch-up, which replays verbatim
     * @param localDdl         counts local DDL commands as they commit (see NodeManager)
     */
    public BufferedApplier(ApplySession session, NodeIdentity self, boolean synchronousCommit, boolean resolveConflicts,
                           ApplyStats stats, LongSupplier localDdl) throws SQLException {
        this.localDdl = localDdl;
        this.localDdlNoticed = localDdl.getAsLong();
        this.careful = new Applier(session, self, synchronousCommit, resolveConflicts, stats);
        this.procedures = new TransactionProcedures(session, resolveConflicts, new TransactionProcedures.TableFacts() {
            @Override
            public LocalColumns columns(Relation rel) throws SQLException {
                return localTable(rel.relationOid()).columns();
            }

            @Override
            public String copiedBefore(Relation rel) throws SQLException {
                settle();
                return careful.copiedBefore(rel);
            }

            @Override
            public String rewrittenBy(Relation rel) throws SQLException {
                settle();
                return careful.rewrittenBy(rel);
            }

            @Override
            public String owner(Relation rel) throws SQLException {
                settle();
                return careful.roles().ownerOf(rel);
            }

            @Override
            public int originId(String origin) throws SQLException {
                settle();
                return careful.originId(origin);
            }

            @Override
            public OptionalInt writerId(NodeIdentity writer) throws SQLException {
                settle();
                return careful.writerId(writer);
            }

            @Override
            public NodeIdentity self() {
                return careful.self();
            }

            @Override
            public ConflictLog history() {
                return careful.conflicts();
            }

            @Override
            public void beforeStatement() throws SQLException {
                settle();
                careful.roles().becomeWorker();
            }
        });
        this.roundTrip = new ProcedureRoundTrip(session, careful.roles(), careful::useOrigin, careful.conflicts());
        this.pipeline = new Pipeline(roundTrip);
    }

    /** See {@link Applier#avoidCopyThrough}. */
    public void avoidCopyThrough(Lsn lsn) {
        careful.avoidCopyThrough(lsn);
    }

    public void relation(Relation relation) {
        careful.relation(relation); // held changes keep the definition they were decoded with
    }

    public void begin(String origin, RemoteTransaction transaction) throws SQLException {
        if (!pipeline.inFlight()) {
            noticeLocalDdl();
        }
        careful.forgetTablesThatDiscard();
        pending = new PendingTransaction(origin, transaction);
    }

    public void insert(Insert change) throws SQLException {
        if (QueuedCommands.isQueue(careful.relationOf(change.relationOid()))) {
            applyAsItStreams(); // the command runs on the careful path, never in a procedure
        }
        apply(change.relationOid(), change, careful::insert);
    }

    public void update(Update change) throws SQLException {
        apply(change.relationOid(), change, careful::update);
    }

    public void delete(Delete change) throws SQLException {
        apply(change.relationOid(), change, careful::delete);
    }

    /** How the careful path applies a change of one kind. */
    private interface CarefulChange<M extends PgOutputMessage> {
        void apply(Relation rel, M change) throws SQLException;
    }

    /**
     * Fits a row change to the local table (see {@link LocalTable}; a table dropped here takes
     * nothing), then holds it with its transaction or applies it on the careful path.
     */
    private <M extends PgOutputMessage> void apply(int relationOid, M change, CarefulChange<M> carefully)
            throws SQLException {
        LocalTable table = localTable(relationOid);
        if (table.droppedHere()) {
            return;
        }
        @SuppressWarnings("unchecked") // map() keeps a change's kind
        M mapped = (M) table.map(change);
        if (table.facts().merged()) {
            applyAsItStreams(); // merged column by column, or with concurrent versions, on the careful path only
        } else if (hold(table.applied(), mapped)) {
            return;
        }
        carefully.apply(table.applied(), mapped);
    }

    /** The local table for the stream's latest definition of {@code relationOid}; reading it waits for the sender. */
    private LocalTable localTable(int relationOid) throws SQLException {
        LocalTable known = careful.knownTable(relationOid);
        if (known != null) {
            return known;
        }
        settle();
        return careful.tableHere(relationOid);
    }

    /**
     * Local DDL makes what this session knows of local tables, and the procedures compiled from
     * it, stale: both are made again from the catalog when next needed. Asked while the
     * connection is idle. The node manager hears of the DDL (a notification) a moment after it
     * committed, so a transaction can still begin with the old definitions: a statement that no
     * longer fits fails and is applied again; what decides against local rows reads the table's
     * rewrites afresh (CopiedRows); a definition that throws values away lasts one transaction
     * (LocalTable#discardsValues). Not by LISTEN on this connection: asking pgjdbc for its
     * notifications costs a blocking socket read, a millisecond per transaction.
     */
    private void noticeLocalDdl() {
        long seen = localDdl.getAsLong();
        if (seen != localDdlNoticed) {
            localDdlNoticed = seen;
            careful.localSchemaChanged();
            procedures.forgetShapes();
        }
    }

    /**
     * The transaction's author names the version of a row its next change replaced (a row
     * another node wrote): the change goes with it, and is uncontested if that version is the
     * local row's (see {@link TransactionProcedures}).
     */
    public void replaced(PriorVersion version) {
        if (pending != null) {
            pending.replaced(version);
        } else {
            careful.replaced(version);
        }
    }

    /**
     * The transaction's author names the columns its next update of a row changed (a table
     * resolved column by column): the transaction goes to the careful path, which merges it.
     */
    public void columnChanges(ColumnChanges changes) throws SQLException {
        applyAsItStreams();
        careful.columnChanges(changes);
    }

    /**
     * The transaction's author names the versions of a row its writer had seen (a table with
     * conflict handlers): the transaction goes to the careful path, which keeps them.
     */
    public void seenVersions(SeenVersions versions) throws SQLException {
        applyAsItStreams();
        careful.seenVersions(versions);
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
        held.unmatchedVersions().forEach(careful::replaced);
    }

    public void commit(Lsn originLsn, long commitTimeMicros) throws SQLException {
        if (pending == null) {
            careful.commit(originLsn, commitTimeMicros);
            return;
        }
        PendingTransaction held = pending;
        held.committed(originLsn, commitTimeMicros);
        Optional<TransactionProcedures.Call> call = pipeline.pacing().bypassNext() ? Optional.empty()
                : procedures.compile(held); // if it fails, abort names held
        pending = null;
        if (call.isEmpty()) {
            flush();
            replay(held);
            return;
        }
        pipeline.add(call.get(), held);
        if (pipeline.isDue()) {
            send();
        }
    }

    /**
     * Hands the queued transactions to the sender and returns without waiting for them (after
     * settling what was sent before, so that transactions still commit in order).
     */
    public void send() throws SQLException {
        settle();
        while (!pipeline.isEmpty()) {
            pipeline.send();
            if (pipeline.isEmpty()) {
                return;
            }
            settle(); // more than one round trip's worth is queued: the next goes when this is done
        }
    }

    /** Sends what is queued and waits until all of it has committed, one way or the other. */
    public void flush() throws SQLException {
        do {
            send();
            settle();
        } while (!pipeline.isEmpty()); // settling may queue transactions again
    }

    /** Waits for the sender; a transaction the round trip stopped at is applied the careful way. */
    private void settle() throws SQLException {
        Pipeline.Settled settled = pipeline.settle();
        if (settled == null) {
            return;
        }
        noticeLocalDdl(); // before replaying: what was rewritten meanwhile must be known
        for (Pipeline.Queued call : settled.committed()) {
            for (PendingTransaction.Change change : call.tx().changes()) {
                if (!Applier.isLocalOnly(change.relation())) {
                    careful.count(change.message() instanceof Insert ? ApplyStats.Counter.INSERT
                            : ApplyStats.Counter.UPDATE);
                }
            }
            careful.committed(call.tx().remote());
        }
        careful.count(ApplyStats.Counter.UPDATE_CONFLICT, roundTrip.takeResolvedConflicts());
        if (settled.stoppedAt() != null) {
            replay(settled.stoppedAt().tx());
        }
    }

    private void replay(PendingTransaction tx) throws SQLException {
        careful.begin(tx.origin(), tx.remote());
        replayChanges(tx);
        careful.commit(tx.originLsn(), tx.commitTimeMicros());
    }

    private void replayChanges(PendingTransaction tx) throws SQLException {
        for (PendingTransaction.Change change : tx.changes()) {
            if (change.replaced() != null) {
                careful.replaced(change.replaced());
            }
            if (change.message() instanceof Insert i) {
                careful.insert(change.relation(), i);
            } else if (change.message() instanceof Update u) {
                careful.update(change.relation(), u);
            } else if (change.message() instanceof Delete d) {
                careful.delete(change.relation(), d);
            }
        }
    }

    /**
     * Gives up the current transaction and everything queued; see {@link Applier#abort}. Of what
     * was in flight, the origin's progress tells the restarted link what committed.
     */
    public void abort(Exception cause) {
        // A transaction can fail before it reaches the careful path (while its procedure is
        // compiled, say): it is still the one the history must name.
        RemoteTransaction failedBeforeBegin = pending == null ? null : pending.remote();
        pending = null;
        pipeline.abandon();
        careful.abort(cause, failedBeforeBegin);
    }

    public void collectGarbage() throws SQLException {
        careful.collectGarbage();
    }

    public void flushStats() throws SQLException {
        careful.flushStats();
    }

    public void statsCommitted() {
        careful.statsCommitted();
    }
}
