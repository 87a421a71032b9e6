package io.pgactive.conn;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * Node DSNs that name a foreign server of {@code pgactive_fdw} and a user mapping instead of a
 * host and a password ({@code user_mapping=<role> pgactive_foreign_server=<server>}, upstream
 * pgactive's syntax).
 * The catalog tables that hold DSNs replicate to every node; the server's options and the
 * mapping's credentials live in {@code pg_foreign_server} and {@code pg_user_mapping}, which do
 * not. Each node therefore looks the names up in its own database, every time it connects, so a
 * password changed with ALTER USER MAPPING is used from the next connection on.
 */
public final class UserMappings {

    static final String ROLE = "user_mapping";
    static final String SERVER = "pgactive_foreign_server";

    private UserMappings() {
    }

    /** Whether {@code dsn} names a user mapping, and so needs {@link #resolve} before use. */
    public static boolean named(ConnInfo dsn) {
        return dsn.get(ROLE) != null || dsn.get(SERVER) != null;
    }

    /**
     * The DSN to connect with: {@code dsn} itself, or the one {@code pgactive._connection_string}
     * builds from the foreign server and user mapping it names (the rule is in SQL, which the
     * checks of create and join use too). A missing server or mapping is an SQLException naming
     * what is missing, so callers treat it as they treat a peer that cannot be reached: report
     * it, retry later.
     */
    public static ConnInfo resolve(ConnInfo dsn, Connection local) throws SQLException {
        if (!named(dsn)) {
            return dsn;
        }
        try (PreparedStatement ps = local.prepareStatement("SELECT pgactive._connection_string(?)")) {
            ps.setString(1, dsn.toConnString());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return ConnInfo.parse(rs.getString(1));
            }
        }
    }
}
