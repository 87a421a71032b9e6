package io.pgactive.apply;

import io.pgactive.pg.Lsn;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalInt;

/**
 * Replication origins of an apply session. With an origin set up, PostgreSQL records the remote
 * origin and commit time of every local commit (what conflict resolution reads) and advances the
 * origin's progress atomically with the commit (what makes apply exactly-once across crashes).
 */
public final class OriginSession {

    private final ApplySession session;
    private final Map<String, Integer> ids = new HashMap<>();
    private String current;

    OriginSession(ApplySession session) {
        this.session = session;
    }

    /** Creates the origin unless it exists. */
    public static void ensureExists(Connection conn, String origin) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement(
                "SELECT pg_catalog.pg_replication_origin_create(?)"
                + " WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_replication_origin WHERE roname = ?)")) {
            ps.setString(1, origin);
            ps.setString(2, origin);
            ps.execute();
        }
    }

    /** Creates the origin afresh, forgetting the progress an earlier membership left behind. */
    public static void recreate(Connection conn, String origin) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement(
                "SELECT pg_catalog.pg_replication_origin_drop(roname) FROM pg_catalog.pg_replication_origin"
                + " WHERE roname = ?")) {
            ps.setString(1, origin);
            ps.execute();
        }
        ensureExists(conn, origin);
    }

    /** The remote LSN up to which changes from this origin are committed locally ({@link Lsn#ZERO}: none). */
    public static Lsn progress(Connection conn, String origin, boolean flushed) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement(
                "SELECT pg_catalog.pg_replication_origin_progress(?, ?)::text")) {
            ps.setString(1, origin);
            ps.setBoolean(2, flushed);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                String lsn = rs.getString(1);
                return lsn == null ? Lsn.ZERO : Lsn.parse(lsn);
            }
        }
    }

    /**
     * The origin's id ({@code roident}), for statements that run as a table's owner, who may
     * not call {@code pg_replication_origin_oid}. Ids are never reused while the origin exists.
     */
    int id(String origin) throws SQLException {
        return find(origin).orElseThrow(() -> new SQLException("replication origin \"" + origin + "\" does not exist"));
    }

    /** The origin's id, as {@link #id}; empty if there is no such origin. */
    OptionalInt find(String origin) throws SQLException {
        Integer id = ids.get(origin);
        if (id == null) {
            try (PreparedStatement ps = session.connection().prepareStatement(
                    "SELECT roident FROM pg_catalog.pg_replication_origin WHERE roname = ?")) {
                ps.setString(1, origin);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        return OptionalInt.empty();
                    }
                    id = rs.getInt(1);
                }
            }
            ids.put(origin, id);
        }
        return OptionalInt.of(id);
    }

    /** Makes {@code origin} the session's origin; a no-op when it already is. */
    void use(String origin) throws SQLException {
        if (origin.equals(current)) {
            return;
        }
        try (Statement st = session.connection().createStatement()) {
            if (current != null) {
                st.execute("SELECT pg_catalog.pg_replication_origin_session_reset()");
                current = null;
            }
            try (PreparedStatement ps = session.connection().prepareStatement(
                    "SELECT pg_catalog.pg_replication_origin_session_setup(?)")) {
                ps.setString(1, origin);
                ps.execute();
            }
        }
        current = origin;
    }

    /**
     * Forgets the position and time an aborted transaction set up: PostgreSQL 15 keeps them in
     * the session, and the next commit, of anything, would record them as progress.
     */
    static void resetTransaction(Connection conn) throws SQLException {
        try (Statement st = conn.createStatement()) {
            st.execute("SELECT pg_catalog.pg_replication_origin_xact_reset()");
        }
    }

    /**
     * Gives the session's origin up before the connection closes: a backend holds it until it
     * has exited, which happens after the close returns, and whoever uses the origin next (a
     * join advancing it after catch-up, the next link) would find it still active.
     */
    void release() throws SQLException {
        if (current == null) {
            return;
        }
        session.connection().rollback(); // whatever is open would not survive the close either
        try (Statement st = session.connection().createStatement()) {
            st.execute("SELECT pg_catalog.pg_replication_origin_session_reset()");
        }
        session.connection().commit();
        current = null;
    }

    /** Forgets the session origin after the connection was reset by an error. */
    void forget() {
        current = null;
    }
}
