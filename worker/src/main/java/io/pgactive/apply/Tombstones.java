package io.pgactive.apply;

import io.pgactive.catalog.NodeIdentity;
import io.pgactive.conflict.LocalRow;
import io.pgactive.conflict.RemoteTransaction;
import io.pgactive.conn.StatementCache;
import io.pgactive.pg.PgTimestamps;
import io.pgactive.pgoutput.PgOutputMessage.Relation;
import io.pgactive.pgoutput.TupleData;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * {@code pgactive.pgactive_tombstones}: which keys were deleted here, when and by whom. A remote
 * UPDATE of a row that is gone is judged last-update-wins against its tombstone; without one,
 * the update overtook its INSERT and is applied as one. Keys are {@link RowKeys}, as the
 * local-delete trigger writes them.
 */
final class Tombstones {

    /** The key of a whole table's tombstone, left by a TRUNCATE: it stands for every key. */
    static final String WHOLE_TABLE = "{}";

    private final StatementCache statements;

    Tombstones(StatementCache statements) {
        this.statements = statements;
    }

    /** Records a remote delete, keeping the newest one per key. */
    void record(Relation rel, TupleData identity, RemoteTransaction remote) throws SQLException {
        List<String> keys = RowKeys.columns(rel);
        if (keys.isEmpty()) {
            return;
        }
        PreparedStatement ps = statements.get(
                "INSERT INTO pgactive.pgactive_tombstones AS t (relname, key, deleted_at, origin_sysid)"
                + " VALUES (format('%I.%I', ?, ?), " + RowKeys.expression(rel) + ", ?, ?)"
                + " ON CONFLICT (relname, key) DO UPDATE SET deleted_at = EXCLUDED.deleted_at, deleting_xid = NULL,"
                + "   origin_sysid = EXCLUDED.origin_sysid"
                + " WHERE coalesce(t.deleted_at, pg_catalog.pg_xact_commit_timestamp(xid(t.deleting_xid)), '-infinity')"
                + "   < EXCLUDED.deleted_at");
        int i = RowKeys.bind(ps, 1, rel, identity, keys);
        ps.setObject(i++, PgTimestamps.toOffsetDateTime(remote.commitTimeMicros()));
        ps.setString(i, remote.origin().sysid());
        ps.executeUpdate();
    }

    /** Records a remote TRUNCATE of {@code rel}: a tombstone for the whole table, the newest kept. */
    void recordTruncate(Relation rel, RemoteTransaction remote) throws SQLException {
        PreparedStatement ps = statements.get(
                "INSERT INTO pgactive.pgactive_tombstones AS t (relname, key, deleted_at, origin_sysid)"
                + " VALUES (format('%I.%I', ?, ?), '" + WHOLE_TABLE + "', ?, ?)"
                + " ON CONFLICT (relname, key) DO UPDATE SET deleted_at = EXCLUDED.deleted_at, deleting_xid = NULL,"
                + "   origin_sysid = EXCLUDED.origin_sysid"
                + " WHERE coalesce(t.deleted_at, pg_catalog.pg_xact_commit_timestamp(xid(t.deleting_xid)), '-infinity')"
                + "   < EXCLUDED.deleted_at");
        ps.setString(1, rel.namespace());
        ps.setString(2, rel.name());
        ps.setObject(3, PgTimestamps.toOffsetDateTime(remote.commitTimeMicros()));
        ps.setString(4, remote.origin().sysid());
        ps.executeUpdate();
    }

    /**
     * The newest tombstone of a key, its own or its table's (a TRUNCATE), as a "local row" (its
     * deleter and time), for last-update-wins.
     */
    Optional<LocalRow> find(Relation rel, TupleData identity) throws SQLException {
        List<String> keys = RowKeys.columns(rel);
        if (keys.isEmpty()) {
            return Optional.empty();
        }
        PreparedStatement ps = statements.get(
                "SELECT " + DELETED_AT_MICROS + ", t.origin_sysid FROM pgactive.pgactive_tombstones t"
                + " WHERE t.relname = format('%I.%I', ?, ?) AND t.key IN (" + RowKeys.expression(rel) + ", '"
                + WHOLE_TABLE + "') ORDER BY 1 DESC NULLS LAST LIMIT 1");
        RowKeys.bind(ps, 1, rel, identity, keys);
        try (ResultSet rs = ps.executeQuery()) {
            return rs.next() ? Optional.of(deleter(rs, 1)) : Optional.empty();
        }
    }

