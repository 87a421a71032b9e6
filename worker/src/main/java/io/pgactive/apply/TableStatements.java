package io.pgactive.apply;

import io.pgactive.pg.SqlText;
import io.pgactive.pgoutput.PgOutputMessage.Relation;
import io.pgactive.pgoutput.RelationColumn;
import io.pgactive.pgoutput.TupleData;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

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
        return SqlText.qualifiedName(rel.namespace(), rel.name());
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
            cols.append(SqlText.identifier(rel.column(i).name()));
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
                keys.append(keys.length() == 0 ? "" : ", ").append(SqlText.identifier(col.name()));
            }
        }
        return new TableStatements(plain.sql() + " ON CONFLICT (" + keys + ") DO NOTHING", plain.parameters());
    }

    /**
     * Many rows in one statement, one text array per column ({@code ?::text[]}, in column order),
     * each value cast to the local column's type, in one executor run. Rows whose key exists
     * are skipped and their 1-based positions in the arrays returned, for the conflict path.
     */
    static String insertRowsUnlessKeyExists(Relation rel, LocalColumns local) {
        StringBuilder arrays = new StringBuilder();
        StringBuilder aliases = new StringBuilder();
        StringBuilder cols = new StringBuilder();
        StringBuilder values = new StringBuilder();
        StringBuilder keys = new StringBuilder();
        StringBuilder keyMatch = new StringBuilder();
        for (int i = 0; i < rel.columnCount(); i++) {
            RelationColumn col = rel.column(i);
            String name = SqlText.identifier(col.name());
            String sep = i == 0 ? "" : ", ";
            String value = "pgactive_c" + i + "::" + local.type(col.name());
            arrays.append(sep).append("?::text[]");
            aliases.append(sep).append("pgactive_c").append(i);
            cols.append(sep).append(name);
            values.append(sep).append(value);
            if (col.partOfKey()) {
                keys.append(keys.length() == 0 ? "" : ", ").append(name);
                keyMatch.append(keyMatch.length() == 0 ? "" : " AND ").append("pgactive_inserted.").append(name)
                        .append(" = pgactive_rows.").append(value);
            }
        }
        String rows = "SELECT * FROM unnest(" + arrays + ") WITH ORDINALITY AS pgactive_rows(" + aliases
                + ", pgactive_n)";
        String insert = "INSERT INTO " + qualifiedName(rel) + " (" + cols + ")" + local.overriding() + " SELECT "
                + values + " FROM pgactive_rows ORDER BY pgactive_n";
        return "WITH pgactive_rows AS (" + rows + "), pgactive_inserted AS (" + insert + " ON CONFLICT (" + keys
                + ") DO NOTHING RETURNING " + keys + ") SELECT pgactive_n FROM pgactive_rows WHERE NOT EXISTS"
                + " (SELECT 1 FROM pgactive_inserted WHERE " + keyMatch + ")";
    }

    /** {@code COPY ... FROM STDIN} into the relation's columns, for {@link CopyText} rows. */
    static String copyRows(Relation rel) {
        StringBuilder cols = new StringBuilder();
        for (RelationColumn col : rel.columns()) {
            cols.append(cols.length() == 0 ? "" : ", ").append(SqlText.identifier(col.name()));
        }
        return "COPY " + qualifiedName(rel) + " (" + cols + ") FROM STDIN";
    }

    /**
     * Whether any of many keys exists here: one text array per key column ({@code ?::text[]},
     * in column order), each value cast to the local column's type. One row back means yes.
     */
    static String anyKeyExists(Relation rel, LocalColumns local) {
        StringBuilder arrays = new StringBuilder();
        StringBuilder aliases = new StringBuilder();
        StringBuilder match = new StringBuilder();
        int k = 0;
        for (RelationColumn col : rel.columns()) {
            if (col.partOfKey()) {
                String sep = k == 0 ? "" : ", ";
                arrays.append(sep).append("?::text[]");
                aliases.append(sep).append("pgactive_k").append(k);
                match.append(k == 0 ? "" : " AND ").append("pgactive_row.").append(SqlText.identifier(col.name()))
                        .append(" = pgactive_keys.pgactive_k").append(k).append("::").append(local.type(col.name()));
                k++;
            }
        }
        return "SELECT 1 FROM unnest(" + arrays + ") AS pgactive_keys(" + aliases + ") WHERE EXISTS (SELECT 1 FROM "
                + qualifiedName(rel) + " pgactive_row WHERE " + match + ") LIMIT 1";
    }

    /** The last writer of {@code pgactive_row}'s version: its commit time and replication origin id. */
    static final String ROW_WRITER = "pg_catalog.pg_xact_commit_timestamp_origin(pgactive_row.xmin)";

    /**
     * The local row a change targets, locked, with its last writer's commit time and origin.
     *
     * @param rewrittenBy the transaction that last rewrote the table here, or null (see CopiedRows)
     */
    static TableStatements lookup(Relation rel, TupleData identity, boolean fullRowIdentity, String rewrittenBy) {
        // Aliases no user column is likely to have: a column named like an alias would capture it.
        // The writer is read by subqueries of the select list, not a LATERAL join: when the row
        // lock waits for a concurrent update, PostgreSQL re-reads only the locked row, and a
        // joined function's result would still describe the version before the wait, so a
        // newer local write would be judged by its predecessor's time and origin.
        StringBuilder sql = new StringBuilder("SELECT pgactive_row.ctid::text, pgactive_row.xmin::text,"
                + " (SELECT (extract(epoch FROM pgactive_writer.timestamp - '2000-01-01 00:00:00+00') * 1000000)::bigint"
                + " FROM " + ROW_WRITER + " pgactive_writer),"
                + " (SELECT pgactive_origin.roname FROM " + ROW_WRITER
                + " pgactive_writer JOIN pg_catalog.pg_replication_origin pgactive_origin"
                + " ON pgactive_origin.roident = pgactive_writer.roident),"
                // a local rewrite's row version, which counts as the oldest (see CopiedRows)
                + " (pgactive_row.xmin = ?::xid) IS TRUE"
                + " FROM ONLY ").append(qualifiedName(rel)).append(" pgactive_row");
        List<String> params = new ArrayList<>();
        params.add(rewrittenBy);
        appendWhere(sql, params, rel, identity, fullRowIdentity, "pgactive_row.");
        sql.append(" LIMIT 1 FOR UPDATE OF pgactive_row");
        return new TableStatements(sql.toString(), params);
    }

    /**
     * When changing a local row is not a conflict, so one statement can both find and change it:
     * its last write came from {@code origin} (the change's own), or it is older than anything
     * that can arrive: no commit time (frozen, or written earlier in this very transaction), or
     * a row a join copied before {@code copiedBefore} (null when the table has rows with known
     * true writers; see CopiedRows). Everything else takes the careful path in Applier.
     */
    record Uncontested(int originId, String copiedBefore, String rewrittenBy) {

        /** Catch-up replays what the upstream did, so any row is fair game. */
        static final Uncontested ALWAYS = new Uncontested(0, null, null);

        private void appendTo(StringBuilder sql, List<String> params) {
            if (this == ALWAYS) {
                return;
            }
            // The origin's id is a number of ours, and statements are cached per text: inlined.
            sql.append(" AND ").append(condition("?::timestamptz", Integer.toString(originId), "?::xid"));
            params.add(rewrittenBy);
            params.add(copiedBefore);
        }

        /**
         * The condition on {@code pgactive_row}, given SQL for the ready time and for the origin's
         * id (a placeholder or a literal). It runs as the table's owner, who may not call the
         * superuser-only origin functions: the id is looked up beforehand. The
         * writer is looked up once when the row is the origin's own, the usual case, and twice
         * otherwise; a subquery over the function instead costs each execution a function scan
         * to set up, about 8% of a TPC-B transaction's apply. Either way the condition reads the
         * version the statement changes: a row updated concurrently is re-checked on its new
         * version after the row lock (see conflicts.md).
         */
        static String condition(String copiedBeforeSql, String originIdSql, String rewrittenBySql) {
            // No commit time (frozen, or commit timestamps were off) shows as a null roident and
            // timestamp. A row a local rewrite wrote last is as old as a copied one (CopiedRows).
            return "((pgactive_row.xmin = " + rewrittenBySql + ") IS TRUE OR CASE (" + ROW_WRITER + ").roident WHEN "
                    + originIdSql + " THEN true"
                    + " WHEN 0 THEN (" + ROW_WRITER + ").timestamp < " + copiedBeforeSql
                    + " ELSE (" + ROW_WRITER + ").timestamp IS NULL END)";
        }
    }

    /**
     * Whether {@code pgactive_row}'s version is the one its author named, or an earlier one by
     * the same writer: the rule of {@code PriorVersion#covers}, given SQL for the writer's
     * origin id here and the version's commit time.
     */
    static String isVersionOrEarlier(String writerIdSql, String commitTimeSql) {
        return "((" + ROW_WRITER + ").roident = " + writerIdSql + " AND (" + ROW_WRITER + ").timestamp <= "
                + commitTimeSql + ")";
    }

    /** UPDATE of the row with the change's identity if that is {@link Uncontested}; updates 0 rows otherwise. */
    static TableStatements updateIfUncontested(Relation rel, TupleData identity, boolean fullRowIdentity,
                                               TupleData newRow, LocalColumns local, Uncontested check) {
        StringBuilder sql = new StringBuilder("UPDATE ONLY ").append(qualifiedName(rel)).append(" pgactive_row SET ");
        List<String> params = new ArrayList<>();
        appendSet(sql, params, rel, newRow, local);
        appendWhere(sql, params, rel, identity, fullRowIdentity, "pgactive_row.");
        check.appendTo(sql, params);
        return new TableStatements(sql.toString(), params);
    }

    /** DELETE of the row with the change's identity if that is {@link Uncontested}; deletes 0 rows otherwise. */
    static TableStatements deleteIfUncontested(Relation rel, TupleData identity, boolean fullRowIdentity,
                                               Uncontested check) {
        StringBuilder sql = new StringBuilder("DELETE FROM ONLY ").append(qualifiedName(rel)).append(" pgactive_row");
        List<String> params = new ArrayList<>();
        appendWhere(sql, params, rel, identity, fullRowIdentity, "pgactive_row.");
        check.appendTo(sql, params);
        return new TableStatements(sql.toString(), params);
    }

    /** Sets every column the remote row carries (unchanged TOAST values stay) on one row. */
    static TableStatements updateRow(Relation rel, TupleData newRow, String ctid, LocalColumns local) {
        StringBuilder sql = new StringBuilder("UPDATE ONLY ").append(qualifiedName(rel)).append(" SET ");
        List<String> params = new ArrayList<>();
        appendSet(sql, params, rel, newRow, local);
        sql.append(" WHERE ctid = ?::tid");
        params.add(ctid);
        return new TableStatements(sql.toString(), params);
    }

    /**
     * Merges a remote update into one row column by column (Applier#merge): the {@code taken}
     * columns get their new values; each of {@code counters} (column -> value before the update
     * on its origin) adds what the update added there, a NULL counting as 0.
     */
    static TableStatements updateColumns(Relation rel, TupleData newRow, String ctid, LocalColumns local,
                                         Set<String> taken, Map<String, String> counters) {
        StringBuilder sql = new StringBuilder("UPDATE ONLY ").append(qualifiedName(rel)).append(" SET ");
        List<String> params = new ArrayList<>();
        boolean first = !appendSet(sql, params, rel, newRow, local, taken::contains);
        for (int i = 0; i < rel.columnCount(); i++) {
            String name = rel.column(i).name();
            if (!counters.containsKey(name) || newRow.isUnchangedToast(i) || !local.updatable(name)) {
                continue;
            }
            String column = SqlText.identifier(name);
            String type = local.type(name);
            sql.append(first ? "" : ", ").append(column).append(" = coalesce(").append(column)
                    .append(", 0) + (coalesce(?::").append(type).append(", 0) - coalesce(?::").append(type)
                    .append(", 0))");
            params.add(newRow.textOrNull(i));
            params.add(counters.get(name));
            first = false;
        }
        sql.append(" WHERE ctid = ?::tid");
        params.add(ctid);
        return new TableStatements(sql.toString(), params);
    }

    private static void appendSet(StringBuilder sql, List<String> params, Relation rel, TupleData newRow,
                                  LocalColumns local) {
        appendSet(sql, params, rel, newRow, local, column -> true);
    }

    /** Sets the columns {@code include} names that the remote row carries; whether it set any. */
    private static boolean appendSet(StringBuilder sql, List<String> params, Relation rel, TupleData newRow,
                                     LocalColumns local, Predicate<String> include) {
        boolean first = true;
        for (int i = 0; i < rel.columnCount(); i++) {
            String name = rel.column(i).name();
            if (newRow.isUnchangedToast(i) || !local.updatable(name) || !include.test(name)) {
                continue;
            }
            sql.append(first ? "" : ", ").append(SqlText.identifier(name)).append(" = ?");
            params.add(newRow.textOrNull(i));
            first = false;
        }
        return !first;
    }

    /** Replaces one row's replicated columns with those of a row given as JSON (a handler's result). */
    static TableStatements updateRowFromJson(Relation rel, String rowJson, String ctid, LocalColumns local) {
        String cols = columnList(rel, local);
        return new TableStatements("UPDATE ONLY " + qualifiedName(rel) + " SET (" + cols + ") = (SELECT " + cols
                + " FROM pg_catalog.json_populate_record(NULL::" + qualifiedName(rel) + ", ?::json)) WHERE ctid = ?::tid",
                List.of(rowJson, ctid));
    }

    static TableStatements insertRowFromJson(Relation rel, String rowJson, LocalColumns local) {
        String cols = columnList(rel, LocalColumns.NONE);
        return new TableStatements("INSERT INTO " + qualifiedName(rel) + " (" + cols + ")" + local.overriding()
                + " SELECT " + cols
                + " FROM pg_catalog.json_populate_record(NULL::" + qualifiedName(rel) + ", ?::json)", List.of(rowJson));
    }

    /** The same, inserting nothing if the key exists by then (a concurrent insert of it committed). */
    static TableStatements insertRowFromJsonUnlessKeyExists(Relation rel, String rowJson, LocalColumns local) {
        TableStatements insert = insertRowFromJson(rel, rowJson, local);
        return new TableStatements(insert.sql() + " ON CONFLICT DO NOTHING", insert.parameters());
    }

    private static String columnList(Relation rel, LocalColumns local) {
        StringBuilder cols = new StringBuilder();
        for (RelationColumn col : rel.columns()) {
            if (local.updatable(col.name())) {
                cols.append(cols.length() == 0 ? "" : ", ").append(SqlText.identifier(col.name()));
            }
        }
        return cols.toString();
    }

    /**
     * Deletes the row with the key of a tombstone ({@code keyJson}, as the tombstone holds it) if
     * this transaction wrote it (no commit time yet), returning the row as JSON.
     */
    static TableStatements deleteOwnRowByKey(Relation rel, String keyJson) {
        StringBuilder keys = new StringBuilder();
        StringBuilder rowKeys = new StringBuilder();
        for (RelationColumn col : rel.columns()) {
            if (col.partOfKey()) {
                String sep = keys.length() == 0 ? "" : ", ";
                keys.append(sep).append(SqlText.identifier(col.name()));
                rowKeys.append(sep).append("pgactive_row.").append(SqlText.identifier(col.name()));
            }
        }
        // The key is made typed by the table's own row type, as the tombstone made it JSON from it.
        return new TableStatements("DELETE FROM ONLY " + qualifiedName(rel) + " pgactive_row WHERE (" + rowKeys
                + ") = (SELECT " + keys + " FROM pg_catalog.jsonb_populate_record(NULL::" + qualifiedName(rel)
                + ", ?::jsonb)) AND pg_catalog.pg_xact_commit_timestamp(pgactive_row.xmin) IS NULL"
                + " RETURNING pg_catalog.row_to_json(pgactive_row.*)::text", List.of(keyJson));
    }

    /** DELETE of the rows the current transaction wrote in {@code rel}, returning them as JSON. */
    static TableStatements deleteOwnRows(Relation rel) {
        return new TableStatements("DELETE FROM ONLY " + qualifiedName(rel) + " pgactive_row"
                + " WHERE pgactive_row.xmin = pg_catalog.pg_current_xact_id()::xid"
                + " RETURNING pg_catalog.row_to_json(pgactive_row.*)::text", List.of());
    }

    /**
     * The condition on {@code pgactive_row} of a row written after a TRUNCATE at the first
     * parameter (a timestamp), which the TRUNCATE must leave: its last write is known and later,
     * and not a local rewrite's (the second parameter, an xid or null; see CopiedRows).
     */
    private static final String WRITTEN_AFTER = "(pg_catalog.pg_xact_commit_timestamp(pgactive_row.xmin) > ?::timestamptz"
            + " AND (pgactive_row.xmin = ?::xid) IS NOT TRUE)";

    /** Whether {@code rel} has rows a TRUNCATE of that time must leave; see {@link #WRITTEN_AFTER}. */
    static TableStatements anyWrittenAfter(Relation rel, String truncatedAt, String rewrittenBy) {
        return new TableStatements("SELECT EXISTS (SELECT 1 FROM ONLY " + qualifiedName(rel) + " pgactive_row WHERE "
                + WRITTEN_AFTER + ")", java.util.Arrays.asList(truncatedAt, rewrittenBy));
    }

    /** DELETE of the rows of {@code rel} a TRUNCATE of that time removes; see {@link #WRITTEN_AFTER}. */
    static TableStatements deleteWrittenBefore(Relation rel, String truncatedAt, String rewrittenBy) {
        return new TableStatements("DELETE FROM ONLY " + qualifiedName(rel) + " pgactive_row WHERE NOT coalesce("
                + WRITTEN_AFTER + ", false)", java.util.Arrays.asList(truncatedAt, rewrittenBy));
    }

    /** The row version at {@code ctid} as JSON (for a conflict handler). */
    static TableStatements rowJson(Relation rel, String ctid) {
        return new TableStatements("SELECT pg_catalog.row_to_json(pgactive_row.*)::text FROM ONLY " + qualifiedName(rel)
                + " pgactive_row WHERE pgactive_row.ctid = ?::tid", List.of(ctid));
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
            String column = (fullRowIdentity ? "" : alias) + SqlText.identifier(col.name());
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
