package io.pgactive.catalog;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/** Settings (pgactive's GUCs among them) as the server a connection leads to has them. */
public final class ServerSettings {

    private ServerSettings() {
    }

    /**
     * The value as pg_settings has it: numbers in the setting's base unit, never with a unit
     * ({@code current_setting} gives "2500ms" for a setting in milliseconds).
     */
    public static String current(Connection conn, String name) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement("SELECT setting FROM pg_settings WHERE name = ?")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new SQLException("unrecognized configuration parameter \"" + name + "\"", "42704");
                }
                return rs.getString(1);
            }
        }
    }
}
