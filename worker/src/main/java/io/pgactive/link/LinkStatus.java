package io.pgactive.link;

import io.pgactive.catalog.Names;
import io.pgactive.catalog.NodeIdentity;
import io.pgactive.conn.LocalServer;
import io.pgactive.pg.Lsn;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Types;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A link's state as SQL shows it ({@code pgactive.pgactive_link_status}, view
 * {@code pgactive_links}). State changes are written on a connection of their own, since the
 * apply connection may be what failed; positions go with the link's periodic confirmation, in
 * its transaction. Never fails the link: a state that cannot be written is only logged.
 *
 * <p>Used by the link's own thread only.
 */
final class LinkStatus {

    enum State {
        CONNECTING("connecting"), STREAMING("streaming"), CATCHING_UP("catching up"), RETRYING("retrying"),
        STALLED("stalled"), LOST("lost");

        final String sqlName;

        State(String sqlName) {
            this.sqlName = sqlName;
        }
    }

    private static final Logger log = LoggerFactory.getLogger(LinkStatus.class);

    private final LocalServer local;
    private final String dbname;
    private final NodeIdentity self;
    private final String origin;
    private State state;

    LinkStatus(LocalServer local, String dbname, NodeIdentity self, NodeIdentity upstream) {
        this.local = local;
        this.dbname = dbname;
        this.self = self;
        this.origin = Names.origin(upstream, self);
    }

    /** The link runs (again); its retries start over, its last error stays for the record. */
    void enter(State next) {
        if (next != state) {
            write(next, null, false);
        }
    }

    /** A session failed: retried, or stalled until someone acts, or lost for good. */
    void failed(State next, String error) {
        write(next, error, true);
    }

    /** Where the link is, in the transaction that confirms it. */
    void positions(Connection conn, Lsn received, Lsn processed, long peerClockAheadMillis) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement("UPDATE pgactive.pgactive_link_status"
                + " SET received_lsn = ?::pg_lsn, processed_lsn = ?::pg_lsn, peer_clock_ahead_ms = ?,"
                + " updated_at = clock_timestamp() WHERE riremoteid = ?")) {
            ps.setString(1, received.toString());
            ps.setString(2, processed.toString());
            ps.setLong(3, peerClockAheadMillis);
            ps.setString(4, origin);
            ps.executeUpdate();
        }
    }

    private void write(State next, String error, boolean retry) {
        try (Connection c = local.connect(dbname, Names.applicationName(self, "status"));
             PreparedStatement ps = c.prepareStatement("INSERT INTO pgactive.pgactive_link_status AS s"
                     + " (riremoteid, state, state_since, last_error, last_error_time, retries)"
                     + " VALUES (?, ?, clock_timestamp(), ?, CASE WHEN ? IS NOT NULL THEN clock_timestamp() END, ?)"
                     + " ON CONFLICT (riremoteid) DO UPDATE SET state = EXCLUDED.state,"
                     + "   state_since = CASE WHEN s.state = EXCLUDED.state THEN s.state_since ELSE EXCLUDED.state_since END,"
                     + "   last_error = coalesce(EXCLUDED.last_error, s.last_error),"
                     + "   last_error_time = coalesce(EXCLUDED.last_error_time, s.last_error_time),"
                     + "   retries = CASE WHEN EXCLUDED.retries = 0 THEN 0 ELSE s.retries + 1 END,"
                     + "   updated_at = clock_timestamp()")) {
            ps.setString(1, origin);
            ps.setString(2, next.sqlName);
            ps.setString(3, error);
            ps.setObject(4, error, Types.VARCHAR);
            ps.setInt(5, retry ? 1 : 0);
            ps.executeUpdate();
            state = next;
        } catch (SQLException e) {
            log.warn("could not record the state of the link under origin {}: {}", origin, e.getMessage());
        }
    }
}
