package io.pgactive.apply;

import io.pgactive.catalog.Names;
import io.pgactive.catalog.NodeIdentity;
import io.pgactive.conflict.ColumnChanges;
import io.pgactive.conflict.ColumnMerge;
import io.pgactive.conflict.Conflict;
import io.pgactive.conflict.ConflictHandlers;
import io.pgactive.conflict.ConflictLog;
import io.pgactive.conflict.ConflictRules.Decision;
import io.pgactive.conflict.ConflictRules;
import io.pgactive.conflict.ConflictType;
import io.pgactive.conflict.Frontier;
import io.pgactive.conflict.LocalRow;
import io.pgactive.conflict.PriorVersion;
import io.pgactive.conflict.RemoteTransaction;
import io.pgactive.conflict.Resolution;
import io.pgactive.conflict.RowVersion;
import io.pgactive.conflict.SeenVersions;
import io.pgactive.conn.StatementCache;
import io.pgactive.pg.Lsn;
import io.pgactive.pg.PgTimestamps;
import io.pgactive.pg.ServerError;
import io.pgactive.pgoutput.PgOutputMessage.Delete;
import io.pgactive.pgoutput.PgOutputMessage.Insert;
import io.pgactive.pgoutput.PgOutputMessage.Relation;
import io.pgactive.pgoutput.PgOutputMessage.Truncate;
import io.pgactive.pgoutput.PgOutputMessage.Update;
import io.pgactive.pgoutput.PgOutputMessage;
import io.pgactive.pgoutput.RelationCache;
import io.pgactive.pgoutput.RelationColumn;
import io.pgactive.pgoutput.TupleData;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.Future;

/**
 * Applies remote transactions to the local database, one local transaction per remote one, in
 * a session where user and foreign-key triggers do not fire ({@code session_replication_role =
 * replica}), as upstream pgactive does.
 *
 * <p>Each change is checked against the local row's last writer (DESIGN.md, "Conflicts"); a row
 * last written by the change's own origin is not a conflict. During a join's catch-up, changes
 * are applied verbatim instead: they are what the upstream actually did, not competing writes.
 */
public final class Applier {

    /** pgactive's own tables that describe only the local node; everything else in the schema replicates. */
    private static final String PGACTIVE_SCHEMA = "pgactive";
    private static final Set<String> LOCAL_ONLY_TABLES =
            Set.of("pgactive_local_state", "pgactive_conflict_history", "pgactive_apply_stats", "pgactive_tombstones",
                    "pgactive_copied_row_times", "pgactive_node_identifier", "pgactive_link_status",
                    "pgactive_dropped_objects", "pgactive_rewritten_tables", "pgactive_column_versions",
                    "pgactive_row_versions");

    private final ApplySession session;
    private final NodeIdentity self;
    private final boolean resolveConflicts;
    private final ConflictRules rules;
    private final ConflictLog conflicts;
    private final ConflictHandlers handlers;
    private final ApplyStats stats;
    private final Tombstones tombstones;
    private final CopiedRows copiedRows;
    private final RelationCache relations = new RelationCache();
    private final StatementCache statements;
    private final OriginSession origins;
    private final ApplyRoles roles;
    private final InsertBatch inserts = new InsertBatch();
    private final DeleteRaces races = new DeleteRaces();
    private final RowMessages<PriorVersion> replaced = new RowMessages<>();
    private final RowMessages<ColumnChanges> columnChanges = new RowMessages<>();
    private final RowMessages<SeenVersions> seenVersions = new RowMessages<>();
    private final ColumnVersions columnVersions;
    private final RowVersions rowVersions;
    /** A full insert batch the sender is executing, or null; see {@link #sendInserts()}. */
    private InsertsInFlight insertsInFlight;
    /** The local side of the relation map: per remote relation oid, for its latest Relation message. */
    private final Map<Integer, LocalTable> localTables = new java.util.HashMap<>();
    private RemoteTransaction remote;
    /** Transactions committed upstream up to here insert without COPY; see {@link #avoidCopyThrough}. */
    private Lsn copyAvoidedThrough = Lsn.ZERO;
    /** The local replication origin the current transaction is recorded under. */
    private String origin;

    Applier(ApplySession session, NodeIdentity self, boolean synchronousCommit, boolean resolveConflicts,
            ApplyStats stats) throws SQLException {
        this.session = session;
        this.stats = stats;
        this.self = self;
        this.resolveConflicts = resolveConflicts;
        this.rules = new ConflictRules(resolveConflicts);
        try (Statement st = session.connection().createStatement()) {
            st.execute("SET session_replication_role = replica");
            st.execute("SET synchronous_commit = " + (synchronousCommit ? "local" : "off"));
            st.execute("SET DateStyle = ISO");
            st.execute("SET IntervalStyle = postgres");
            st.execute("SET extra_float_digits = 3");
            st.execute("SET TimeZone = 'UTC'"); // as the tombstone trigger, so keys compare equal
            // A policy that would hide rows from the table owner fails the statement instead of
            // leaving a row unapplied: replication must not be filtered by row security.
            st.execute("SET row_security = off");
        }
        this.statements = session.statements();
        this.conflicts = ConflictLog.read(statements, self);
        this.handlers = new ConflictHandlers(statements);
        this.tombstones = new Tombstones(statements);
        this.columnVersions = new ColumnVersions(statements, self);
        this.rowVersions = new RowVersions(statements, self);
        LocalTables tables = rel -> tableHere(rel.relationOid());
        this.roles = new ApplyRoles(session, tables);
        this.copiedRows = new CopiedRows(session, self, roles, tables);
        session.connection().setAutoCommit(false);
        this.origins = session.origins();
    }

