package io.pgactive.conflict;

import io.pgactive.pg.ServerError;

import io.pgactive.catalog.NodeIdentity;
import io.pgactive.conn.StatementCache;
import io.pgactive.pg.PgTimestamps;
import io.pgactive.pg.SqlText;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records conflicts in {@code pgactive.pgactive_conflict_history} and/or the server log, as the
 * {@code pgactive.log_conflicts_*} settings ask. A row goes in with the transaction that
 * resolved the conflict, so history and data never disagree.
 */
public final class ConflictLog {

    private static final Logger log = LoggerFactory.getLogger(ConflictLog.class);

    private final StatementCache statements;
    private final NodeIdentity self;
    private final boolean toTable;
    private final boolean toLogfile;
    private final boolean includeTuples;

    /** With the settings given; see {@link #read}. */
    public ConflictLog(StatementCache statements, NodeIdentity self, boolean toTable, boolean toLogfile,
                       boolean includeTuples) {
        this.statements = statements;
        this.self = self;
        this.toTable = toTable;
        this.toLogfile = toLogfile;
        this.includeTuples = includeTuples;
    }

    /** As the server's settings say, read once per session. */
    public static ConflictLog read(StatementCache statements, NodeIdentity self) throws SQLException {
        try (Statement st = statements.connection().createStatement(); ResultSet rs = st.executeQuery(
                "SELECT current_setting('pgactive.log_conflicts_to_table')::boolean,"
                + " current_setting('pgactive.log_conflicts_to_logfile')::boolean,"
                + " current_setting('pgactive.conflict_logging_include_tuples')::boolean")) {
            rs.next();
            return new ConflictLog(statements, self, rs.getBoolean(1), rs.getBoolean(2), rs.getBoolean(3));
        }
    }

    public void record(Conflict c) throws SQLException {
        if (toLogfile) {
            log.info("CONFLICT: remote {} on {}.{} from node {}, resolution {}{}", c.type().sqlName(), c.schema(),
                    c.table(), c.remote().origin(), c.resolution().sqlName(),
                    c.error() == null ? "" : ": " + c.error().message());
        }
        if (toTable) {
            insertHistoryRow(c);
        }
    }

    /**
     * The local tuple is read here, by its {@code ctid}: so the conflict must be recorded before
     * its resolution changes the row.
     */
    private void insertHistoryRow(Conflict c) throws SQLException {
        String table = c.schema() == null ? null : SqlText.qualifiedName(c.schema(), c.table());
        String remoteTuple = includeTuples && c.remoteTupleJson() != null && table != null
                ? "pg_catalog.row_to_json(pg_catalog.json_populate_record(NULL::" + table + ", ?::json))"
                : "?::json";
        String localTuple = includeTuples && c.local() != null && c.local().ctid() != null
                ? "(SELECT pg_catalog.row_to_json(pgactive_row.*) FROM ONLY " + table
                        + " pgactive_row WHERE pgactive_row.ctid = ?::tid)"
                : "?::json";
        PreparedStatement ps = statements.get(insertSql("?", "?", "?", "?", "?::text::xid", "?", "?::pg_lsn",
                "?::pgactive.pgactive_conflict_type", "?::pgactive.pgactive_conflict_resolution", localTuple,
                remoteTuple, "?::text::xid", "?", "?", "?", "?", "?", "?", "?", "?", "?", "?", "?", "?"));
        LocalRow local = c.local();
        int i = 1;
        ps.setString(i++, self.sysid());
        ps.setString(i++, c.schema());
        ps.setString(i++, c.table());
        ps.setString(i++, c.remote().origin().sysid());
        ps.setString(i++, Long.toString(c.remote().xid()));
        ps.setObject(i++, PgTimestamps.toOffsetDateTime(c.remote().commitTimeMicros()));
        ps.setString(i++, c.remote().commitLsn().toString());
        ps.setString(i++, c.type().sqlName());
        ps.setString(i++, c.resolution().sqlName());
        ps.setString(i++, includeTuples && local != null ? local.ctid() : null);
        ps.setString(i++, includeTuples ? c.remoteTupleJson() : null);
        ps.setString(i++, local == null ? null : local.xmin());
        ps.setString(i++, local == null ? null : local.writer().sysid());
        ps.setLong(i++, c.remote().origin().timeline());
        ps.setLong(i++, c.remote().origin().dboid());
        setLongOrNull(ps, i++, local == null ? null : local.writer().timeline());
        setLongOrNull(ps, i++, local == null ? null : local.writer().dboid());
        ps.setObject(i++, local == null || local.commitTimeMicros() == null ? null
                : PgTimestamps.toOffsetDateTime(local.commitTimeMicros()), Types.TIMESTAMP_WITH_TIMEZONE);
        ps.setString(i++, ConflictReason.of(c));
        ServerError e = c.error();
        ps.setString(i++, e == null ? null : e.message());
        ps.setString(i++, e == null ? null : e.sqlState());
        ps.setString(i++, e == null ? null : e.detail());
        ps.setString(i++, e == null ? null : e.hint());
        ps.setString(i, e == null ? null : e.context());
        try {
            ps.executeUpdate();
        } finally {
            ps.clearParameters(); // the tuples can be large: see StatementCache
        }
    }

