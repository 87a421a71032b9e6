package io.pgactive.catalog;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/** A node is a database: (system identifier, timeline, database oid). */
public record NodeIdentity(String sysid, long timeline, long dboid) {

    /** The identity of the database a connection is attached to. */
    public static NodeIdentity of(Connection conn) throws SQLException {
        try (Statement st = conn.createStatement();
             ResultSet rs = st.executeQuery(
                     "SELECT s.system_identifier::text, c.timeline_id, d.oid"
                     + " FROM pg_catalog.pg_control_system() s, pg_catalog.pg_control_checkpoint() c,"
                     + " pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()")) {
            rs.next();
            return new NodeIdentity(rs.getString(1), rs.getLong(2), rs.getLong(3));
        }
    }

    @Override
    public String toString() {
        return "(sysid " + sysid + ", timeline " + timeline + ", dboid " + dboid + ")";
    }
}