    public void relation(Relation relation) {
        // pgoutput sends a table's definition again after any invalidation of it, not only when
        // it changed: the local side read for an equal definition still holds (local DDL is
        // noticed on its own), and reading it again would stop the pipeline for a round trip.
        if (relation.equals(relations.find(relation.relationOid()).orElse(null))) {
            return;
        }
        relations.put(relation);
        localTables.remove(relation.relationOid());
    }

    /** Definitions that throw values away are read again for each transaction; see {@link LocalTable#discardsValues}. */
    void forgetTablesThatDiscard() {
        localTables.values().removeIf(LocalTable::discardsValues);
    }

    /** Local DDL committed: what this session knows of local tables is read again when next needed. */
    void localSchemaChanged() {
        localTables.clear();
    }

    StatementCache statements() {
        return statements;
    }

    ApplyRoles roles() {
        return roles;
    }

    /** The replication origin's id here, for statements compiled for one session. */
    int originId(String origin) throws SQLException {
        return origins.id(origin);
    }

    /**
     * The origin id that rows written by {@code writer} carry here: 0 for this node's own, as
     * {@code pg_xact_commit_timestamp_origin} reports them; empty for a node with no origin here.
     */
    OptionalInt writerId(NodeIdentity writer) throws SQLException {
        return writer.equals(self) ? OptionalInt.of(0) : origins.find(Names.origin(writer, self));
    }

    NodeIdentity self() {
        return self;
    }

    ConflictLog conflicts() {
        return conflicts;
    }

    /** The table definition the stream last sent for {@code relationOid}. */
    Relation relationOf(int relationOid) {
        return relations.get(relationOid);
    }

    /** The local table of the latest version of {@code relationOid} if already known (no query), else null. */
    LocalTable knownTable(int relationOid) {
        return localTables.get(relationOid);
    }

    /** The local table of the latest version of {@code relationOid}, read if not known. */
    LocalTable tableHere(int relationOid) throws SQLException {
        LocalTable cached = localTables.get(relationOid);
        if (cached == null) {
            settleInserts();
            roles.becomeWorker(); // it reads pgactive's catalog
            cached = LocalTable.of(session.connection(), relations.get(relationOid));
            localTables.put(relationOid, cached);
        }
        return cached;
    }

    LocalColumns columnsHere(Relation rel) throws SQLException {
        return tableHere(rel.relationOid()).columns();
    }

    /** Starts applying {@code transaction}, recorded locally under replication origin {@code origin}. */
    public void begin(String origin, RemoteTransaction transaction) throws SQLException {
        roles.becomeWorker();
        origins.use(origin);
        this.origin = origin;
        this.remote = transaction;
        replaced.clear();
        columnChanges.clear();
        seenVersions.clear();
    }

    /** The author of the current transaction names the version its next change to a row replaced. */
    void replaced(PriorVersion version) {
        replaced.add(version);
    }

    /** The author of the current transaction names the columns its next update of a row changed. */
    void columnChanges(ColumnChanges changes) {
        columnChanges.add(changes);
    }

    /** The author of the current transaction names the versions of a row its next change's writer had seen. */
    void seenVersions(SeenVersions versions) {
        seenVersions.add(versions);
    }

    /**
     * Transactions that committed upstream at or before {@code lsn} insert their batches with
     * {@code INSERT ... ON CONFLICT DO NOTHING}, which waits for a concurrent insert of the same
     * key and skips it, instead of COPY, which fails on it (see {@link InsertBatch.Ready}).
     */
    void avoidCopyThrough(Lsn lsn) {
        copyAvoidedThrough = lsn;
    }

    /** Whether the current transaction's insert batches may go by COPY; see {@link #avoidCopyThrough}. */
    private boolean copyAllowed() {
        return remote.commitLsn().isAfter(copyAvoidedThrough);
    }

    /** Makes {@code origin} the session's, for transactions applied outside this class. */
    void useOrigin(String origin) throws SQLException {
        roles.becomeWorker();
        origins.use(origin);
    }

    String copiedBefore(Relation rel) throws SQLException {
        return copiedRows.copiedBefore(rel);
    }

    String rewrittenBy(Relation rel) throws SQLException {
        return copiedRows.rewrittenBy(rel);
    }

    void count(ApplyStats.Counter counter) {
        stats.count(counter);
    }

    void count(ApplyStats.Counter counter, long times) {
        stats.count(counter, times);
    }

    void committed(RemoteTransaction transaction) {
        stats.committed(transaction);
    }

    void insert(Relation rel, Insert change) throws SQLException {
        if (isLocalOnly(rel)) {
            return;
        }
        if (QueuedCommands.isQueue(rel)) {
            flushInserts();
            roles.becomeWorker();
            QueuedCommands.run(session.connection(), rel, change.newTuple());
            localSchemaChanged(); // later changes of this transaction may need the new definitions
        }
        stats.count(ApplyStats.Counter.INSERT);
        if (keepsVersions(rel)) {
            flushInserts();
            applyVersion(rel, RowVersion.Op.INSERT, change.newTuple(), change.newTuple(), false);
            return;
        }
        if (!inserts.accepts(rel)) {
            flushInserts();
        }
        if (inserts.isEmpty() && tombstonesMatter(rel)) {
            // Once per batch (a batch holds one table's rows): a newer delete of the key is
            // looked for before commit.
            races.inserted(rel);
        }
        inserts.add(rel, columnsHere(rel), hasKey(rel), change.newTuple());
        if (inserts.isFull()) {
            sendInserts();
        }
    }

