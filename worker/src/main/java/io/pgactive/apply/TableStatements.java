package io.pgactive.apply;

import io.pgactive.catalog.Names;
import io.pgactive.decode.PgOutputMessage.Relation;
import io.pgactive.decode.RelationColumn;
import io.pgactive.decode.TupleData;
import java.util.ArrayList;
import java.util.List;

/**
 * The SQL that applies one decoded change to the local copy of a table. Values travel in the
 * text format, typed by the server from the target column, which round-trips every type
 * (arrays, enums, domains, composites, ranges) without a conversion table of our own.
 *
 * <p>A statement and its parameter list are built together so that placeholders and values can
 * never drift apart.
 */
record TableStatements(String sql, List<String> parameters) {

    static String qualifiedName(Relation rel) {
        return Names.quoteIdentifier(rel.namespace()) + "." + Names.quoteIdentifier(rel.name());
    }

    static TableStatements insert(Relation rel, TupleData row, LocalColumns local) {
        StringBuilder cols = new StringBuilder();
        StringBuilder vals = new StringBuilder();
        List<String> params = new ArrayList<>();
        for (int i = 0; i < rel.columnCount(); i++) {
            if (row.isUnchangedToast(i)) {
                continue; // cannot happen for INSERT; kept so a bad stream fails in SQL, not here
            }
            if (!params.isEmpty()) {
                cols.append(", ");
                vals.append(", ");
            }
            cols.append(Names.quoteIdentifier(rel.column(i).name()));
            vals.append('?');
            params.add(row.textOrNull(i));
        }
        return new TableStatements("INSERT INTO " + qualifiedName(rel) + " (" + cols + ")" + local.overriding()
                + " VALUES (" + vals + ")", params);
    }

    /**
     * INSERT that does nothing when a row with the same replica identity key exists, so that a
     * conflict costs nothing until it happens. Other unique violations still raise errors: a row
     * that collides on several constraints cannot be resolved by replacing one row.
     */
    static TableStatements insertUnlessKeyExists(Relation rel, TupleData row, LocalColumns local) {
        TableStatements plain = insert(rel, row, local);
        StringBuilder keys = new StringBuilder();
        for (RelationColumn col : rel.columns()) {
            if (col.partOfKey()) {
                keys.append(keys.length() == 0 ? "" : ", ").append(Names.quoteIdentifier(col.name()));
            }
        }
        return new TableStatements(plain.sql() + " ON CONFLICT (" + keys + ") DO NOTHING", plain.parameters());
    }

    /**
     * The local row a change targets, locked, with its last writer's commit time and origin and
     * its JSON form for the conflict history.
     */
    static TableStatements lookup(Relation rel, TupleData identity, boolean fullRowIdentity) {
        // Aliases no user column is likely to have: a column named like an alias would capture it.
        StringBuilder sql = new StringBuilder("SELECT pgactive_row.ctid::text, pgactive_row.xmin::text,"
                + " (extract(epoch FROM pgactive_writer.timestamp - '2000-01-01 00:00:00+00') * 1000000)::bigint,"
                + " pgactive_origin.roname, row_to_json(pgactive_row.*)::text FROM ONLY ").append(qualifiedName(rel))
                .append(" pgactive_row LEFT JOIN LATERAL pg_catalog.pg_xact_commit_timestamp_origin(pgactive_row.xmin)"
                        + " pgactive_writer ON true LEFT JOIN pg_catalog.pg_replication_origin pgactive_origin"
                        + " ON pgactive_origin.roident = pgactive_writer.roident");
        List<String> params = new ArrayList<>();
        appendWhere(sql, params, rel, identity, fullRowIdentity, "pgactive_row.");
        sql.append(" LIMIT 1 FOR UPDATE OF pgactive_row");
        return new TableStatements(sql.toString(), params);
    }

    /** Sets every column the remote row carries (unchanged TOAST values stay) on one row. */
    static TableStatements updateRow(Relation rel, TupleData newRow, String ctid, LocalColumns local) {
        StringBuilder set = new StringBuilder();
        List<String> params = new ArrayList<>();
        for (int i = 0; i < rel.columnCount(); i++) {
            if (newRow.isUnchangedToast(i) || !local.updatable(rel.column(i).name())) {
                continue;
            }
            set.append(params.isEmpty() ? "" : ", ").append(Names.quoteIdentifier(rel.column(i).name())).append(" = ?");
            params.add(newRow.textOrNull(i));
        }
        params.add(ctid);
        return new TableStatements("UPDATE ONLY " + qualifiedName(rel) + " SET " + set + " WHERE ctid = ?::tid", params);
    }

    /** Replaces one row's replicated columns with those of a row given as JSON (a handler's result). */
    static TableStatements updateRowFromJson(Relation rel, String rowJson, String ctid, LocalColumns local) {
        String cols = columnList(rel, local);
        return new TableStatements("UPDATE ONLY " + qualifiedName(rel) + " SET (" + cols + ") = (SELECT " + cols
                + " FROM json_populate_record(NULL::" + qualifiedName(rel) + ", ?::json)) WHERE ctid = ?::tid",
                List.of(rowJson, ctid));
    }

    static TableStatements insertRowFromJson(Relation rel, String rowJson, LocalColumns local) {
        String cols = columnList(rel, LocalColumns.NONE);
        return new TableStatements("INSERT INTO " + qualifiedName(rel) + " (" + cols + ")" + local.overriding()
                + " SELECT " + cols
                + " FROM json_populate_record(NULL::" + qualifiedName(rel) + ", ?::json)", List.of(rowJson));
    }

    private static String columnList(Relation rel, LocalColumns local) {
        StringBuilder cols = new StringBuilder();
        for (RelationColumn col : rel.columns()) {
            if (local.updatable(col.name())) {
                cols.append(cols.length() == 0 ? "" : ", ").append(Names.quoteIdentifier(col.name()));
            }
        }
        return cols.toString();
    }

    static TableStatements deleteRow(Relation rel, String ctid) {
        return new TableStatements("DELETE FROM ONLY " + qualifiedName(rel) + " WHERE ctid = ?::tid", List.of(ctid));
    }

    /** @param alias prefix for column references (an alias and a dot, or ""), so joined tables cannot capture them */
    private static void appendWhere(StringBuilder sql, List<String> params, Relation rel, TupleData identity,
                                    boolean fullRowIdentity, String alias) {
        StringBuilder cond = new StringBuilder();
        for (int i = 0; i < rel.columnCount(); i++) {
            RelationColumn col = rel.column(i);
            if (!col.partOfKey() || identity.isUnchangedToast(i)) {
                continue;
            }
            if (cond.length() > 0) {
                cond.append(" AND ");
            }
            String column = (fullRowIdentity ? "" : alias) + Names.quoteIdentifier(col.name());
            if (fullRowIdentity) {
                cond.append(column).append("::text IS NOT DISTINCT FROM ?::text");
            } else {
                cond.append(column).append(" = ?");
            }
            params.add(identity.textOrNull(i));
        }
        if (cond.length() == 0) {
            throw new IllegalStateException("table " + qualifiedName(rel) + " has no replica identity columns");
        }
        if (fullRowIdentity) {
            sql.append(" WHERE ").append(alias).append("ctid = (SELECT ctid FROM ONLY ").append(qualifiedName(rel))
                    .append(" WHERE ").append(cond).append(" LIMIT 1)");
        } else {
            sql.append(" WHERE ").append(cond);
        }
    }

}
