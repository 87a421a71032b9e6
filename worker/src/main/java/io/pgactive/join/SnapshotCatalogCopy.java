package io.pgactive.join;

import io.pgactive.catalog.Names;
import io.pgactive.catalog.NodeIdentity;
import io.pgactive.conn.ConnInfo;
import io.pgactive.conn.Connector;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * What a joining node reads from the upstream's exported snapshot besides the pg_dump copy:
 * the group's registry, and the true last writers of recently changed rows. Reading both in the
 * snapshot keeps them consistent with the copied data.
 */
final class SnapshotCatalogCopy {

    private final Connection conn;
    private final NodeIdentity self;
    private final ConnInfo upstreamDsn;
    private final String snapshot;

    SnapshotCatalogCopy(Connection conn, NodeIdentity self, ConnInfo upstreamDsn, String snapshot) {
        this.conn = conn;
        this.self = self;
        this.upstreamDsn = upstreamDsn;
        this.snapshot = snapshot;
    }

    /** A connection to the upstream in a transaction that sees the snapshot (in UTC, like apply). */
    private Connection openInSnapshot() throws SQLException {
        Connection uc = Connector.connect(upstreamDsn, Names.applicationName(self, "init"));
        try {
            uc.setAutoCommit(false);
            try (Statement st = uc.createStatement()) {
                st.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
                st.execute("SET TRANSACTION SNAPSHOT '" + snapshot + "'");
                st.execute("SET LOCAL TimeZone = 'UTC'");
            }
            return uc;
        } catch (SQLException e) {
            uc.close();
            throw e;
        }
    }

