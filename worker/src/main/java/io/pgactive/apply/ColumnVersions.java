package io.pgactive.apply;

import io.pgactive.catalog.Names;
import io.pgactive.catalog.NodeIdentity;
import io.pgactive.conflict.LocalRow;
import io.pgactive.conn.StatementCache;
import io.pgactive.pgoutput.PgOutputMessage.Relation;
import io.pgactive.pgoutput.TupleData;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;

/**
 * {@code pgactive.pgactive_column_versions}: which transaction last wrote each column of a row of
 * a column-level table here, so that its commit time and node (PostgreSQL's, as for a row's
 * {@code xmin}) decide that column's conflicts. Local updates record theirs by trigger
 * ({@code pgactive._record_column_versions}); apply records the columns it takes. A column
 * with no entry has not changed since its row was inserted: it is older than any update.
 */
final class ColumnVersions {

    private final StatementCache statements;
    private final NodeIdentity self;

    ColumnVersions(StatementCache statements, NodeIdentity self) {
        this.statements = statements;
        this.self = self;
    }

    /** Each recorded column's last writer, as a "local row" version (no ctid). */
    Map<String, LocalRow> read(Relation rel, TupleData identity) throws SQLException {
        PreparedStatement ps = statements.get(
                "SELECT c.name, c.xid,"
                + " (extract(epoch FROM w.timestamp - '2000-01-01 00:00:00+00') * 1000000)::bigint, o.roname"
                + " FROM pgactive.pgactive_column_versions v, pg_catalog.jsonb_each_text(v.versions) AS c(name, xid),"
                + " pg_catalog.pg_xact_commit_timestamp_origin(xid(c.xid::xid8)) w"
                + " LEFT JOIN pg_catalog.pg_replication_origin o ON o.roident = w.roident"
                + " WHERE v.relname = format('%I.%I', ?, ?) AND v.key = " + RowKeys.expression(rel));
        RowKeys.bind(ps, 1, rel, identity, RowKeys.columns(rel));
        Map<String, LocalRow> versions = new HashMap<>();
        try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                long micros = rs.getLong(3);
                Long commitTime = rs.wasNull() ? null : micros;
                String origin = rs.getString(4);
                NodeIdentity writer = origin == null ? self : Names.originNode(origin).orElse(self);
                versions.put(rs.getString(1), new LocalRow(null, rs.getString(2), commitTime, writer));
            }
        }
        return versions;
    }

    /** Records that the current transaction wrote {@code columns} of the row. */
    void record(Relation rel, TupleData identity, Collection<String> columns) throws SQLException {
        PreparedStatement ps = statements.get(
                "INSERT INTO pgactive.pgactive_column_versions AS v (relname, key, versions)"
                + " SELECT format('%I.%I', ?, ?), " + RowKeys.expression(rel) + ","
                + "        pg_catalog.jsonb_object_agg(c, pg_catalog.pg_current_xact_id()::text) FROM unnest(?::text[]) c"
                + " ON CONFLICT (relname, key) DO UPDATE SET versions = v.versions || EXCLUDED.versions");
        int i = RowKeys.bind(ps, 1, rel, identity, RowKeys.columns(rel));
        ps.setArray(i, ps.getConnection().createArrayOf("text", columns.toArray()));
        ps.executeUpdate();
    }

    /** Forgets the row's versions: it was deleted. */
    void forget(Relation rel, TupleData identity) throws SQLException {
        PreparedStatement ps = statements.get("DELETE FROM pgactive.pgactive_column_versions"
                + " WHERE relname = format('%I.%I', ?, ?) AND key = " + RowKeys.expression(rel));
        RowKeys.bind(ps, 1, rel, identity, RowKeys.columns(rel));
        ps.executeUpdate();
    }
}