    /**
     * The history row's INSERT, given SQL for each value the conflict supplies (the rest the
     * server fills in), in this order: local node, schema, table, remote node, its xid, commit
     * time and LSN, conflict type and resolution, local and remote tuple (json), local xmin, local
     * writer's sysid, remote timeline and dboid, local writer's timeline and dboid, local commit
     * time, reason, error message, SQLSTATE, detail, hint and context.
     */
    private static String insertSql(String... values) {
        return "INSERT INTO pgactive.pgactive_conflict_history (local_node_sysid, object_schema, object_name,"
                + " remote_node_sysid, remote_txid, remote_commit_time, remote_commit_lsn, conflict_type,"
                + " conflict_resolution, local_tuple, remote_tuple, local_tuple_xmin, local_tuple_origin_sysid,"
                + " remote_node_timeline, remote_node_dboid, local_tuple_origin_timeline, local_tuple_origin_dboid,"
                + " local_commit_time, conflict_reason, error_message, error_sqlstate, error_detail, error_hint,"
                + " error_context, local_conflict_xid, local_conflict_lsn, local_conflict_time)"
                + " VALUES (" + String.join(", ", values) + ", (pg_catalog.pg_current_xact_id()::text::bigint"
                + " % 4294967296)::text::xid, pg_catalog.pg_current_wal_insert_lsn(), pg_catalog.now())";
    }

    /**
     * SQL recording a last-update-wins conflict that a compiled procedure resolved itself, or
     * nothing if the history is not kept; the arguments are SQL expressions (see {@link
     * ConflictReason#lastUpdateWinsSql}). {@code localWriter} is a text[] of the local row's
     * writer: sysid, timeline, dboid.
     */
    public String lastUpdateWinsSql(ConflictType type, String schema, String table, RemoteSql remote,
                                    String keptRemote, String localTuple, String remoteTupleJson, String localXmin,
                                    String localWriter, String localTime) {
        if (!toTable) {
            return "";
        }
        String qualified = SqlText.qualifiedName(schema, table);
        return insertSql(SqlText.literal(self.sysid()), SqlText.literal(schema), SqlText.literal(table),
                SqlText.literal(remote.origin().sysid()), remote.xid() + "::text::xid", remote.commitTime(),
                remote.commitLsn() + "::pg_lsn", SqlText.literal(type.sqlName()) + "::pgactive.pgactive_conflict_type",
                "CASE WHEN " + keptRemote + " THEN " + SqlText.literal(Resolution.LAST_UPDATE_WINS_KEEP_REMOTE.sqlName())
                        + " ELSE " + SqlText.literal(Resolution.LAST_UPDATE_WINS_KEEP_LOCAL.sqlName())
                        + " END::pgactive.pgactive_conflict_resolution",
                includeTuples ? localTuple : "NULL::json",
                includeTuples ? "pg_catalog.row_to_json(pg_catalog.json_populate_record(NULL::" + qualified + ", "
                        + remoteTupleJson + "))" : "NULL::json",
                localXmin + "::text::xid", "(" + localWriter + ")[1]", Long.toString(remote.origin().timeline()),
                Long.toString(remote.origin().dboid()), "(" + localWriter + ")[2]::bigint",
                "(" + localWriter + ")[3]::bigint", localTime,
                ConflictReason.lastUpdateWinsSql(type, keptRemote, localTime, "(" + localWriter + ")[1]",
                        remote.commitTime(), SqlText.literal(remote.origin().sysid())),
                "NULL", "NULL", "NULL", "NULL", "NULL");
    }

    /** The remote transaction in SQL: its origin, and expressions for its xid (text), commit time and LSN (text). */
    public record RemoteSql(NodeIdentity origin, String xid, String commitTime, String commitLsn) {
    }

    /** Whether resolved conflicts are also written to the server log (see {@link #logResolved}). */
    public boolean toLogfile() {
        return toLogfile;
    }

    /** Writes a conflict a procedure resolved to the server log, as {@link #record} does. */
    public void logResolved(String description) {
        log.info("CONFLICT: {}", description);
    }

    /**
     * Deletes history rows older than {@code pgactive.conflict_history_retention} (read here, so
     * that a reload takes effect at once; 0 keeps them).
     */
    public static void forgetExpired(Connection conn) throws SQLException {
        try (Statement st = conn.createStatement()) {
            st.executeUpdate("DELETE FROM pgactive.pgactive_conflict_history WHERE local_conflict_time < now()"
                    + " - pg_catalog.current_setting('pgactive.conflict_history_retention')::interval"
                    + " AND pg_catalog.current_setting('pgactive.conflict_history_retention') <> '0'");
        }
    }

    private static void setLongOrNull(PreparedStatement ps, int index, Long value) throws SQLException {
        if (value == null) {
            ps.setNull(index, Types.BIGINT);
        } else {
            ps.setLong(index, value);
        }
    }

}
