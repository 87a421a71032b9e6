package io.pgactive.conflict;

/** {@code pgactive.pgactive_conflict_type}. */
public enum ConflictType {
    INSERT_INSERT,
    INSERT_UPDATE,
    UPDATE_UPDATE,
    UPDATE_DELETE,
    DELETE_DELETE,
    UNHANDLED_TX_ABORT;

    public String sqlName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
