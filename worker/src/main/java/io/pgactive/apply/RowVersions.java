package io.pgactive.apply;

import io.pgactive.catalog.NodeIdentity;
import io.pgactive.conflict.Frontier;
import io.pgactive.conflict.LocalRow;
import io.pgactive.conflict.RowVersion;
import io.pgactive.conn.StatementCache;
import io.pgactive.pgoutput.PgOutputMessage.Relation;
import io.pgactive.pgoutput.TupleData;
import java.sql.Array;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * {@code pgactive.pgactive_row_versions}: the versions of each row of a table with conflict
 * handlers that no change has superseded yet (see {@link io.pgactive.conflict.Frontier}). Local
 * writes record theirs by trigger ({@code pgactive._record_row_version}); apply records what it
 * made of a remote change.
 */
final class RowVersions {

    /**
     * What is recorded of a row.
     *
     * @param writtenBy the transaction that last wrote the row here (as its xmin reads); the record
     *                  describes the row only if the row's xmin is that one
     */
    private record Recorded(String writtenBy, List<RowVersion> versions) {
    }

    private final StatementCache statements;
    private final NodeIdentity self;

    RowVersions(StatementCache statements, NodeIdentity self) {
        this.statements = statements;
        this.self = self;
    }

    /**
     * The row's versions as recorded here (locked until the transaction ends). Where the record
     * does not describe the row {@code local} (null when there is none), because the row was
     * written without one (before the table had a handler, by a join's copy, a TRUNCATE), the
     * row's own version, or its tombstone's, as a version that had seen nothing.
     */
    Frontier held(Relation rel, TupleData identity, LocalRow local, Tombstones tombstones) throws SQLException {
        Optional<Recorded> recorded = read(rel, identity);
        if (local != null) {
            if (recorded.isPresent() && recorded.get().writtenBy().equals(local.xmin())) {
                return Frontier.of(recorded.get().versions());
            }
            return Frontier.of(List.of(new RowVersion(local.writer().sysid(), local.commitTimeMicros(), Map.of(),
                    RowVersion.Op.UPDATE, null)));
        }
        // With the row gone, a record of one row version is of a row deleted without one.
        if (recorded.isPresent() && !(recorded.get().versions().size() == 1
                && !recorded.get().versions().get(0).deleted())) {
            return Frontier.of(recorded.get().versions());
        }
        return Frontier.of(tombstones.find(rel, identity).map(t -> List.of(new RowVersion(t.writer().sysid(),
                t.commitTimeMicros(), Map.of(), RowVersion.Op.DELETE, null))).orElse(List.of()));
    }

