package io.pgactive.catalog;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * A node is a database: (node identifier, timeline, database oid). The identifier is generated
 * when the database creates or joins a group and kept in it (pgactive_get_local_nodeid), so a
 * promoted physical standby of a node is still that node.
 */
public record NodeIdentity(String sysid, long timeline, long dboid) {

    /** The identity of the database a connection is attached to, which has pgactive installed. */
    public static NodeIdentity of(Connection conn) throws SQLException {
        try (Statement st = conn.createStatement();
             ResultSet rs = st.executeQuery("SELECT sysid, timeline, dboid FROM pgactive.pgactive_get_local_nodeid()")) {
            rs.next();
            return new NodeIdentity(rs.getString(1), rs.getLong(2), rs.getLong(3));
        }
    }

    @Override
    public String toString() {
        return "(sysid " + sysid + ", timeline " + timeline + ", dboid " + dboid + ")";
    }
}
