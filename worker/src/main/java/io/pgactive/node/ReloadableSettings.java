package io.pgactive.node;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * pgactive's settings that a reload can change ({@code pg_reload_conf()}, context SIGHUP, and
 * skip_ddl_replication, which may differ from the server's only where it is turned on), as one
 * text. A link reads what it needs of them when it starts, so a change restarts the links: they
 * resume from their origins' progress and lose nothing.
 */
final class ReloadableSettings {

    private String last;

    /** Whether they changed since the last look (the first look finds no change). */
    boolean changed(Connection conn) throws SQLException {
        String now;
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT string_agg(name || '=' || setting, ',' ORDER BY name) FROM pg_catalog.pg_settings"
                + " WHERE name LIKE 'pgactive.%' AND (context = 'sighup' OR name = 'pgactive.skip_ddl_replication')")) {
            rs.next();
            now = rs.getString(1);
        }
        boolean changed = last != null && !last.equals(now);
        last = now;
        return changed;
    }
}
