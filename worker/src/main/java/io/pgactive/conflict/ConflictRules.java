package io.pgactive.conflict;

import java.util.Collection;
import java.util.Map;
import java.util.Optional;

/**
 * Detection and default resolution of conflicts, as docs/conflicts.md's table states them: given
 * what a remote change found here (the row with its key and that row's last writer, or no row
 * and the key's tombstone), what the change does and what the history records. The applier
 * looks, asks, and carries the decision out; a conflict handler, when the table has one, is
 * asked before last update wins.
 *
 * <p>During a join's catch-up nothing is a conflict: the stream is replayed as it was.
 */
public final class ConflictRules {

    /** What the remote change does. */
    public enum Action {
        /** Apply it as it is (over the existing row, or delete it). */
        APPLY,
        /** Leave the local state as it is. */
        SKIP,
        /** An UPDATE of a missing row: insert the updated row. */
        INSERT_ROW
    }

    /**
     * @param conflict   null when the change is no conflict (nothing is recorded)
     * @param resolution how the conflict was resolved, for the history; null when no conflict
     */
    public record Decision(ConflictType conflict, Resolution resolution, Action action) {

        static final Decision NO_CONFLICT = new Decision(null, null, Action.APPLY);

        public boolean isConflict() {
            return conflict != null;
        }

        static Decision lastUpdateWins(ConflictType type, boolean remoteWins) {
            return remoteWins ? new Decision(type, Resolution.LAST_UPDATE_WINS_KEEP_REMOTE, Action.APPLY)
                    : new Decision(type, Resolution.LAST_UPDATE_WINS_KEEP_LOCAL, Action.SKIP);
        }
    }

    /** The kinds of remote change. */
    public enum Change {
        INSERT(ConflictType.INSERT_INSERT),
        UPDATE(ConflictType.UPDATE_UPDATE),
        // A delete of a row another node wrote last is an update racing a delete.
        DELETE(ConflictType.UPDATE_DELETE);

        private final ConflictType onExistingRow;

        Change(ConflictType onExistingRow) {
            this.onExistingRow = onExistingRow;
        }
    }

    private final boolean resolveConflicts;

    /** @param resolveConflicts false for a join's catch-up, which replays verbatim */
    public ConflictRules(boolean resolveConflicts) {
        this.resolveConflicts = resolveConflicts;
    }

    /**
     * Whether a change to {@code local} is simply the next change to it: the row's last write came
     * from the change's own node, or is older than anything (no commit time known, e.g. frozen, or
     * copied by a join with no true writer known). The same rule as the uncontested statements'
     * (TableStatements.Uncontested), applied to a row looked up.
     */
    public boolean uncontested(LocalRow local, RemoteTransaction remote) {
        return !resolveConflicts || local.writer().equals(remote.origin()) || local.commitTimeMicros() == null;
    }

    /** A change that found a row with its key: the next change to it, or a conflict last update wins decides. */
    public Decision existingRow(Change change, LocalRow local, RemoteTransaction remote) {
        return existingRow(change, local, remote, Optional.empty());
    }

    /**
     * The same for a change whose author may have named the version it replaced: if that covers
     * {@code local} (see {@link PriorVersion#covers}), the author had seen this row's version
     * and the change is the next change to it, whoever wrote the version. Only changes made
     * without knowing each other's are conflicts.
     */
    public Decision existingRow(Change change, LocalRow local, RemoteTransaction remote, Optional<PriorVersion> replaced) {
        if (uncontested(local, remote) || replaced.map(v -> v.covers(local)).orElse(false)) {
            return Decision.NO_CONFLICT;
        }
        return Decision.lastUpdateWins(change.onExistingRow, LastUpdateWins.remoteWins(local, remote));
    }

    /**
     * An UPDATE of a row of a column-level table: which columns it sets, which counters it adds
     * to, and whether that is a conflict (see {@link ColumnMerge}).
     */
    public ColumnMerge mergeColumns(LocalRow row, Map<String, LocalRow> columnVersions,
                                    Collection<ColumnChanges.Column> changed, RemoteTransaction remote,
                                    Optional<PriorVersion> replaced) {
        return ColumnMerge.of(this, row, columnVersions, changed, remote, replaced);
    }

    /**
     * An UPDATE whose row is missing. Skipped if a DELETE newer than it removed the row; otherwise
     * (an older delete, or none: the update overtook its INSERT) the updated row is inserted, so
     * every node ends with the last write whatever order changes arrived in, unless the row
     * cannot be inserted from what the update carries ({@code insertable} false: no key, or
     * values it left out).
     */
    public Decision missingRowForUpdate(Optional<LocalRow> tombstone, RemoteTransaction remote, boolean insertable) {
        boolean deleteIsNewer = tombstone.isPresent() && !LastUpdateWins.remoteWins(tombstone.get(), remote);
        return !deleteIsNewer && insertable
                ? new Decision(ConflictType.UPDATE_DELETE, Resolution.APPLY_CHANGE, Action.INSERT_ROW)
                : new Decision(ConflictType.UPDATE_DELETE, Resolution.SKIP_CHANGE, Action.SKIP);
    }

    /** A DELETE whose row is missing: deleted already. */
    public Decision missingRowForDelete() {
        return new Decision(ConflictType.DELETE_DELETE, Resolution.SKIP_CHANGE, Action.SKIP);
    }

    /**
     * An INSERT of a key that is missing here: applied, unless a DELETE newer than the INSERT
     * removed the key (the two arrived out of order from different nodes), in which case it is
     * skipped, as every node that saw them in order did.
     */
    public Decision insertOfMissingKey(Optional<LocalRow> tombstone, RemoteTransaction remote) {
        if (tombstone.isEmpty() || LastUpdateWins.remoteWins(tombstone.get(), remote)) {
            return Decision.NO_CONFLICT;
        }
        return new Decision(ConflictType.UPDATE_DELETE, Resolution.SKIP_CHANGE, Action.SKIP);
    }
}
