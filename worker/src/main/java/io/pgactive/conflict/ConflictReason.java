package io.pgactive.conflict;

import io.pgactive.pg.PgTimestamps;
import io.pgactive.pg.SqlText;

/**
 * Why a conflict ended as it did, in words, for the history's {@code conflict_reason}: which two
 * versions met (their nodes and commit times are in the row's other columns too) and what
 * decided between them.
 */
public final class ConflictReason {

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
        boolean keptRemote = c.resolution() == Resolution.LAST_UPDATE_WINS_KEEP_REMOTE;
        if (local == null || local.commitTimeMicros() == null) {
            return "the local version is older than anything (no known commit time): "
                    + (keptRemote ? "the remote change" : "the local version") + " was kept";
        }
        return lastUpdateWins(Words.JAVA, c.type(), keptRemote, local.commitTimeMicros() == c.remote().commitTimeMicros(),
                time(local.commitTimeMicros()), local.writer().sysid(), time(c.remote().commitTimeMicros()),
                c.remote().origin().sysid());
    }

    /**
     * The same words as SQL, for a conflict resolved inside a compiled procedure (see
     * TransactionProcedures): the arguments are SQL expressions, booleans, timestamptz values
     * and text.
     */
    public static String lastUpdateWinsSql(ConflictType type, String keptRemote, String localTime, String localSysid,
                                           String remoteTime, String remoteSysid) {
        return lastUpdateWins(Words.SQL, type, keptRemote, "(" + localTime + ") = (" + remoteTime + ")",
                sqlTime(localTime), localSysid, sqlTime(remoteTime), remoteSysid);
    }

    /** One text for both: {@code words} says whether the parts are values or SQL expressions. */
    private static <B> String lastUpdateWins(Words<B> words, ConflictType type, B keptRemote, B sameTime,
                                             String localTime, String localSysid, String remoteTime,
                                             String remoteSysid) {
        String remote = words.concat(words.text("the remote change (committed "), remoteTime, words.text(" on node "),
                remoteSysid, words.text(")"));
        String local = words.concat(words.text("the local version (committed "), localTime, words.text(" on node "),
                localSysid, words.text(")"));
        String kept = words.choose(keptRemote, words.text("the remote change"), words.text("the local version"));
        return words.choose(sameTime,
                words.concat(local, words.text(" and "), remote, words.text(" committed at the same time: the node with"
                        + " the higher system identifier wins, so "), kept, words.text(" was kept")),
                words.concat(words.text("last update wins: "),
                        words.choose(keptRemote, words.concat(remote, words.text(" is later than "), local),
                                words.concat(local, words.text(" is later than "), remote)),
                        words.text(type == ConflictType.INSERT_INSERT ? " (both inserted the key)" : "")));
    }

    /** Text made of values (Java) or of SQL expressions, with conditions of type {@code B}. */
    private interface Words<B> {
        Words<Boolean> JAVA = new Words<>() {
            public String text(String words) {
                return words;
            }

            public String concat(String... parts) {
                return String.join("", parts);
            }

            public String choose(Boolean condition, String ifTrue, String ifFalse) {
                return condition ? ifTrue : ifFalse;
            }
        };

        Words<String> SQL = new Words<>() {
            public String text(String words) {
                return SqlText.literal(words);
            }

            public String concat(String... parts) {
                return "(" + String.join(" || ", parts) + ")";
            }

            public String choose(String condition, String ifTrue, String ifFalse) {
                return "CASE WHEN " + condition + " THEN " + ifTrue + " ELSE " + ifFalse + " END";
            }
        };

        String text(String words);

        String concat(String... parts);

        String choose(B condition, String ifTrue, String ifFalse);
    }

    private static String version(LocalRow row) {
        return row == null ? "" : "(committed " + (row.commitTimeMicros() == null ? "at an unknown time"
                : time(row.commitTimeMicros())) + " on node " + row.writer().sysid() + ")";
    }

    /** A commit time as {@link PgTimestamps#toText} writes it. */
    private static String time(long micros) {
        return PgTimestamps.toText(micros);
    }

    /** The same for a timestamptz in SQL. */
    private static String sqlTime(String timestamptz) {
        return "pg_catalog.to_char((" + timestamptz + ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')";
    }
}
