package io.pgactive.link;

import java.sql.SQLException;

/**
 * The upstream invalidated this node's slot (it held more WAL than
 * {@code max_slot_wal_keep_size}): the changes it no longer has are lost to this node for good,
 * so retrying cannot help. The node must be removed and join again.
 */
final class SlotLostException extends SQLException {

    SlotLostException(String message, SQLException cause) {
        super(message, cause.getSQLState(), cause);
    }

    /**
     * PostgreSQL's error for a stream started from an invalidated slot: "cannot read from logical
     * replication slot" in 15 ("can no longer get changes from replication slot" in 13 and 14).
     */
    static boolean isSlotLost(SQLException e) {
        String message = e.getMessage();
        return OBJECT_NOT_IN_PREREQUISITE_STATE.equals(e.getSQLState()) && message != null
                && (message.contains("cannot read from logical replication slot")
                    || message.contains("can no longer get changes from replication slot"));
    }

    private static final String OBJECT_NOT_IN_PREREQUISITE_STATE = "55000";
}