    /** The row's record, locked until the transaction ends; empty when there is none. */
    private Optional<Recorded> read(Relation rel, TupleData identity) throws SQLException {
        PreparedStatement ps = statements.get(
                "SELECT xid(v.written_by)::text, m.v ->> 'op',"
                // a version recorded by its transaction: its writer and time are PostgreSQL's
                + " coalesce(m.v ->> 'node', CASE WHEN w.timestamp IS NULL THEN NULL WHEN w.roident = 0 THEN ?"
                + "          ELSE pg_catalog.split_part(o.roname, '_', 2) END),"
                + " coalesce((m.v ->> 'at')::bigint,"
                + "          (extract(epoch FROM w.timestamp - '2000-01-01 00:00:00+00') * 1000000)::bigint),"
                + " ARRAY(SELECT s.key FROM pg_catalog.jsonb_each_text(m.v -> 'seen') s ORDER BY s.key),"
                + " ARRAY(SELECT s.value::bigint FROM pg_catalog.jsonb_each_text(m.v -> 'seen') s ORDER BY s.key),"
                + " CASE WHEN pg_catalog.jsonb_typeof(m.v -> 'row') = 'object' THEN (m.v -> 'row')::text END"
                + " FROM pgactive.pgactive_row_versions v"
                + " CROSS JOIN LATERAL pg_catalog.jsonb_array_elements(v.versions) WITH ORDINALITY AS m(v, n)"
                + " LEFT JOIN LATERAL pg_catalog.pg_xact_commit_timestamp_origin(xid((m.v ->> 'xid')::xid8)) w ON true"
                + " LEFT JOIN pg_catalog.pg_replication_origin o ON o.roident = w.roident"
                + " WHERE v.relname = format('%I.%I', ?, ?) AND v.key = " + RowKeys.expression(rel)
                + " ORDER BY m.n FOR UPDATE OF v");
        ps.setString(1, self.sysid());
        RowKeys.bind(ps, 2, rel, identity, RowKeys.columns(rel));
        String writtenBy = null;
        List<RowVersion> versions = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                writtenBy = rs.getString(1);
                String writer = rs.getString(3);
                long at = rs.getLong(4);
                Long commitTime = rs.wasNull() || writer == null ? null : at;
                versions.add(new RowVersion(commitTime == null ? null : writer, commitTime,
                        seen(rs.getArray(5), rs.getArray(6)), RowVersion.Op.ofLetter(rs.getString(2)), rs.getString(7)));
            }
        }
        return writtenBy == null ? Optional.empty() : Optional.of(new Recorded(writtenBy, versions));
    }

    private static Map<String, Long> seen(Array nodes, Array times) throws SQLException {
        String[] n = (String[]) nodes.getArray();
        Long[] t = (Long[]) times.getArray();
        Map<String, Long> seen = new HashMap<>();
        for (int i = 0; i < n.length; i++) {
            seen.put(n[i], t[i]);
        }
        return seen;
    }

    /**
     * Records the current transaction's change as the row's one version, as a local write's
     * trigger does: its writer and time are the transaction's (the remote ones, under its origin).
     */
    void recordChange(Relation rel, TupleData identity, RowVersion change) throws SQLException {
        PreparedStatement ps = statements.get(upsert(rel,
                "pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('xid', pg_catalog.pg_current_xact_id()::text,"
                + " 'seen', ?::jsonb, 'op', ?))"));
        int i = RowKeys.bind(ps, 1, rel, identity, RowKeys.columns(rel));
        ps.setString(i++, json(change.seen()));
        ps.setString(i++, change.op().letter());
        ps.setString(i, json(seenThrough(List.of(change))));
        ps.executeUpdate();
    }

    /** Records the versions that met, each with its values: the row here is their merge. */
    void recordConcurrent(Relation rel, TupleData identity, List<RowVersion> versions) throws SQLException {
        PreparedStatement ps = statements.get(upsert(rel,
                "(SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('node', m.node, 'at', m.at,"
                + "   'seen', m.seen::jsonb, 'op', m.op, 'row', m.row::jsonb) ORDER BY m.n)"
                + " FROM unnest(?::text[], ?::bigint[], ?::text[], ?::text[], ?::text[])"
                + "      WITH ORDINALITY AS m(node, at, seen, op, row, n))"));
        int i = RowKeys.bind(ps, 1, rel, identity, RowKeys.columns(rel));
        var conn = ps.getConnection();
        ps.setArray(i++, conn.createArrayOf("text", versions.stream().map(RowVersion::writer).toArray()));
        ps.setArray(i++, conn.createArrayOf("int8", versions.stream().map(RowVersion::commitTimeMicros).toArray()));
        ps.setArray(i++, conn.createArrayOf("text", versions.stream().map(v -> json(v.seen())).toArray()));
        ps.setArray(i++, conn.createArrayOf("text", versions.stream().map(v -> v.op().letter()).toArray()));
        ps.setArray(i++, conn.createArrayOf("text", versions.stream().map(RowVersion::rowJson).toArray()));
        ps.setString(i, json(seenThrough(versions)));
        ps.executeUpdate();
    }

    /**
     * The row's record, written by the current transaction: the key's parameters, then those of
     * {@code versions} (SQL for the versions array), then the record's seen.
     */
    private static String upsert(Relation rel, String versions) {
        return "INSERT INTO pgactive.pgactive_row_versions AS v (relname, key, written_by, versions, seen)"
                + " SELECT format('%I.%I', ?, ?), " + RowKeys.expression(rel) + ", pg_catalog.pg_current_xact_id(), "
                + versions + ", ?::jsonb"
                + " ON CONFLICT (relname, key) DO UPDATE"
                + " SET written_by = EXCLUDED.written_by, versions = EXCLUDED.versions, seen = EXCLUDED.seen";
    }

    /** What a local write of a row holding {@code versions} has seen: them, and all they had seen. */
    private static Map<String, Long> seenThrough(List<RowVersion> versions) {
        Map<String, Long> seen = new HashMap<>();
        for (RowVersion v : versions) {
            v.seen().forEach((node, at) -> seen.merge(node, at, Math::max));
            if (v.writer() != null && v.commitTimeMicros() != null) {
                seen.merge(v.writer(), v.commitTimeMicros(), Math::max);
            }
        }
        return seen;
    }

    /** Node sysids are digits, times numbers: nothing to escape. */
    private static String json(Map<String, Long> seen) {
        return seen.entrySet().stream().map(e -> "\"" + e.getKey() + "\":" + e.getValue())
                .collect(Collectors.joining(",", "{", "}"));
    }
}
