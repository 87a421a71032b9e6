package io.pgactive.apply;

import io.pgactive.conflict.Conflict;
import java.sql.SQLException;
import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

/** The fields of a server error, for the conflict history's error_* columns. */
final class ServerErrors {

    private ServerErrors() {
    }

    static Conflict.ApplyError describe(Exception e) {
        if (e instanceof PSQLException p && p.getServerErrorMessage() != null) {
            ServerErrorMessage m = p.getServerErrorMessage();
            return new Conflict.ApplyError(m.getMessage(), m.getSQLState(), m.getDetail(), m.getHint(), m.getWhere());
        }
        String state = e instanceof SQLException s ? s.getSQLState() : null;
        return new Conflict.ApplyError(e.getMessage(), state != null && state.length() == 5 ? state : null,
                null, null, null);
    }
}
