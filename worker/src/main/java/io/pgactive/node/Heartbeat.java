package io.pgactive.node;

import io.pgactive.catalog.Names;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;

/**
 * A node's heartbeat in its own stream: a non-transactional logical message holding the time it
 * was written. A peer that has received it has received everything this node committed before
 * it, and whatever this node commits later carries a later commit time. That is what lets a peer
 * forget tombstones even while this node writes nothing (Tombstones.collectGarbage): without it a
 * node that never writes would hold every peer's tombstones for ever.
 */
final class Heartbeat {

    static final long INTERVAL_MILLIS = 5_000;

    private long last;

    /** Writes a heartbeat if the last is {@value #INTERVAL_MILLIS} ms old. */
    void beatIfDue(Connection conn) throws SQLException {
        long now = System.currentTimeMillis();
        if (now - last < INTERVAL_MILLIS) {
            return;
        }
        try (PreparedStatement ps = conn.prepareStatement("SELECT pg_catalog.pg_logical_emit_message(false, ?,"
                + " ? || ((extract(epoch FROM pg_catalog.clock_timestamp()) - 946684800) * 1000000)::bigint)")) {
            ps.setString(1, Names.MESSAGE_PREFIX);
            ps.setString(2, Names.HEARTBEAT);
            ps.execute();
        }
        last = now;
    }
}
