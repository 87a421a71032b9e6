package io.pgactive.conflict;

import io.pgactive.conn.StatementCache;
import io.pgactive.pg.SqlText;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * User-defined conflict handlers ({@code pgactive_create_conflict_handler}): SQL functions that
 * see the local and the remote row and return the row to keep, or ask to keep the local row
 * (IGNORE) or to skip the remote change (SKIP). A handler that fails or returns something unusable
 * is reported and the default resolution applies; it never stops the link.
 */
public final class ConflictHandlers {

    private static final Logger log = LoggerFactory.getLogger(ConflictHandlers.class);

    /** What a handler decided. {@code rowJson} is set for ROW. */
    public record Decision(String handler, Action action, String rowJson) {
    }

    public enum Action { ROW, IGNORE, SKIP }

    /** A registered handler of one table: its name, function (qualified SQL) and time frame. */
    public record Handler(String name, String table, String function, Long timeframeMicros) {
    }

    private final Connection conn;
    private final StatementCache statements;

    public ConflictHandlers(StatementCache statements) {
        this.conn = statements.connection();
        this.statements = statements;
    }

    /**
     * The first handler registered for this table and conflict type (in name order) whose time
     * frame admits the two commits; empty when there is none. Reads pgactive's catalog.
     */
    public Optional<Handler> find(String schema, String table, ConflictType type, Long localCommitMicros,
                                  long remoteCommitMicros) throws SQLException {
        String qualified = SqlText.identifier(schema) + "." + SqlText.identifier(table);
        for (Handler h : handlers(qualified, type)) {
            if (h.timeframeMicros() != null && localCommitMicros != null
                    && Math.abs(remoteCommitMicros - localCommitMicros) > h.timeframeMicros()) {
                continue;
            }
            return Optional.of(h);
        }
        return Optional.empty();
    }

    /**
     * Handlers whose function is owned by a superuser or by the table's owner, as
     * pgactive_create_conflict_handler demands; one whose owner changed since is ignored, or
     * its new owner could run code as the table's owner.
     */
    private List<Handler> handlers(String qualifiedTable, ConflictType type) throws SQLException {
        List<Handler> found = new ArrayList<>();
        PreparedStatement ps = statements.get(
                "SELECT h.ch_name, pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(p.proname),"
                + " (extract(epoch FROM h.ch_timeframe) * 1000000)::bigint,"
                + " r.rolsuper OR p.proowner = c.relowner"
                + " FROM pgactive.pgactive_conflict_handlers h"
                + " JOIN pg_catalog.pg_class c ON c.oid = pg_catalog.to_regclass(h.ch_relname)"
                + " JOIN pg_catalog.pg_proc p ON p.oid = pg_catalog.to_regprocedure(h.ch_fun)"
                + " JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"
                + " JOIN pg_catalog.pg_roles r ON r.oid = p.proowner"
                // by name: ch_reloid is 0 where a join copied the handler before the table
                + " WHERE c.oid = pg_catalog.to_regclass(?) AND h.ch_type = ?::pgactive.pgactive_conflict_type"
                + " ORDER BY h.ch_name");
        {
            ps.setString(1, qualifiedTable);
            ps.setString(2, type.sqlName());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String name = rs.getString(1);
                    String function = rs.getString(2);
                    long tf = rs.getLong(3);
                    Long timeframe = rs.wasNull() ? null : tf;
                    if (rs.getBoolean(4)) {
                        found.add(new Handler(name, qualifiedTable, function, timeframe));
                    } else {
                        log.warn("conflict handler \"{}\" on {} ignored: its function {} is owned by neither a"
                                + " superuser nor the table's owner", name, qualifiedTable, function);
                    }
                }
            }
        }
        return found;
    }

    /**
     * Runs {@code h}, as whatever role the session has (the caller makes it the table's owner).
     * Empty when the handler failed or returned something unusable.
     *
     * @param localJson  the local row as JSON, null when there is none (update_delete)
     * @param remoteJson the remote row as a JSON object of text values
     */
    public Optional<Decision> call(Handler h, ConflictType type, String commandTag, String localJson,
                                   String remoteJson) throws SQLException {
        String table = h.table();
        Savepoint savepoint = conn.setSavepoint();
        try (PreparedStatement ps = conn.prepareStatement(
                "SELECT pg_catalog.row_to_json(h.kept)::text, h.action::text FROM " + h.function()
                + "(pg_catalog.json_populate_record(NULL::" + table + ", ?::json), pg_catalog.json_populate_record(NULL::"
                + table + ", ?::json), ?, ?::pg_catalog.regclass, ?::pgactive.pgactive_conflict_type) h(kept, action)")) {
            ps.setString(1, localJson);
            ps.setString(2, remoteJson);
            ps.setString(3, commandTag);
            ps.setString(4, table);
            ps.setString(5, type.sqlName());
            String row;
            String action;
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return rejected(h, savepoint, "it returned no row");
                }
                row = rs.getString(1);
                action = rs.getString(2);
            }
            if (action == null || (action.equals("ROW") && row == null)) {
                return rejected(h, savepoint, "it returned handler_action " + action + " with row " + row);
            }
            conn.releaseSavepoint(savepoint);
            return Optional.of(new Decision(h.name(), Action.valueOf(action), row));
        } catch (SQLException e) {
            return rejected(h, savepoint, e.getMessage());
        }
    }

    private Optional<Decision> rejected(Handler h, Savepoint savepoint, String why) throws SQLException {
        conn.rollback(savepoint);
        log.warn("conflict handler \"{}\" ({}) failed, using the default resolution: {}", h.name(), h.function(), why);
        return Optional.empty();
    }

}
