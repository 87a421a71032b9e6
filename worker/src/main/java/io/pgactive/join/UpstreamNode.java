package io.pgactive.join;

import io.pgactive.catalog.Node;
import io.pgactive.catalog.NodeCatalog;
import io.pgactive.catalog.NodeIdentity;
import io.pgactive.catalog.NodeStatus;
import io.pgactive.conn.ConnInfo;
import io.pgactive.conn.Connector;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/** The node a join copies from, seen through an ordinary SQL connection. */
final class UpstreamNode implements AutoCloseable {

    final ConnInfo dsn;
    final Connection conn;
    final NodeCatalog catalog;

    private UpstreamNode(ConnInfo dsn, Connection conn) {
        this.dsn = dsn;
        this.conn = conn;
        this.catalog = new NodeCatalog(conn);
    }

    static UpstreamNode connect(ConnInfo dsn, String applicationName) throws JoinFailure {
        try {
            return new UpstreamNode(dsn, Connector.connect(dsn, applicationName));
        } catch (SQLException e) {
            throw new JoinFailure("could not connect to the upstream node with join_using_dsn \"" + dsn + "\"", e);
        }
    }

    /** The upstream's own node, which must be a ready member of a group. */
    Node readyNode() throws SQLException, JoinFailure {
        if (!catalog.extensionInstalled()) {
            throw new JoinFailure("the upstream database (join_using_dsn \"" + dsn + "\") is not in a pgactive group:"
                    + " pgactive is not installed there");
        }
        Node node = catalog.localNode().orElseThrow(() -> new JoinFailure(
                "the upstream database (join_using_dsn \"" + dsn + "\") is not in a pgactive group"));
        if (node.status() != NodeStatus.READY) {
            throw new JoinFailure("the upstream node \"" + node.name() + "\" is not ready (status "
                    + node.status().code() + "); join from a ready node");
        }
        return node;
    }

    List<Node> nodes() throws SQLException {
        return catalog.allNodes();
    }

