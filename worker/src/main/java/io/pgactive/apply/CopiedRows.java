package io.pgactive.apply;

import io.pgactive.catalog.NodeIdentity;
import io.pgactive.conflict.LocalRow;
import io.pgactive.pg.PgTimestamps;
import io.pgactive.pgoutput.PgOutputMessage.Relation;
import io.pgactive.pgoutput.RelationColumn;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * Honest last writers for rows a join copied (DESIGN.md, "Copied rows need honest timestamps"),
 * and the same rule for the rows a group was created with: written here before the node was
 * ready, they are the group's initial data, which every node holds as the creator had it.
 * Such a row looks like a local write made during the join. If the upstream changed it after the
 * join started, {@code pgactive_copied_row_times} holds its true writer and time; otherwise its
 * last write is older than any change that can still arrive, so it counts as the oldest.
 */
final class CopiedRows {

    private final ApplySession session;
    private final NodeIdentity self;
    /** Its answers are mostly cached: it switches to the worker's role only when it reads the catalog. */
    private final ApplyRoles roles;
    private final Long readyAtMicros;
    /** The same moment as SQL text, for statements; null with it. */
    private final String readyAt;
    private final LocalTables tables;

    CopiedRows(ApplySession session, NodeIdentity self, ApplyRoles roles, LocalTables tables) throws SQLException {
        this.session = session;
        this.tables = tables;
        this.self = self;
        this.roles = roles;
        try (Statement st = session.connection().createStatement(); ResultSet rs = st.executeQuery(
                "SELECT (extract(epoch FROM ready_at - '2000-01-01 00:00:00+00') * 1000000)::bigint"
                + " FROM pgactive.pgactive_local_state")) {
            Long micros = null;
            if (rs.next()) {
                long v = rs.getLong(1);
                micros = rs.wasNull() ? null : v;
            }
            this.readyAtMicros = micros;
            this.readyAt = micros == null ? null : PgTimestamps.toOffsetDateTime(micros).toString();
        }
    }

    /**
     * Before when a row of {@code rel} written locally must have been copied by the join and so be
     * older than anything, as {@link TableStatements.Uncontested} wants it; null when that cannot
     * be told from the commit time alone (not ready yet, or the join recorded true writers for the table).
     */
    String copiedBefore(Relation rel) throws SQLException {
        return readyAtMicros == null || tables.of(rel).facts().copiedTrueWriters() ? null : readyAt;
    }

    /**
     * The transaction that last rewrote {@code rel} here (ALTER TABLE ... TYPE and the like), or
     * null, as read with the table: a rewrite makes itself every row's last writer, so rows it
     * wrote count as older than any change still to come, like copied ones. Read again when the
     * session notices local DDL (see BufferedApplier), and at once where it decides ({@link #rewrittenByNow}).
     */
    String rewrittenBy(Relation rel) throws SQLException {
        return tables.of(rel).facts().rewrittenBy();
    }

    LocalRow honest(Relation rel, LocalRow row) throws SQLException {
        if (!row.writer().equals(self) || row.commitTimeMicros() == null) {
            return row;
        }
        if (row.xmin().equals(rewrittenByNow(rel))) {
            return new LocalRow(row.ctid(), row.xmin(), null, row.writer());
        }
        if (readyAtMicros == null || row.commitTimeMicros() >= readyAtMicros) {
            return row;
        }
        List<String> keys = new ArrayList<>();
        for (RelationColumn c : rel.columns()) {
            if (c.partOfKey()) {
                keys.add(c.name());
            }
        }
        roles.becomeWorker();
        try (PreparedStatement ps = session.connection().prepareStatement(
                "SELECT (extract(epoch FROM commit_time - '2000-01-01 00:00:00+00') * 1000000)::bigint,"
                + " origin_sysid, origin_timeline, origin_dboid FROM pgactive.pgactive_copied_row_times"
                + " WHERE relname = format('%I.%I', ?, ?)"
                + " AND key = (SELECT pg_catalog.jsonb_object_agg(k.name, pg_catalog.to_jsonb(r.*) -> k.name)"
                + " FROM ONLY " + TableStatements.qualifiedName(rel) + " r, unnest(?::text[]) AS k(name)"
                + " WHERE r.ctid = ?::tid)")) {
            ps.setString(1, rel.namespace());
            ps.setString(2, rel.name());
            ps.setArray(3, session.connection().createArrayOf("text", keys.toArray()));
            ps.setString(4, row.ctid());
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return new LocalRow(row.ctid(), row.xmin(), null, row.writer());
                }
                return new LocalRow(row.ctid(), row.xmin(), rs.getLong(1),
                        new NodeIdentity(rs.getString(2), rs.getLong(3), rs.getLong(4)));
            }
        }
    }

    /**
     * {@link #rewrittenBy} as committed now. A change can wait for a rewrite's lock inside its
     * transaction, where the notice of that DDL cannot reach the session until it ends: what
     * decides against local rows reads it again (statements built from the cached one only miss
     * rows, which then take the careful path).
     */
    String rewrittenByNow(Relation rel) throws SQLException {
        roles.becomeWorker();
        try (PreparedStatement ps = session.connection().prepareStatement(
                "SELECT xid::text FROM pgactive.pgactive_rewritten_tables WHERE relid = pg_catalog.to_regclass(?)")) {
            ps.setString(1, TableStatements.qualifiedName(rel));
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }
}
