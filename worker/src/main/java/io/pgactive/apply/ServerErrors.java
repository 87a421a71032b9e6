package io.pgactive.apply;

import io.pgactive.conflict.Conflict;
import java.sql.SQLException;
import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

/** The fields of a server error, for the conflict history's error_* columns. */
public final class ServerErrors {

    private ServerErrors() {
    }

    static Conflict.ApplyError describe(Exception e) {
        // A failed batch wraps the server's error: look through the chain for it.
        for (Throwable t = e; t != null; t = next(t)) {
            if (t instanceof PSQLException p && p.getServerErrorMessage() != null) {
                ServerErrorMessage m = p.getServerErrorMessage();
                return new Conflict.ApplyError(m.getMessage(), m.getSQLState(), m.getDetail(), m.getHint(),
                        m.getWhere());
            }
        }
        String state = e instanceof SQLException s ? s.getSQLState() : null;
        return new Conflict.ApplyError(e.getMessage(), state != null && state.length() == 5 ? state : null,
                null, null, null);
    }

    /** Whether the server refused a duplicate key (SQLSTATE 23505). */
    public static boolean isUniqueViolation(Exception e) {
        return "23505".equals(describe(e).sqlState());
    }

    /**
     * Whether the error is about reaching a server (no connection, a lost one, a server shutting
     * down or full) rather than about what was done on it: passing, where the other kind stays
     * until someone acts.
     */
    public static boolean isConnectionProblem(Exception e) {
        String state = describe(e).sqlState();
        return state == null || state.startsWith("08") || state.startsWith("57P") || state.equals("53300");
    }

    /** The server's own message for a log line (not a failed batch's statement text and values). */
    public static String summary(Exception e) {
        Conflict.ApplyError error = describe(e);
        return error.message() + (error.detail() == null ? "" : " (" + error.detail() + ")");
    }

    private static Throwable next(Throwable t) {
        if (t instanceof SQLException s && s.getNextException() != null) {
            return s.getNextException();
        }
        return t.getCause() == t ? null : t.getCause();
    }
}
