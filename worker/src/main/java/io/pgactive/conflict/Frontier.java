package io.pgactive.conflict;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The versions of one row that no change has superseded yet, as a node holds them for a table
 * with conflict handlers (docs/conflicts.md, "Handlers that converge"): one after a change made
 * knowing all before it; several while changes made without knowing each other meet. A change
 * supersedes the versions its writer had seen. Every node ends with the same versions, whatever
 * order the changes reached it in, and shows them merged in commit order: that is what makes
 * handlers converge.
 */
public final class Frontier {

    /** Versions in commit order, as last update wins orders them; unknown ones first. */
    private static final Comparator<RowVersion> COMMIT_ORDER = (a, b) -> a.later(b) ? 1 : b.later(a) ? -1 : 0;

    private final List<RowVersion> versions;

    private Frontier(List<RowVersion> versions) {
        this.versions = List.copyOf(versions);
    }

    public static Frontier of(List<RowVersion> versions) {
        return new Frontier(versions);
    }

    public List<RowVersion> versions() {
        return versions;
    }

    /** Whether versions made without knowing each other are held: the row is their merge. */
    public boolean concurrent() {
        return versions.size() > 1;
    }

    /**
     * The versions after {@code change} arrived: those it had not seen, and it. Empty when a
     * version here had seen it already: it came by way of a node that had it, and is part of
     * what the row holds.
     */
    public Optional<Frontier> add(RowVersion change) {
        if (versions.stream().anyMatch(v -> v.hasSeen(change))) {
            return Optional.empty();
        }
        List<RowVersion> kept = new ArrayList<>();
        for (RowVersion v : versions) {
            if (!change.hasSeen(v)) {
                kept.add(v);
            }
        }
        kept.add(change);
        return Optional.of(new Frontier(kept));
    }

    /** A handler's say on two versions, in commit order; empty when there is none, or it failed. */
    public interface Handler {
        Optional<ConflictHandlers.Decision> decide(ConflictType type, RowVersion earlier, RowVersion later)
                throws SQLException;
    }

    /**
     * What the row is: the versions folded in commit order, each later one over what the
     * earlier made. A delete removes the row; a row after a delete, or after a row, is what the
     * handler of that conflict type says (ROW: the row it returns; IGNORE or SKIP: what the
     * earlier made), or the later version when there is no handler. The same versions give the
     * same row on every node, whatever the handler does, as long as it depends on its arguments
     * only.
     *
     * @return the row (its rowJson null when deleted), and how the last handler asked decided
     *         (null when none was asked)
     */
    public Merged merged(Handler handler) throws SQLException {
        List<RowVersion> order = new ArrayList<>(versions);
        order.sort(COMMIT_ORDER);
        RowVersion row = order.get(0);
        Resolution byHandler = null;
        for (RowVersion later : order.subList(1, order.size())) {
            if (later.deleted()) {
                row = later;
                continue;
            }
            ConflictType type = row.deleted() ? ConflictType.UPDATE_DELETE
                    : later.op() == RowVersion.Op.INSERT ? ConflictType.INSERT_INSERT : ConflictType.UPDATE_UPDATE;
            Optional<ConflictHandlers.Decision> decision = handler.decide(type, row, later);
            if (decision.isEmpty()) {
                row = later;
            } else if (decision.get().action() == ConflictHandlers.Action.ROW) {
                row = later.withRow(decision.get().rowJson());
                byHandler = Resolution.CONFLICT_TRIGGER_RETURNED_TUPLE;
            } else {
                byHandler = Resolution.CONFLICT_TRIGGER_SKIP_CHANGE;
            }
        }
        return new Merged(row.deleted() ? null : row.rowJson(), byHandler, order.get(order.size() - 1));
    }

    /**
     * @param rowJson    the row's values; null when the row is deleted
     * @param byHandler  the resolution a handler made, for the history; null when no handler decided
     * @param latest     the latest version, which is the row when no handler decided
     */
    public record Merged(String rowJson, Resolution byHandler, RowVersion latest) {
    }
}
