package io.pgactive.conflict;

import io.pgactive.pg.PgTimestamps;

/**
 * Why a conflict ended as it did, in words, for the history's {@code conflict_reason}: which two
 * versions met (their nodes and commit times are in the row's other columns too) and what
 * decided between them.
 */
final class ConflictReason {

    private ConflictReason() {
    }

    static String of(Conflict c) {
        LocalRow local = c.local();
        String remote = "the remote change (committed " + time(c.remote().commitTimeMicros()) + " on node "
                + c.remote().origin().sysid() + ")";
        return switch (c.resolution()) {
            case LAST_UPDATE_WINS_KEEP_REMOTE, LAST_UPDATE_WINS_KEEP_LOCAL -> lastUpdateWins(c, local, remote);
            case CONFLICT_TRIGGER_RETURNED_TUPLE -> "a conflict handler returned the row to keep, given the local"
                    + " version and " + remote;
            case CONFLICT_TRIGGER_SKIP_CHANGE -> "a conflict handler kept the local version over " + remote;
            case SKIP_CHANGE -> c.type() == ConflictType.DELETE_DELETE
                    ? "the row was already gone here: " + remote + " had nothing left to delete"
                    : "a DELETE " + version(local) + ", later than " + remote + ", removed the row: the change is older";
            case APPLY_CHANGE -> "the row was missing here and " + remote + " is later than "
                    + (local == null ? "any DELETE of it" : "its DELETE " + version(local)) + ": the row was inserted";
            case UNHANDLED_TX_ABORT -> "the transaction could not be applied"
                    + (c.error() == null ? "" : ": " + c.error().message());
        };
    }

    private static String lastUpdateWins(Conflict c, LocalRow local, String remote) {
        String kept = c.resolution() == Resolution.LAST_UPDATE_WINS_KEEP_REMOTE ? "the remote change" : "the local version";
        if (local == null || local.commitTimeMicros() == null) {
            return "the local version is older than anything (no known commit time): " + kept + " was kept";
        }
        String localVersion = "the local version " + version(local);
        if (local.commitTimeMicros() == c.remote().commitTimeMicros()) {
            return localVersion + " and " + remote + " committed at the same time: the node with the higher system"
                    + " identifier wins, so " + kept + " was kept";
        }
        return "last update wins: " + (c.resolution() == Resolution.LAST_UPDATE_WINS_KEEP_REMOTE
                ? remote + " is later than " + localVersion
                : localVersion + " is later than " + remote)
                + (c.type() == ConflictType.INSERT_INSERT ? " (both inserted the key)" : "");
    }

    private static String version(LocalRow row) {
        return row == null ? "" : "(committed " + (row.commitTimeMicros() == null ? "at an unknown time"
                : time(row.commitTimeMicros())) + " on node " + row.writer().sysid() + ")";
    }

    private static String time(long micros) {
        return PgTimestamps.toOffsetDateTime(micros).toString();
    }
}
