package io.pgactive.harness;

import java.sql.SQLException;

/**
 * A statement run through one of {@link PgCluster}'s convenience methods failed. Unchecked so that
 * tests and {@link Await} lambdas stay short; the message names the cluster, database and SQL.
 */
public final class SqlFailedException extends RuntimeException {

    SqlFailedException(String where, String sql, SQLException cause) {
        super(where + ": " + cause.getMessage() + " [SQLSTATE " + cause.getSQLState() + "]\n  in: " + sql, cause);
    }

    /** The five-character SQLSTATE, e.g. "23505" for a unique violation. */
    public String sqlState() {
        return ((SQLException) getCause()).getSQLState();
    }
}