    /** When a tombstone's key was deleted, as microseconds since 2000 (PostgreSQL's epoch). */
    private static final String DELETED_AT_MICROS = "(extract(epoch FROM coalesce(t.deleted_at,"
            + " pg_catalog.pg_xact_commit_timestamp(xid(t.deleting_xid))) - '2000-01-01 00:00:00+00') * 1000000)::bigint";

    /** The deleter of columns {@code first} (time) and {@code first + 1} (sysid), as a "local row" for last-update-wins. */
    private static LocalRow deleter(ResultSet rs, int first) throws SQLException {
        long micros = rs.getLong(first);
        Long when = rs.wasNull() ? null : micros;
        return new LocalRow(null, null, when, new NodeIdentity(rs.getString(first + 1), 0, 0));
    }

    /** A tombstone of {@code relation}: its key as JSON, and its deleter and time as a "local row". */
    record Found(Relation relation, String keyJson, LocalRow deleter) {
    }

    /** The tombstones of {@code tables} at least as new as {@code micros}: those a change of that time may lose to. */
    List<Found> notOlderThan(List<Relation> tables, long micros) throws SQLException {
        String[] namespaces = new String[tables.size()];
        String[] names = new String[tables.size()];
        for (int i = 0; i < names.length; i++) {
            namespaces[i] = tables.get(i).namespace();
            names[i] = tables.get(i).name();
        }
        List<Found> found = new ArrayList<>();
        PreparedStatement ps = statements.get(
                "SELECT r.i, t.key::text, " + DELETED_AT_MICROS + ", t.origin_sysid"
                + " FROM unnest(?::text[], ?::text[]) WITH ORDINALITY AS r(nspname, relname, i)"
                + " JOIN pgactive.pgactive_tombstones t ON t.relname = format('%I.%I', r.nspname, r.relname)"
                + " WHERE coalesce(t.deleted_at, pg_catalog.pg_xact_commit_timestamp(xid(t.deleting_xid))) >= ?");
        ps.setArray(1, statements.connection().createArrayOf("text", namespaces));
        ps.setArray(2, statements.connection().createArrayOf("text", names));
        ps.setObject(3, PgTimestamps.toOffsetDateTime(micros));
        try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                found.add(new Found(tables.get(rs.getInt(1) - 1), rs.getString(2), deleter(rs, 3)));
            }
        }
        return found;
    }

    /**
     * Forgets tombstones older than what every ready peer has since sent us: no change that
     * could lose against them can still arrive. A peer's horizon is its last commit applied here
     * or, for a peer that does not write, its last heartbeat applied here (see Heartbeat) less
     * {@value #CAUGHT_UP_MARGIN}: what it commits later carries a later commit time, give or take
     * the moment between taking a commit's time and logging it.
     */
    private static final String CAUGHT_UP_MARGIN = "5 seconds";

    static void collectGarbage(Connection conn) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement(
                "WITH peers AS (SELECT pgactive.pgactive_format_replident_name(n.node_sysid, n.node_timeline, n.node_dboid, l.dboid, '') AS origin"
                + "   FROM pgactive.pgactive_nodes n, pgactive.pgactive_get_local_nodeid() l"
                + "  WHERE n.node_status = 'r' AND (n.node_sysid, n.node_timeline, n.node_dboid) <> (l.sysid, l.timeline, l.dboid)),"
                + " horizon AS (SELECT CASE WHEN count(greatest(s.last_commit_time, s.caught_up_at)) = count(*)"
                + "   THEN min(greatest(s.last_commit_time, s.caught_up_at - '" + CAUGHT_UP_MARGIN + "'::interval)) END AS t"
                + "   FROM peers p LEFT JOIN pgactive.pgactive_apply_stats s ON s.riremoteid = p.origin)"
                + " DELETE FROM pgactive.pgactive_tombstones t USING horizon h"
                + " WHERE coalesce(t.deleted_at, pg_catalog.pg_xact_commit_timestamp(xid(t.deleting_xid))) < h.t")) {
            ps.executeUpdate();
        }
    }
}
