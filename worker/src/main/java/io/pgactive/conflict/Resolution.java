package io.pgactive.conflict;

/** {@code pgactive.pgactive_conflict_resolution}. */
public enum Resolution {
    CONFLICT_TRIGGER_SKIP_CHANGE,
    CONFLICT_TRIGGER_RETURNED_TUPLE,
    LAST_UPDATE_WINS_KEEP_LOCAL,
    LAST_UPDATE_WINS_KEEP_REMOTE,
    APPLY_CHANGE,
    SKIP_CHANGE,
    UNHANDLED_TX_ABORT;

    public String sqlName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
