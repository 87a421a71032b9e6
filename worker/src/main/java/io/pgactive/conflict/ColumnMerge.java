package io.pgactive.conflict;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * How a remote update merges into a row of a column-level table (docs/conflicts.md, "Column-level
 * resolution and counters"): each counter it changed adds what it added on its origin; each other
 * column it changed takes its value unless that column's local version is later (last update
 * wins per column, judged only when the update is concurrent by the row rule, the row's version
 * being the latest of its own and its columns'). A conflict is a column both changed: the
 * history names the latest such local version.
 *
 * @param taken    the columns that take the remote value
 * @param counters the counter columns the update changed, each with its value before the update
 * @param conflict what the history records, if a column the update changed had a local version it had not seen
 * @param local    that version (null without a conflict)
 */
public record ColumnMerge(Set<String> taken, Map<String, String> counters, ConflictRules.Decision conflict,
                          LocalRow local) {

    /** Whether the row changes at all. */
    public boolean changesRow() {
        return !taken.isEmpty() || !counters.isEmpty();
    }

    /**
     * @param row      the local row's own version
     * @param versions the recorded version of each column that has one (see ColumnVersions); a
     *                 column without one has not changed since its row was inserted
     */
    static ColumnMerge of(ConflictRules rules, LocalRow row, Map<String, LocalRow> versions,
                          Collection<ColumnChanges.Column> changed, RemoteTransaction remote,
                          Optional<PriorVersion> prior) {
        boolean concurrent = rules.existingRow(ConflictRules.Change.UPDATE, latest(row, versions.values()), remote,
                prior).isConflict();
        Set<String> taken = new LinkedHashSet<>();
        Map<String, String> counters = new LinkedHashMap<>();
        LocalRow contested = null;
        for (ColumnChanges.Column column : changed) {
            if (column.counter()) {
                counters.put(column.name(), column.oldValue());
                continue;
            }
            LocalRow version = versions.get(column.name());
            if (!concurrent || version == null || LastUpdateWins.remoteWins(version, remote)) {
                taken.add(column.name());
            }
            if (concurrent && version != null && !version.writer().equals(remote.origin())
                    && !prior.map(p -> p.covers(version)).orElse(false)
                    && (contested == null || LastUpdateWins.later(version, contested))) {
                contested = version;
            }
        }
        ConflictRules.Decision conflict = contested == null ? null
                : ConflictRules.Decision.lastUpdateWins(ConflictType.UPDATE_UPDATE,
                        LastUpdateWins.remoteWins(contested, remote));
        return new ColumnMerge(taken, counters, conflict, contested);
    }

    /** The latest of a row's version and its columns'. */
    public static LocalRow latest(LocalRow row, Collection<LocalRow> columns) {
        LocalRow latest = row;
        for (LocalRow column : columns) {
            if (LastUpdateWins.later(column, latest)) {
                latest = column;
            }
        }
        return latest;
    }
}