    /**
     * Hands a full batch to the sender thread and returns: the next rows are decoded while the
     * server inserts these. Whatever uses the connection next settles it first.
     */
    private void sendInserts() throws SQLException {
        Relation rel = inserts.relation();
        settleInserts();
        InsertBatch.Ready batch = inserts.takeReady(copyAllowed());
        String owner = roles.ownerOf(rel); // here: the table map is this thread's
        insertsInFlight = new InsertsInFlight(rel, session.submit(() -> {
            roles.become(owner);
            return batch.execute(statements);
        }));
    }

    /** A batch the sender is inserting, and the rows that were not inserted (their key existed). */
    private record InsertsInFlight(Relation relation, Future<List<TupleData>> notInserted) {
    }

    /** Waits for the batch in flight, if any; its rows whose key existed are insert_insert conflicts. */
    private void settleInserts() throws SQLException {
        if (insertsInFlight == null) {
            return;
        }
        InsertsInFlight sent = insertsInFlight;
        insertsInFlight = null;
        for (TupleData row : ApplySession.await(sent.notInserted())) {
            insertConflict(sent.relation(), row);
        }
    }

    /**
     * Sends batched inserts and waits; a row whose key already exists is an insert_insert
     * conflict. A row whose key a newer delete took out is inserted all the same, and taken out
     * again before commit (see {@link #settleDeleteRaces}): one look for all rows, not one per row.
     */
    private void flushInserts() throws SQLException {
        settleInserts();
        if (inserts.isEmpty()) {
            return;
        }
        Relation rel = inserts.relation();
        roles.becomeOwnerOf(rel);
        for (TupleData row : inserts.execute(statements, copyAllowed())) {
            if (hasKey(rel)) {
                insertConflict(rel, row);
            }
        }
    }

    /** Whether inserts into {@code rel} are judged against tombstones (keyed tables, outside catch-up). */
    private boolean tombstonesMatter(Relation rel) {
        return resolveConflicts && hasKey(rel);
    }

    /**
     * An INSERT older than a DELETE of the same key that arrived first (from another node) must
     * not bring the row back: it is skipped, as every node that saw the two in order did.
     */
    private boolean deletedLater(Relation rel, TupleData newRow) throws SQLException {
        roles.becomeWorker();
        Optional<LocalRow> tombstone = tombstones.find(rel, newRow);
        Decision decision = rules.insertOfMissingKey(tombstone, remote);
        if (!decision.isConflict()) {
            return false;
        }
        logConflict(new Conflict(decision.conflict(), decision.resolution(), rel.namespace(), rel.name(),
                tombstone.get(), TupleJson.of(rel, newRow), remote, null), ApplyStats.Counter.INSERT_CONFLICT);
        return true;
    }

    private void insertConflict(Relation rel, TupleData newRow) throws SQLException {
        LocalRow local = lookup(rel, newRow, false);
        if (local == null) {
            // The existing row went away meanwhile: a delete committed since. Insert after all,
            // unless that delete is newer than this insert.
            if (!deletedLater(rel, newRow)) {
                execute(rel, TableStatements.insertUnlessKeyExists(rel, newRow, columnsHere(rel)));
            }
            return;
        }
        overwrite(ConflictRules.Change.INSERT, rel, local, newRow, Optional.empty());
    }

    void update(Relation rel, Update change) throws SQLException {
        flushInserts();
        if (isLocalOnly(rel)) {
            return;
        }
        stats.count(ApplyStats.Counter.UPDATE);
        boolean full = change.oldKind() == PgOutputMessage.OLD_TUPLE;
        TupleData identity = change.hasOldTuple() ? change.oldTuple() : change.newTuple();
        if (change.oldKind() != PgOutputMessage.OLD_KEY && keepsVersions(rel)) {
            applyVersion(rel, RowVersion.Op.UPDATE, identity, change.newTuple(), full);
            return;
        }
        Optional<ColumnChanges> columns = columnChanges.take(rel, identity);
        boolean byColumn = columns.isPresent() || byColumn(rel);
        // One round trip in the common case; a conflict or a missing row costs a second look.
        if (!byColumn && execute(rel, TableStatements.updateIfUncontested(rel, identity, full, change.newTuple(),
                columnsHere(rel), uncontested(rel))) > 0) {
            return;
        }
        LocalRow local = lookup(rel, identity, full);
        if (local == null && resolveConflicts
                && !resolvedByHandler(ConflictType.UPDATE_DELETE, "UPDATE", rel, null, change.newTuple())
                && !updateOfMissingRow(rel, identity, change.newTuple())) {
            // The key exists after all: another link's insert of it committed while ours waited
            // for it. The update is judged against that row.
            local = lookup(rel, identity, full);
        }
        if (local != null && byColumn) {
            // A change from a node that names no columns (it had not set the table up yet, or
            // a join's catch-up forwards it) changes them all, counters included.
            merge(rel, local, identity, change.newTuple(), columns.map(ColumnChanges::changed)
                    .orElseGet(() -> ColumnChanges.all(columnNames(rel))), replaced.take(rel, identity));
        } else if (local != null) {
            overwrite(ConflictRules.Change.UPDATE, rel, local, change.newTuple(), replaced.take(rel, identity));
        }
    }

