package io.pgactive.conflict;

import java.util.Map;

/**
 * One version of a row of a table with conflict handlers (docs/conflicts.md, "Handlers that
 * converge"): who wrote it and when, which versions of the row its writer had seen, and what it
 * made of the row.
 *
 * @param writer           the writing node's sysid; null when unknown (then the version is the oldest)
 * @param commitTimeMicros its commit time there; null when unknown (written earlier in the very
 *                         transaction that looks, or too long ago for PostgreSQL to know)
 * @param seen             per other node, the commit time of its latest version of the row the writer had seen
 * @param rowJson          the row's values as a JSON object; null for a delete, and where the row
 *                         is the one in the table, not yet read
 */
public record RowVersion(String writer, Long commitTimeMicros, Map<String, Long> seen, Op op, String rowJson) {

    /** The change that made the version. */
    public enum Op {
        INSERT, UPDATE, DELETE;

        /** I, U or D, as pgactive.pgactive_row_versions keeps it. */
        public String letter() {
            return name().substring(0, 1);
        }

        public static Op ofLetter(String letter) {
            return switch (letter) {
                case "I" -> INSERT;
                case "D" -> DELETE;
                default -> UPDATE;
            };
        }
    }

    public RowVersion {
        seen = Map.copyOf(seen);
    }

    public boolean deleted() {
        return op == Op.DELETE;
    }

    boolean known() {
        return writer != null && commitTimeMicros != null;
    }

    /**
     * Whether this version's writer had seen {@code other}: it is an earlier version by the same
     * writer (a node's changes reach every other in order), or one its writer had seen. A version
     * of unknown time is older than anything.
     */
    public boolean hasSeen(RowVersion other) {
        if (!other.known()) {
            return true;
        }
        if (other.writer.equals(writer) && commitTimeMicros != null && other.commitTimeMicros <= commitTimeMicros) {
            return true;
        }
        Long seenThere = seen.get(other.writer);
        return seenThere != null && seenThere >= other.commitTimeMicros;
    }

    /** Whether this version comes after {@code other} in commit order (last update wins' order). */
    boolean later(RowVersion other) {
        return LastUpdateWins.isLater(commitTimeMicros, writer, other.commitTimeMicros, other.writer);
    }

    public RowVersion withRow(String json) {
        return new RowVersion(writer, commitTimeMicros, seen, op, json);
    }
}
