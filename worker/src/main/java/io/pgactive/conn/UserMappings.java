package io.pgactive.conn;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Node DSNs that name a foreign server and a user mapping instead of a host and a password
 * ({@code user_mapping=<role> pgactive_foreign_server=<server>}, upstream pgactive's syntax).
 * The catalog tables that hold DSNs replicate to every node; the server's options and the
 * mapping's credentials live in {@code pg_foreign_server} and {@code pg_user_mapping}, which do
 * not. Each node therefore looks the names up in its own database, every time it connects, so a
 * password changed with ALTER USER MAPPING is used from the next connection on.
 */
public final class UserMappings {

    static final String ROLE = "user_mapping";
    static final String SERVER = "pgactive_foreign_server";
    static final String WRAPPER = "pgactive_fdw";

    private UserMappings() {
    }

    /** Whether {@code dsn} names a user mapping, and so needs {@link #resolve} before use. */
    public static boolean named(ConnInfo dsn) {
        return dsn.get(ROLE) != null || dsn.get(SERVER) != null;
    }

    /**
     * The DSN to connect with: {@code dsn} itself, or, for one naming a user mapping, the foreign
     * server's options, then the mapping's, then the DSN's other keywords (which thus win). A
     * missing server or mapping is an SQLException (SQLSTATE 42704) naming what is missing, so
     * callers treat it as they treat a peer that cannot be reached: report it, retry later.
     */
    public static ConnInfo resolve(ConnInfo dsn, Connection local) throws SQLException {
        if (!named(dsn)) {
            return dsn;
        }
        String role = dsn.get(ROLE);
        String server = dsn.get(SERVER);
        if (role == null || role.isEmpty() || server == null || server.isEmpty()) {
            throw undefined("a DSN that names a user mapping needs both " + ROLE + "=<role> and " + SERVER
                    + "=<server>: " + dsn);
        }
        Map<String, String> values = new LinkedHashMap<>();
        try (PreparedStatement ps = local.prepareStatement("""
                SELECT w.fdwname, s.srvoptions, m.umoptions, m.srvid IS NOT NULL
                  FROM pg_catalog.pg_foreign_server s
                  JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = s.srvfdw
                  LEFT JOIN pg_catalog.pg_user_mappings m
                         ON m.srvid = s.oid AND m.usename OPERATOR(pg_catalog.=) ANY (ARRAY[?, 'public'])
                 WHERE s.srvname OPERATOR(pg_catalog.=) ?
                 ORDER BY m.umuser OPERATOR(pg_catalog.=) 0
                 LIMIT 1""")) {
            ps.setString(1, role);
            ps.setString(2, server);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw undefined("foreign server \"" + server + "\" named by DSN \"" + dsn
                            + "\" does not exist in database \"" + local.getCatalog() + "\" of this node");
                }
                if (!WRAPPER.equals(rs.getString(1))) {
                    throw undefined("foreign server \"" + server + "\" uses foreign data wrapper \"" + rs.getString(1)
                            + "\", not " + WRAPPER);
                }
                if (!rs.getBoolean(4)) {
                    throw undefined("no user mapping for role \"" + role + "\" on foreign server \"" + server
                            + "\" in database \"" + local.getCatalog() + "\" of this node");
                }
                putOptions(rs.getArray(2), values);
                putOptions(rs.getArray(3), values);
            }
        }
        dsn.values().forEach((key, value) -> {
            if (!key.equals(ROLE) && !key.equals(SERVER)) {
                values.put(key, value);
            }
        });
        return ConnInfo.of(values);
    }

    /** Options are stored as {@code key=value} texts; the value may itself hold '='. */
    private static void putOptions(Array options, Map<String, String> into) throws SQLException {
        if (options == null) {
            return;
        }
        for (Object option : (Object[]) options.getArray()) {
            String text = (String) option;
            int eq = text.indexOf('=');
            into.put(text.substring(0, eq), text.substring(eq + 1));
        }
    }

    private static SQLException undefined(String message) {
        return new SQLException(message, "42704");
    }
}