    /** Whether the table resolves conflicts column by column here (see {@link #merge}). */
    private boolean byColumn(Relation rel) throws SQLException {
        return tableHere(rel.relationOid()).facts().byColumn();
    }

    /** Merges a remote update into a row of a column-level table, as {@link ConflictRules#mergeColumns} decides. */
    private void merge(Relation rel, LocalRow local, TupleData identity, TupleData newRow,
                       List<ColumnChanges.Column> changed, Optional<PriorVersion> prior) throws SQLException {
        roles.becomeWorker();
        Set<String> here = Set.copyOf(columnNames(rel)); // without those dropped here (LocalTable)
        ColumnMerge merge = rules.mergeColumns(local, columnVersions.read(rel, identity),
                changed.stream().filter(c -> here.contains(c.name())).toList(), remote, prior);
        if (merge.conflict() != null) {
            logConflict(new Conflict(merge.conflict().conflict(), merge.conflict().resolution(), rel.namespace(),
                    rel.name(), local.asVersion(merge.local()), TupleJson.of(rel, newRow), remote, null));
        }
        if (merge.changesRow()) {
            execute(rel, TableStatements.updateColumns(rel, newRow, local.ctid(), columnsHere(rel), merge.taken(),
                    merge.counters()));
        }
        if (!merge.taken().isEmpty()) {
            roles.becomeWorker();
            columnVersions.record(rel, newRow, merge.taken()); // under the new key, as the origin's trigger
        }
    }

    private static List<String> columnNames(Relation rel) {
        return rel.columns().stream().map(RelationColumn::name).toList();
    }

    /**
     * Puts the remote row over an existing local one: directly when it is no conflict (see
     * {@link ConflictRules#existingRow}: the author had seen this version, named by
     * {@code replacedVersion}), else as decided by a handler or last update wins.
     */
    private void overwrite(ConflictRules.Change change, Relation rel, LocalRow local, TupleData newRow,
                           Optional<PriorVersion> replacedVersion) throws SQLException {
        Decision decision = rules.existingRow(change, local, remote, replacedVersion);
        if (decision.isConflict()) {
            if (resolvedByHandler(decision.conflict(), change.name(), rel, local, newRow)) {
                return;
            }
            // first: the history reads the local row as it was
            logConflict(new Conflict(decision.conflict(), decision.resolution(), rel.namespace(), rel.name(), local,
                    TupleJson.of(rel, newRow), remote, null));
        }
        if (decision.action() == ConflictRules.Action.APPLY) {
            execute(rel, TableStatements.updateRow(rel, newRow, local.ctid(), columnsHere(rel)));
        }
    }

    /**
     * The row is gone: the update is skipped or inserts the updated row (see
     * {@link ConflictRules#missingRowForUpdate}). Returns false, having done nothing, if the key
     * exists by the time the row is inserted.
     */
    private boolean updateOfMissingRow(Relation rel, TupleData identity, TupleData newRow) throws SQLException {
        roles.becomeWorker();
        Optional<LocalRow> tombstone = tombstones.find(rel, identity);
        Decision decision = rules.missingRowForUpdate(tombstone, remote, !newRow.hasUnchangedToast() && hasKey(rel));
        if (decision.action() == ConflictRules.Action.INSERT_ROW) {
            races.inserted(rel);
            if (execute(rel, TableStatements.insertUnlessKeyExists(rel, newRow, columnsHere(rel))) == 0) {
                return false;
            }
        }
        logConflict(new Conflict(decision.conflict(), decision.resolution(), rel.namespace(), rel.name(),
                tombstone.orElse(null), TupleJson.of(rel, newRow), remote, null));
        return true;
    }

    void delete(Relation rel, Delete change) throws SQLException {
        flushInserts();
        if (isLocalOnly(rel)) {
            return;
        }
        stats.count(ApplyStats.Counter.DELETE);
        deleteRow(rel, change);
        if (resolveConflicts) {
            // After the row's lock, as a local DELETE takes them (its trigger writes the
            // tombstone): the other order deadlocked with a local delete of the same key.
            roles.becomeWorker();
            tombstones.record(rel, change.oldTuple(), remote);
        }
    }

    /** The row part of a remote delete: the row deleted, or judged, or found missing. */
    private void deleteRow(Relation rel, Delete change) throws SQLException {
        boolean full = change.oldKind() == PgOutputMessage.OLD_TUPLE;
        if (keepsVersions(rel)) {
            applyVersion(rel, RowVersion.Op.DELETE, change.oldTuple(), null, full);
            return;
        }
        if (!byColumn(rel) && execute(rel, TableStatements.deleteIfUncontested(rel, change.oldTuple(), full,
                uncontested(rel))) > 0) {
            return;
        }
        LocalRow local = lookup(rel, change.oldTuple(), full);
        if (local != null) {
            deleteRow(rel, change, local);
        } else if (tombstonesMatter(rel)) {
            races.missed(rel, change); // looked for again before commit
        } else if (resolveConflicts) {
            deleteOfMissingRow(rel, change);
        }
    }

