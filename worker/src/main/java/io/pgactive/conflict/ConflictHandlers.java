package io.pgactive.conflict;

import io.pgactive.catalog.Names;
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

    private record Handler(String name, String function, Long timeframeMicros) {
    }

    private final Connection conn;

    public ConflictHandlers(Connection conn) {
        this.conn = conn;
    }

    /**
     * Runs the first handler registered for this table and conflict type (in name order) whose
     * time frame admits the two commits. Empty when there is none or it failed.
     *
     * @param localJson  the local row as JSON, null when there is none (update_delete)
     * @param remoteJson the remote row as a JSON object of text values
     */
    public Optional<Decision> decide(String schema, String table, ConflictType type, String commandTag,
                                     String localJson, Long localCommitMicros, String remoteJson,
                                     long remoteCommitMicros) throws SQLException {
        String qualified = Names.quoteIdentifier(schema) + "." + Names.quoteIdentifier(table);
        for (Handler h : handlers(qualified, type)) {
            if (h.timeframeMicros() != null && localCommitMicros != null
                    && Math.abs(remoteCommitMicros - localCommitMicros) > h.timeframeMicros()) {
                continue;
            }
            return call(h, qualified, type, commandTag, localJson, remoteJson);
        }
        return Optional.empty();
    }

    private List<Handler> handlers(String qualifiedTable, ConflictType type) throws SQLException {
        List<Handler> found = new ArrayList<>();
        try (PreparedStatement ps = conn.prepareStatement(
                "SELECT h.ch_name, quote_ident(n.nspname) || '.' || quote_ident(p.proname),"
                + " (extract(epoch FROM h.ch_timeframe) * 1000000)::bigint"
                + " FROM pgactive.pgactive_conflict_handlers h"
                + " JOIN pg_catalog.pg_proc p ON p.oid = pg_catalog.to_regprocedure(h.ch_fun)"
                + " JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"
                + " WHERE h.ch_reloid = pg_catalog.to_regclass(?) AND h.ch_type = ?::pgactive.pgactive_conflict_type"
                + " ORDER BY h.ch_name")) {
            ps.setString(1, qualifiedTable);
            ps.setString(2, type.sqlName());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String name = rs.getString(1);
                    String function = rs.getString(2);
                    long tf = rs.getLong(3);
                    found.add(new Handler(name, function, rs.wasNull() ? null : tf));
                }
            }
        }
        return found;
    }

    private Optional<Decision> call(Handler h, String table, ConflictType type, String commandTag,
                                    String localJson, String remoteJson) throws SQLException {
        Savepoint savepoint = conn.setSavepoint();
        try (PreparedStatement ps = conn.prepareStatement(
                "SELECT row_to_json(h.kept)::text, h.action::text FROM " + h.function()
                + "(json_populate_record(NULL::" + table + ", ?::json), json_populate_record(NULL::" + table
                + ", ?::json), ?, ?::regclass, ?::pgactive.pgactive_conflict_type) h(kept, action)")) {
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
