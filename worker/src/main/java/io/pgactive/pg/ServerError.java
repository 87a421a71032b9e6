package io.pgactive.pg;

import java.sql.SQLException;
import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

/** The fields of a server error, as the conflict history's error_* columns keep them. */
public record ServerError(String message, String sqlState, String detail, String hint, String context) {

    /** The server's error behind {@code e} (a failed batch wraps it), or what the driver said. */
    public static ServerError of(Exception e) {
        for (Throwable t = e; t != null; t = next(t)) {
            if (t instanceof PSQLException p && p.getServerErrorMessage() != null) {
                ServerErrorMessage m = p.getServerErrorMessage();
                return new ServerError(m.getMessage(), m.getSQLState(), m.getDetail(), m.getHint(), m.getWhere());
            }
        }
        String state = e instanceof SQLException s ? s.getSQLState() : null;
        return new ServerError(e.getMessage(), state != null && state.length() == 5 ? state : null, null, null, null);
    }

    private static Throwable next(Throwable t) {
        if (t instanceof SQLException s && s.getNextException() != null) {
            return s.getNextException();
        }
        return t.getCause() == t ? null : t.getCause();
    }
}
