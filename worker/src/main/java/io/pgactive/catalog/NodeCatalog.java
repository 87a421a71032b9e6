package io.pgactive.catalog;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Reads and changes pgactive's catalog tables in one database. */
public final class NodeCatalog {

    private final Connection conn;

    public NodeCatalog(Connection conn) {
        this.conn = conn;
    }

    /** Whether the extension is installed in this database at all. */
    public boolean extensionInstalled() throws SQLException {
        try (Statement st = conn.createStatement();
             ResultSet rs = st.executeQuery("SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pgactive'")) {
            return rs.next();
        }
    }

    private static final String NODE_COLUMNS = "node_sysid, node_timeline, node_dboid, node_status, node_name,"
            + " node_dsn, node_init_from_dsn, node_read_only, node_seq_id";

    /** This database's own row in pgactive_nodes, if it is (becoming) a node. */
    public Optional<Node> localNode() throws SQLException {
        List<Node> nodes = query("SELECT " + NODE_COLUMNS + " FROM pgactive._local_node() WHERE node_sysid IS NOT NULL");
        return nodes.stream().findFirst();
    }

    /** Every node of the group as this database knows it, itself included. */
    public List<Node> allNodes() throws SQLException {
        return query("SELECT " + NODE_COLUMNS + " FROM pgactive.pgactive_nodes ORDER BY node_name");
    }

    private List<Node> query(String sql) throws SQLException {
        List<Node> nodes = new ArrayList<>();
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                nodes.add(read(rs));
            }
        }
        return nodes;
    }

    private static Node read(ResultSet rs) throws SQLException {
        NodeIdentity id = new NodeIdentity(rs.getString(1), rs.getLong(2), rs.getLong(3));
        int seq = rs.getInt(9);
        Integer seqId = rs.wasNull() ? null : seq;
        return new Node(id, NodeStatus.of(rs.getString(4)), rs.getString(5),
                rs.getString(6), rs.getString(7), rs.getBoolean(8), seqId);
    }

    /** Sets a node's status, whatever it was (used by a join, which owns its node's row). */
    public void setStatus(NodeIdentity node, NodeStatus status) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement(
                "UPDATE pgactive.pgactive_nodes SET node_status = ?"
                + " WHERE node_sysid = ? AND node_timeline = ? AND node_dboid = ?")) {
            ps.setString(1, String.valueOf(status.code()));
            ps.setString(2, node.sysid());
            ps.setLong(3, node.timeline());
            ps.setLong(4, node.dboid());
            ps.executeUpdate();
        }
    }

    /**
     * Moves a node from one status to the next. Returns false when the row is no longer in the
     * expected state, i.e. the user started over while we were working.
     */
    public boolean advanceStatus(Node node, NodeStatus to) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement(
                "UPDATE pgactive.pgactive_nodes SET node_status = ?"
                + " WHERE node_sysid = ? AND node_timeline = ? AND node_dboid = ?"
                + " AND node_status = ? AND node_dsn IS NOT DISTINCT FROM ?")) {
            ps.setString(1, String.valueOf(to.code()));
            ps.setString(2, node.id().sysid());
            ps.setLong(3, node.id().timeline());
            ps.setLong(4, node.id().dboid());
            ps.setString(5, String.valueOf(node.status().code()));
            ps.setString(6, node.dsn());
            return ps.executeUpdate() == 1;
        }
    }
}