    /** The upstream's foreign servers of pgactive_fdw, which the copy leaves out. */
    List<DataCopy.ConnectionServer> connectionServers() throws SQLException {
        List<DataCopy.ConnectionServer> servers = new ArrayList<>();
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT s.oid, s.srvname, pg_get_userbyid(s.srvowner) FROM pg_foreign_server s"
                + " JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw WHERE w.fdwname = 'pgactive_fdw'")) {
            while (rs.next()) {
                servers.add(new DataCopy.ConnectionServer(rs.getLong(1), rs.getString(2), rs.getString(3)));
            }
        }
        return servers;
    }

    /** Encoding, collation and ctype of the database, the things pg_restore cannot change. */
    /** Each table pgactive replicates, by name, with its columns and their types, in name order. */
    static java.util.Map<String, String> tableShapes(Connection conn) throws SQLException {
        java.util.Map<String, String> shapes = new java.util.TreeMap<>();
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT format('%I.%I', n.nspname, c.relname), string_agg(format('%I %s', a.attname,"
                + " format_type(a.atttypid, a.atttypmod)), ', ' ORDER BY a.attname)"
                + " FROM pgactive._user_tables() t JOIN pg_class c ON c.oid = t"
                + " JOIN pg_namespace n ON n.oid = c.relnamespace"
                + " JOIN pg_attribute a ON a.attrelid = t AND a.attnum > 0 AND NOT a.attisdropped"
                + " WHERE c.relkind = 'r' GROUP BY 1")) {
            while (rs.next()) {
                shapes.put(rs.getString(1), rs.getString(2));
            }
        }
        return shapes;
    }

    static String locale(Connection conn) throws SQLException {
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT 'encoding ' || pg_encoding_to_char(encoding) || ', collation ' || datcollate"
                + " || ', ctype ' || datctype FROM pg_database WHERE datname = current_database()")) {
            rs.next();
            return rs.getString(1);
        }
    }

    /**
     * The upstream's clock, and the oldest transaction still running there: every transaction
     * that commits later has an id at least that old, so rows with older xmins need no look at
     * their commit time. Both as text to hand back to the upstream.
     */
    JoinStart joinStart() throws SQLException {
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SELECT clock_timestamp()::text,"
                + " pg_snapshot_xmin(s)::text, pg_snapshot_xmax(s)::text FROM pg_current_snapshot() s")) {
            rs.next();
            return new JoinStart(rs.getString(1), rs.getString(2), rs.getString(3));
        }
    }

    /**
     * See {@link #joinStart()}; {@code oldestRunningXid8} and {@code nextXid8} are full 64-bit
     * ids: equal, nothing was running; unchanged later, nothing has started since.
     */
    record JoinStart(String time, String oldestRunningXid8, String nextXid8) {

        /** The oldest running id as a 32-bit xid, as rows' xmin show it. */
        String oldestRunningXid() {
            return Long.toString(Long.parseLong(oldestRunningXid8) & 0xFFFF_FFFFL);
        }
    }

    long databaseSize() throws SQLException {
        try (Statement st = conn.createStatement();
             ResultSet rs = st.executeQuery("SELECT pg_database_size(current_database())")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /**
     * Adds the joining node to the group's registry on the upstream, from where it replicates
     * to every node. Replaces the row of an earlier, failed attempt.
     */
    void register(Node self, Integer applyDelay, String replicationSetsLiteral) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement(
                "INSERT INTO pgactive.pgactive_nodes (node_sysid, node_timeline, node_dboid, node_status, node_name,"
                + " node_dsn, node_init_from_dsn, node_read_only, node_seq_id)"
                + " VALUES (?, ?, ?, 'i', ?, ?, ?, false,"
                + "   (SELECT coalesce(max(node_seq_id), 0) + 1 FROM pgactive.pgactive_nodes))"
                + " ON CONFLICT (node_sysid, node_timeline, node_dboid) DO UPDATE SET node_status = 'i',"
                + "   node_name = EXCLUDED.node_name, node_dsn = EXCLUDED.node_dsn,"
                + "   node_init_from_dsn = EXCLUDED.node_init_from_dsn")) {
            setIdentity(ps, 1, self.id());
            ps.setString(4, self.name());
            ps.setString(5, self.dsn());
            ps.setString(6, self.initFromDsn());
            ps.executeUpdate();
        }
        try (PreparedStatement ps = conn.prepareStatement(
                "INSERT INTO pgactive.pgactive_connections (conn_sysid, conn_timeline, conn_dboid, conn_dsn,"
                + " conn_apply_delay, conn_replication_sets) VALUES (?, ?, ?, ?, ?, ?::text[])"
                + " ON CONFLICT (conn_sysid, conn_timeline, conn_dboid) DO UPDATE SET conn_dsn = EXCLUDED.conn_dsn,"
                + "   conn_apply_delay = EXCLUDED.conn_apply_delay, conn_replication_sets = EXCLUDED.conn_replication_sets")) {
            setIdentity(ps, 1, self.id());
            ps.setString(4, self.dsn());
            ps.setObject(5, applyDelay);
            ps.setString(6, replicationSetsLiteral);
            ps.executeUpdate();
        }
    }

    /** Takes a failed joiner out of the registry again, so the group does not wait for it. */
    void unregister(NodeIdentity self) throws SQLException {
        for (String sql : List.of(
                "DELETE FROM pgactive.pgactive_connections WHERE conn_sysid = ? AND conn_timeline = ? AND conn_dboid = ?",
                "DELETE FROM pgactive.pgactive_nodes WHERE node_sysid = ? AND node_timeline = ? AND node_dboid = ?")) {
            try (PreparedStatement ps = conn.prepareStatement(sql)) {
                setIdentity(ps, 1, self);
                ps.executeUpdate();
            }
        }
    }

    /**
     * Puts a marker into the upstream's change stream. A non-transactional message is sent as
     * soon as it is decoded, after every transaction that committed before it.
     */
    void emitMarker(String content) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement("SELECT pg_logical_emit_message(false, ?, ?)")) {
            ps.setString(1, io.pgactive.catalog.Names.MESSAGE_PREFIX);
            ps.setString(2, content);
            ps.execute();
        }
    }

    static void setIdentity(PreparedStatement ps, int first, NodeIdentity id) throws SQLException {
        ps.setString(first, id.sysid());
        ps.setLong(first + 1, id.timeline());
        ps.setLong(first + 2, id.dboid());
    }

    @Override
    public void close() throws SQLException {
        conn.close();
    }
}
