package io.pgactive.conn;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Prepared statements of one apply session, by SQL text. A table's statements repeat row after
 * row, so preparing once saves the server a parse and plan per change; the least recently used
 * ones are closed so that tables with changing shapes cannot grow the cache without bound.
 *
 * <p>A prepared statement keeps the values last bound to it until they are replaced: whoever
 * binds a row's values clears them after use ({@code clearParameters}), or a cache of statements
 * would hold a copy of every large row it saw last (values of many megabytes each).
 */
public final class StatementCache implements AutoCloseable {

    private static final int CAPACITY = 256;

    private final Supplier<Connection> connection;
    private final Map<String, PreparedStatement> statements = new LinkedHashMap<>(64, 0.75f, true);

    /** @param connection the session's connection, asked at each use (it checks who uses it) */
    public StatementCache(Supplier<Connection> connection) {
        this.connection = connection;
    }

    /** The session the statements belong to, for what is not a prepared statement (COPY). */
    public Connection connection() {
        return connection.get();
    }

    public PreparedStatement get(String sql) throws SQLException {
        Connection conn = connection.get();
        PreparedStatement ps = statements.get(sql);
        if (ps == null) {
            ps = conn.prepareStatement(sql);
            statements.put(sql, ps);
            if (statements.size() > CAPACITY) {
                var eldest = statements.entrySet().iterator().next();
                eldest.getValue().close();
                statements.remove(eldest.getKey());
            }
        }
        return ps;
    }

    @Override
    public void close() throws SQLException {
        for (PreparedStatement ps : statements.values()) {
            ps.close();
        }
        statements.clear();
    }
}