    private void deleteOfMissingRow(Relation rel, Delete change) throws SQLException {
        Decision decision = rules.missingRowForDelete();
        logConflict(new Conflict(decision.conflict(), decision.resolution(), rel.namespace(), rel.name(),
                null, TupleJson.of(rel, change.oldTuple()), remote, null));
    }

    /** Deletes {@code local}, the row a remote delete found, unless it is a conflict the delete loses. */
    private void deleteRow(Relation rel, Delete change, LocalRow local) throws SQLException {
        boolean byColumn = byColumn(rel);
        if (byColumn) { // the row's version is the latest of its own and its columns'
            roles.becomeWorker();
            local = local.asVersion(ColumnMerge.latest(local, columnVersions.read(rel, change.oldTuple()).values()));
        }
        Decision decision = rules.existingRow(ConflictRules.Change.DELETE, local, remote,
                replaced.take(rel, change.oldTuple()));
        if (decision.isConflict()) {
            logConflict(new Conflict(decision.conflict(), decision.resolution(), rel.namespace(), rel.name(), local,
                    TupleJson.of(rel, change.oldTuple()), remote, null),
                    ApplyStats.Counter.DELETE_CONFLICT); // first: the history reads the local row as it was
        }
        if (decision.action() == ConflictRules.Action.APPLY) {
            execute(rel, TableStatements.deleteRow(rel, local.ctid()));
            if (byColumn) {
                roles.becomeWorker();
                columnVersions.forget(rel, change.oldTuple());
            }
        }
    }

    /** Whether changes to the table's rows go by their concurrent versions (see {@link #applyVersion}). */
    private boolean keepsVersions(Relation rel) throws SQLException {
        return resolveConflicts && hasKey(rel) && tableHere(rel.relationOid()).facts().keepsVersions();
    }

    /**
     * A change to a row of a table with conflict handlers (docs/conflicts.md, "Handlers that
     * converge"): the row's versions that the change's writer had not seen stay beside it, and
     * the row becomes their merge (see {@link Frontier}): a conflict. A change that supersedes
     * them all is the next change to the row, and is applied as it is; one that a version here
     * had seen already is part of the row.
     *
     * @param newRow null for a DELETE
     */
    private void applyVersion(Relation rel, RowVersion.Op op, TupleData identity, TupleData newRow, boolean full)
            throws SQLException {
        Map<String, Long> seen = seenVersions.take(rel, identity).map(SeenVersions::seen).orElse(Map.of());
        RowVersion change = new RowVersion(remote.origin().sysid(), remote.commitTimeMicros(), seen, op,
                newRow == null ? null : TupleJson.of(rel, newRow));
        while (true) {
            LocalRow local = lookup(rel, identity, full);
            roles.becomeWorker();
            Optional<Frontier> next = rowVersions.held(rel, identity, local, tombstones).add(change);
            if (next.isEmpty()) {
                return;
            }
            boolean written = next.get().concurrent()
                    ? writeMerged(rel, identity, local, next.get(), change)
                    : writeChange(rel, identity, local, newRow, change);
            if (written) {
                return;
            }
            // Not written: another transaction inserted the key meanwhile; judged against that row.
        }
    }

    /** The change supersedes every version here: applied as it is. False if its key was inserted meanwhile. */
    private boolean writeChange(Relation rel, TupleData identity, LocalRow local, TupleData newRow, RowVersion change)
            throws SQLException {
        if (newRow == null) {
            if (local != null) {
                execute(rel, TableStatements.deleteRow(rel, local.ctid()));
            }
        } else if (local != null) {
            execute(rel, TableStatements.updateRow(rel, newRow, local.ctid(), columnsHere(rel)));
        } else if (execute(rel, TableStatements.insertUnlessKeyExists(rel, newRow, columnsHere(rel))) == 0) {
            return false;
        }
        roles.becomeWorker();
        rowVersions.recordChange(rel, identity, change);
        return true;
    }

    /**
     * Versions made without knowing each other meet: the row becomes their merge, and the
     * conflict is recorded. False, having done nothing, if the key was inserted meanwhile.
     */
    private boolean writeMerged(Relation rel, TupleData identity, LocalRow local, Frontier versions, RowVersion change)
            throws SQLException {
        List<RowVersion> withRows = new ArrayList<>();
        for (RowVersion v : versions.versions()) { // the one without values is the table's row
            withRows.add(v.deleted() || v.rowJson() != null || local == null ? v : v.withRow(rowJson(rel, local)));
        }
        Frontier.Merged merged = Frontier.of(withRows).merged((type, earlier, later) -> handlerDecision(rel, type,
                earlier, later));
        if (local == null && merged.rowJson() != null && execute(rel, TableStatements.insertRowFromJsonUnlessKeyExists(
                rel, merged.rowJson(), columnsHere(rel))) == 0) {
            return false;
        }
        ConflictType type = switch (change.op()) {
            case INSERT -> local != null ? ConflictType.INSERT_INSERT : ConflictType.UPDATE_DELETE;
            case UPDATE -> local != null ? ConflictType.UPDATE_UPDATE : ConflictType.UPDATE_DELETE;
            case DELETE -> local != null ? ConflictType.UPDATE_DELETE : ConflictType.DELETE_DELETE;
        };
        Resolution resolution = merged.byHandler() != null ? merged.byHandler()
                : merged.latest() == change ? Resolution.LAST_UPDATE_WINS_KEEP_REMOTE
                : Resolution.LAST_UPDATE_WINS_KEEP_LOCAL;
        // before the row changes: the history reads the local row as it was
        logConflict(new Conflict(type, resolution, rel.namespace(), rel.name(), local, change.rowJson() != null
                ? change.rowJson() : TupleJson.of(rel, identity), remote, null), change.deleted()
                ? ApplyStats.Counter.DELETE_CONFLICT : change.op() == RowVersion.Op.INSERT
                ? ApplyStats.Counter.INSERT_CONFLICT : ApplyStats.Counter.UPDATE_CONFLICT);
        if (local != null && merged.rowJson() == null) {
            execute(rel, TableStatements.deleteRow(rel, local.ctid()));
        } else if (local != null) {
            // Written even when it is the row as it is: the record describes the row of this xmin.
            execute(rel, TableStatements.updateRowFromJson(rel, merged.rowJson(), local.ctid(), columnsHere(rel)));
        }
        roles.becomeWorker();
        rowVersions.recordConcurrent(rel, identity, withRows);
        return true;
    }