    /**
     * The upstream's tables as of the snapshot, each with its size and whether a node streaming
     * {@code sets} (an array literal) gets its rows: the join copies the definitions of the
     * others, not their rows.
     */
    List<DataCopy.Table> tables(String sets) throws SQLException {
        try (Connection uc = openInSnapshot();
             PreparedStatement ps = uc.prepareStatement(
                     "SELECT format('\"%s\".\"%s\"', replace(n.nspname, '\"', '\"\"'), replace(c.relname, '\"', '\"\"')),"
                     + " pg_table_size(c.oid), t IN (SELECT rel FROM pgactive._tables_for_sets(?::text[]))"
                     + " FROM pgactive._user_tables() t JOIN pg_class c ON c.oid = t JOIN pg_namespace n ON n.oid = c.relnamespace"
                     + " WHERE c.relkind = 'r'")) {
            ps.setString(1, sets);
            List<DataCopy.Table> tables = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    tables.add(new DataCopy.Table(rs.getString(1), rs.getLong(2), rs.getBoolean(3)));
                }
            }
            uc.rollback();
            return tables;
        }
    }

    /** The group's registry as of the snapshot; this node's own row stays as it is. */
    void copyRegistry() throws SQLException {
        try (Connection uc = openInSnapshot()) {
            for (String table : List.of("pgactive_nodes", "pgactive_connections", "pgactive_conflict_handlers",
                    "pgactive_replication_set_config", "pgactive_table_replication_sets",
                    "pgactive_replication_set_filters", "pgactive_column_level_tables")) {
                copyTable(uc, table);
            }
            uc.rollback();
        }
    }

    private void copyTable(Connection uc, String table) throws SQLException {
        String sysidColumn = table.equals("pgactive_nodes") ? "node_sysid" : "conn_sysid";
        boolean identityKeyed = table.equals("pgactive_nodes") || table.equals("pgactive_connections");
        String prefix = table.equals("pgactive_nodes") ? "node_" : "conn_";
        try (Statement st = uc.createStatement();
             ResultSet rs = st.executeQuery("SELECT to_json(t)::text FROM pgactive." + table + " t")) {
            while (rs.next()) {
                String sql = "INSERT INTO pgactive." + table + " SELECT * FROM pg_catalog.json_populate_record(NULL::pgactive."
                        + table + ", ?::json) r"
                        + (identityKeyed ? " WHERE (r." + sysidColumn + ", r." + prefix + "timeline, r." + prefix
                        + "dboid) <> (?, ?::oid, ?::oid)" : "")
                        + " ON CONFLICT DO NOTHING";
                try (PreparedStatement ps = conn.prepareStatement(sql)) {
                    ps.setString(1, rs.getString(1));
                    if (identityKeyed) {
                        ps.setString(2, self.sysid());
                        ps.setLong(3, self.timeline());
                        ps.setLong(4, self.dboid());
                    }
                    ps.executeUpdate();
                }
            }
        }
    }

    /**
     * True when no transaction can have committed between the join's start and the snapshot:
     * none was running at the start, and none has started since (the snapshot's next id is the same).
     */
    private static boolean nothingCommittedSince(Connection inSnapshot, UpstreamNode.JoinStart joinStart)
            throws SQLException {
        if (!joinStart.oldestRunningXid8().equals(joinStart.nextXid8())) {
            return false;
        }
        try (Statement st = inSnapshot.createStatement();
             ResultSet rs = st.executeQuery("SELECT pg_snapshot_xmax(pg_current_snapshot())::text")) {
            rs.next();
            return rs.getString(1).equals(joinStart.nextXid8());
        }
    }

    /**
     * True last writers of the rows U changed after the join started (see
     * {@link io.pgactive.apply.Applier}'s use of pgactive_copied_row_times). Keys are built as
     * the apply side builds them: to_jsonb of the typed values, in UTC. Rows older than the join
     * by their xmin are passed over in the scan, before their commit times are looked up: for a
     * big database that lookup, not the scan, would be the cost.
     */
    void copyRecentRowTimes(UpstreamNode.JoinStart joinStart, NodeIdentity upstreamId) throws SQLException {
        try (Connection uc = openInSnapshot()) {
            if (nothingCommittedSince(uc, joinStart)) {
                return; // the usual case on a quiet upstream: no scan of the whole database
            }
            List<String[]> tables = new ArrayList<>();
            try (Statement st = uc.createStatement(); ResultSet rs = st.executeQuery(
                    "SELECT format('%I.%I', n.nspname, c.relname), pgactive._identity_columns(c.oid)::text"
                    + " FROM pgactive._user_tables() t JOIN pg_class c ON c.oid = t"
                    + " JOIN pg_namespace n ON n.oid = c.relnamespace"
                    + " WHERE pgactive._identity_columns(c.oid) IS NOT NULL")) {
                while (rs.next()) {
                    tables.add(new String[] {rs.getString(1), rs.getString(2)});
                }
            }
            try (PreparedStatement insert = conn.prepareStatement(
                    "INSERT INTO pgactive.pgactive_copied_row_times VALUES (?, ?::jsonb, ?::timestamptz, ?, ?, ?)"
                    + " ON CONFLICT DO NOTHING")) {
                int pending = 0;
                for (String[] table : tables) {
                    try (PreparedStatement ps = uc.prepareStatement(
                            "SELECT (SELECT pg_catalog.jsonb_object_agg(k.name, pg_catalog.to_jsonb(pgactive_row.*) -> k.name)"
                            + " FROM unnest(?::text[]) AS k(name))::text,"
                            + " c.timestamp::text, o.roname FROM " + table[0] + " pgactive_row"
                            + " CROSS JOIN LATERAL pg_catalog.pg_xact_commit_timestamp_origin(pgactive_row.xmin) c"
                            + " LEFT JOIN pg_replication_origin o ON o.roident = c.roident"
                            + " WHERE age(pgactive_row.xmin) <= age(?::xid) AND c.timestamp > ?::timestamptz")) {
                        ps.setString(1, table[1]);
                        ps.setString(2, joinStart.oldestRunningXid());
                        ps.setString(3, joinStart.time());
                        try (ResultSet rs = ps.executeQuery()) {
                            while (rs.next()) {
                                NodeIdentity writer = rs.getString(3) == null ? upstreamId
                                        : Names.originNode(rs.getString(3)).orElse(upstreamId);
                                insert.setString(1, table[0]);
                                insert.setString(2, rs.getString(1));
                                insert.setString(3, rs.getString(2));
                                insert.setString(4, writer.sysid());
                                insert.setLong(5, writer.timeline());
                                insert.setLong(6, writer.dboid());
                                insert.addBatch();
                                if (++pending == 1000) { // keep the batch, and the heap, small
                                    insert.executeBatch();
                                    pending = 0;
                                }
                            }
                        }
                    }
                }
                insert.executeBatch();
            }
            uc.rollback();
        }
    }
}