    /** What the table's handler for {@code type} makes of two versions, in commit order; empty when none decides. */
    private Optional<ConflictHandlers.Decision> handlerDecision(Relation rel, ConflictType type, RowVersion earlier,
                                                                RowVersion later) throws SQLException {
        roles.becomeWorker();
        Optional<ConflictHandlers.Handler> handler = handlers.find(rel.namespace(), rel.name(), type,
                earlier.commitTimeMicros(), later.commitTimeMicros());
        if (handler.isEmpty()) {
            return Optional.empty();
        }
        roles.becomeOwnerOf(rel); // see resolvedByHandler
        return handlers.call(handler.get(), type, later.op().name(), earlier.deleted() ? null : earlier.rowJson(),
                later.rowJson());
    }

    /**
     * A remote TRUNCATE, as a delete of every row older than it (docs/conflicts.md, "TRUNCATE"):
     * rows written after it on any node stay, and a tombstone for the whole table keeps changes
     * older than it that arrive later from coming back. Where no such row exists (the usual
     * case) it is a TRUNCATE; a join's catch-up replays it as one.
     */
    public void truncate(Truncate change) throws SQLException {
        flushInserts();
        // One statement per owner, in the stream's order: tables of one owner (the usual case)
        // go together, which is what a TRUNCATE of tables referencing each other needs.
        Map<String, List<Relation>> byOwner = new LinkedHashMap<>();
        for (int oid : change.relationOids()) {
            Relation rel = relations.get(oid);
            if (!isLocalOnly(rel) && !tableHere(oid).droppedHere()) {
                byOwner.computeIfAbsent(String.valueOf(roles.ownerOf(rel)), owner -> new ArrayList<>()).add(rel);
            }
        }
        for (List<Relation> tables : byOwner.values()) {
            List<String> names = new ArrayList<>();
            for (Relation rel : tables) {
                names.add("ONLY " + TableStatements.qualifiedName(rel));
            }
            roles.becomeOwnerOf(tables.get(0));
            try (Statement st = session.connection().createStatement()) {
                if (resolveConflicts) {
                    // Before looking: no local write may slip in between the look and the truncate.
                    st.execute("LOCK TABLE " + String.join(", ", names) + " IN ACCESS EXCLUSIVE MODE");
                }
                if (!resolveConflicts || !anyWrittenAfterTruncate(tables)) {
                    st.execute("TRUNCATE " + String.join(", ", names)
                            + (change.restartIdentity() ? " RESTART IDENTITY" : "")
                            + (change.cascade() ? " CASCADE" : ""));
                } else {
                    for (Relation rel : tables) {
                        execute(rel, TableStatements.deleteWrittenBefore(rel, truncatedAt(), copiedRows.rewrittenByNow(rel)));
                    }
                }
            }
        }
        if (resolveConflicts) {
            roles.becomeWorker();
            for (List<Relation> tables : byOwner.values()) {
                for (Relation rel : tables) {
                    tombstones.recordTruncate(rel, remote);
                }
            }
        }
    }

    private boolean anyWrittenAfterTruncate(List<Relation> tables) throws SQLException {
        for (Relation rel : tables) {
            String rewrittenBy = copiedRows.rewrittenByNow(rel); // the table is locked: nothing rewrites it now
            roles.becomeOwnerOf(rel);
            PreparedStatement ps = bind(TableStatements.anyWrittenAfter(rel, truncatedAt(), rewrittenBy));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                if (rs.getBoolean(1)) {
                    return true;
                }
            } finally {
                ps.clearParameters(); // see StatementCache
            }
        }
        return false;
    }

    private String truncatedAt() {
        return PgTimestamps.toText(remote.commitTimeMicros());
    }

    /**
     * Commits, recording the remote commit position and time with the origin, so progress and
     * data become durable together.
     */
    public void commit(Lsn originLsn, long commitTimeMicros) throws SQLException {
        flushInserts();
        if (!races.isEmpty()) {
            settleDeleteRaces();
        }
        // Setup and COMMIT in one round trip: per small transaction that is a third of the waiting.
        // The values are ours (an LSN and a timestamp we format), so inlining them is safe.
        try (Statement st = session.connection().createStatement()) {
            st.execute(roles.workerPrefix() + "SELECT pg_catalog.pg_replication_origin_xact_setup('"
                    + originLsn + "', '" + PgTimestamps.toText(commitTimeMicros) + "'); COMMIT");
        } finally {
            roles.transactionEnded(); // committed, or failed and to be rolled back
        }
        stats.committed(remote);
        remote = null;
    }

    /**
     * Looks again, under the locks of {@link DeleteRaces}, for what a concurrent transaction of
     * another link may have committed meanwhile: rows this transaction's deletes missed, and
     * newer deletes of keys it inserted, whose rows it then takes out again.
     */
    private void settleDeleteRaces() throws SQLException {
        roles.becomeWorker();
        String ownXid = races.lock(session.connection());
        for (DeleteRaces.MissedDelete missed : races.missedDeletes()) {
            Relation rel = missed.relation();
            LocalRow local = lookup(rel, missed.change().oldTuple(), false);
            if (local == null) {
                deleteOfMissingRow(rel, missed.change());
            } else if (!local.xmin().equals(ownXid)) { // one this transaction wrote came after the delete
                deleteRow(rel, missed.change(), local);
            }
        }
        if (!races.insertedInto().isEmpty()) {
            roles.becomeWorker();
            for (Tombstones.Found tombstone : tombstones.notOlderThan(List.copyOf(races.insertedInto()),
                    remote.commitTimeMicros())) {
                Decision decision = rules.insertOfMissingKey(Optional.of(tombstone.deleter()), remote);
                if (decision.isConflict()) {
                    takeOutDeletedRow(tombstone, decision);
                }
            }
        }
        races.clear();
    }

    /** Takes out the row this transaction wrote with the key of a newer {@code tombstone}. */
    private void takeOutDeletedRow(Tombstones.Found tombstone, Decision decision) throws SQLException {
        Relation rel = tombstone.relation();
        roles.becomeOwnerOf(rel);
        PreparedStatement ps = bind(Tombstones.WHOLE_TABLE.equals(tombstone.keyJson())
                ? TableStatements.deleteOwnRows(rel) : TableStatements.deleteOwnRowByKey(rel, tombstone.keyJson()));
        try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                logConflict(new Conflict(decision.conflict(), decision.resolution(), rel.namespace(),
                        rel.name(), tombstone.deleter(), rs.getString(1), remote, null),
                        ApplyStats.Counter.INSERT_CONFLICT);
            }
        }
    }

    /**
     * Abandons the current transaction after an error and records why in the conflict history,
     * in a transaction of its own, so the operator can see what blocks the link.
     */
    public void abort(Exception cause) {
        abort(cause, null);
    }

    /** The same, naming {@code notBegun} in the history when no transaction had begun here. */
    void abort(Exception cause, RemoteTransaction notBegun) {
        RemoteTransaction failed = remote != null ? remote : notBegun;
        remote = null;
        inserts.clear();
        races.clear();
        replaced.clear();
        try {
            settleInserts(); // the connection must be idle before rolling back
        } catch (SQLException | RuntimeException ignored) {
            // already failing
        }
        try {
            session.connection().rollback();
            roles.transactionEnded();
            OriginSession.resetTransaction(session.connection()); // else the history entry would record the failed position
            session.connection().commit();
            if (failed != null) {
                logConflict(new Conflict(ConflictType.UNHANDLED_TX_ABORT, Resolution.UNHANDLED_TX_ABORT, null, null,
                        null, null, failed, ServerError.of(cause)));
                stats.flush(session.connection());
                session.connection().commit();
                stats.flushCommitted();
            }
        } catch (SQLException ignored) {
            // the connection is broken; the link reconnects and the transaction is retried
        }
    }

    private LocalRow lookup(Relation rel, TupleData identity, boolean full) throws SQLException {
        TableStatements stmt = TableStatements.lookup(rel, identity, full, copiedRows.rewrittenBy(rel));
        roles.becomeOwnerOf(rel);
        PreparedStatement ps = bind(stmt);
        LocalRow row;
        try (ResultSet rs = ps.executeQuery()) {
            if (!rs.next()) {
                return null;
            }
            long micros = rs.getLong(3);
            Long commitTime = rs.wasNull() || rs.getBoolean(5) ? null : micros;
            String originName = rs.getString(4);
            NodeIdentity writer = originName == null ? self : Names.originNode(originName).orElse(self);
            row = new LocalRow(rs.getString(1), rs.getString(2), commitTime, writer);
        } finally {
            ps.clearParameters(); // see StatementCache
        }
        return copiedRows.honest(rel, row);
    }

    /** Lets a user-defined handler resolve the conflict; false when none did. */
    private boolean resolvedByHandler(ConflictType type, String commandTag, Relation rel, LocalRow local,
                                      TupleData remoteRow) throws SQLException {
        roles.becomeWorker();
        Optional<ConflictHandlers.Handler> handler = handlers.find(rel.namespace(), rel.name(), type,
                local == null ? null : local.commitTimeMicros(), remote.commitTimeMicros());
        if (handler.isEmpty()) {
            return false;
        }
        String remoteJson = TupleJson.of(rel, remoteRow);
        String localJson = local == null ? null : rowJson(rel, local);
        // As the table's owner, switched before the handler's savepoint so that rolling back a
        // failed handler does not undo the switch.
        roles.becomeOwnerOf(rel);
        Optional<ConflictHandlers.Decision> decision = handlers.call(handler.get(), type, commandTag, localJson,
                remoteJson);
        if (decision.isEmpty()) {
            return false;
        }
        boolean returnedRow = decision.get().action() == ConflictHandlers.Action.ROW;
        logConflict(new Conflict(type, returnedRow ? Resolution.CONFLICT_TRIGGER_RETURNED_TUPLE
                : Resolution.CONFLICT_TRIGGER_SKIP_CHANGE, rel.namespace(), rel.name(), local, remoteJson, remote, null));
        if (returnedRow && !(local != null && sameRow(localJson, decision.get().rowJson()))) {
            // after the history, which reads the local row as it was
            String row = decision.get().rowJson();
            execute(rel, local != null ? TableStatements.updateRowFromJson(rel, row, local.ctid(), columnsHere(rel))
                    : TableStatements.insertRowFromJson(rel, row, columnsHere(rel)));
        }
        return true;
    }

    /**
     * Whether a handler returned the local row as it is: then it stays as it is, with its own
     * last writer, as on the nodes where it is the remote row and applies as such. Rewriting it
     * would give it the remote transaction's writer and time here only, and the nodes would then
     * judge later changes to it differently (docs/conflicts.md, "Handlers that converge").
     */
    private boolean sameRow(String localJson, String returnedJson) throws SQLException {
        try (PreparedStatement ps = session.connection().prepareStatement("SELECT ?::jsonb = ?::jsonb")) {
            ps.setString(1, localJson);
            ps.setString(2, returnedJson);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() && rs.getBoolean(1);
            }
        }
    }

    /** The local row as JSON, read as the table's owner. */
    private String rowJson(Relation rel, LocalRow local) throws SQLException {
        roles.becomeOwnerOf(rel);
        try (ResultSet rs = bind(TableStatements.rowJson(rel, local.ctid())).executeQuery()) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    private TableStatements.Uncontested uncontested(Relation rel) throws SQLException {
        return resolveConflicts ? new TableStatements.Uncontested(origins.id(origin), copiedBefore(rel),
                copiedRows.rewrittenBy(rel)) : TableStatements.Uncontested.ALWAYS;
    }

    private void logConflict(Conflict conflict) throws SQLException {
        logConflict(conflict, switch (conflict.type()) {
            case INSERT_INSERT, INSERT_UPDATE -> ApplyStats.Counter.INSERT_CONFLICT;
            case DELETE_DELETE -> ApplyStats.Counter.DELETE_CONFLICT;
            case UNHANDLED_TX_ABORT -> ApplyStats.Counter.ROLLBACK;
            default -> ApplyStats.Counter.UPDATE_CONFLICT;
        });
    }

    private void logConflict(Conflict conflict, ApplyStats.Counter counter) throws SQLException {
        if (PGACTIVE_SCHEMA.equals(conflict.schema())) { // see isPgactiveCatalog
            return;
        }
        stats.count(counter);
        roles.becomeWorker();
        conflicts.record(conflict);
    }

    /**
     * Forgets tombstones that no change still on its way can lose against, and conflict
     * history older than {@code pgactive.conflict_history_retention}.
     */
    public void collectGarbage() throws SQLException {
        roles.becomeWorker();
        Tombstones.collectGarbage(session.connection());
        ConflictLog.forgetExpired(session.connection());
    }

    /** Adds the counted statistics to the stats table; committed with the next transaction or confirm. */
    /** Writes the link's counters; see {@link ApplyStats#flush}. */
    public void flushStats() throws SQLException {
        roles.becomeWorker();
        stats.flush(session.connection());
    }

    /** The transaction that {@link #flushStats} wrote in committed. */
    public void statsCommitted() {
        stats.flushCommitted();
    }

    /** Runs a statement on {@code rel}, as its owner. */
    private int execute(Relation rel, TableStatements stmt) throws SQLException {
        roles.becomeOwnerOf(rel);
        PreparedStatement ps = bind(stmt);
        try {
            return ps.executeUpdate();
        } finally {
            ps.clearParameters(); // see StatementCache
        }
    }

    private PreparedStatement bind(TableStatements stmt) throws SQLException {
        PreparedStatement ps = statements.get(stmt.sql());
        List<String> params = stmt.parameters();
        for (int i = 0; i < params.size(); i++) {
            ps.setObject(i + 1, params.get(i), Types.OTHER);
        }
        return ps;
    }

    /** A replica identity key other than the whole row (a table without a primary key has none). */
    static boolean hasKey(Relation rel) {
        if (rel.replicaIdentity() == Relation.REPLICA_IDENTITY_FULL) {
            return false;
        }
        for (RelationColumn column : rel.columns()) { // once per change: no stream
            if (column.partOfKey()) {
                return true;
            }
        }
        return false;
    }

    static boolean isLocalOnly(Relation rel) {
        return rel.namespace().equals(PGACTIVE_SCHEMA) && LOCAL_ONLY_TABLES.contains(rel.name());
    }

    /**
     * pgactive's own catalog: nodes write each other's status rows in turn while one joins, so
     * "conflicts" there are routine. Resolved by the same rule, they are not the user's, and
     * are neither counted nor recorded.
     */
    static boolean isPgactiveCatalog(Relation rel) {
        return rel.namespace().equals(PGACTIVE_SCHEMA);
    }

}
