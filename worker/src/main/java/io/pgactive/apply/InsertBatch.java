package io.pgactive.apply;

import io.pgactive.decode.PgOutputMessage.Relation;
import io.pgactive.decode.TupleData;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.List;

/**
 * Consecutive INSERTs into one table, sent to the server together: pgjdbc pipelines a batch in
 * one round trip, which is what lets bulk loads apply at the server's own speed. Any other change
 * flushes the batch first, so the order of changes within a transaction is kept.
 */
final class InsertBatch {

    static final int MAX_ROWS = 1000;

    private Relation relation;
    private String sql;
    private final List<TupleData> rows = new ArrayList<>();
    private final List<List<String>> parameters = new ArrayList<>();

    boolean isEmpty() {
        return rows.isEmpty();
    }

    /** Whether the row can join the batch: same table, same statement. */
    boolean accepts(Relation rel, TableStatements stmt) {
        return rows.isEmpty() || (rel.relationOid() == relation.relationOid() && stmt.sql().equals(sql));
    }

    void add(Relation rel, TableStatements stmt, TupleData row) {
        relation = rel;
        sql = stmt.sql();
        rows.add(row);
        parameters.add(stmt.parameters());
    }

    /** A check on one row that may talk to the server. */
    interface RowFilter {
        boolean test(TupleData row) throws SQLException;
    }

    /** Drops the rows {@code skip} picks, before the batch is sent. */
    void removeIf(RowFilter skip) throws SQLException {
        for (int i = rows.size() - 1; i >= 0; i--) {
            if (skip.test(rows.get(i))) {
                rows.remove(i);
                parameters.remove(i);
            }
        }
    }

    boolean isFull() {
        return rows.size() >= MAX_ROWS;
    }

    Relation relation() {
        return relation;
    }

    /** Executes the batch; returns the rows that inserted nothing (their key already existed). */
    List<TupleData> execute(StatementCache statements) throws SQLException {
        if (rows.isEmpty()) {
            return List.of();
        }
        PreparedStatement ps = statements.get(sql);
        for (List<String> params : parameters) {
            for (int i = 0; i < params.size(); i++) {
                ps.setObject(i + 1, params.get(i), Types.OTHER);
            }
            ps.addBatch();
        }
        int[] counts = ps.executeBatch();
        List<TupleData> notInserted = new ArrayList<>();
        for (int i = 0; i < counts.length; i++) {
            if (counts[i] == 0) {
                notInserted.add(rows.get(i));
            }
        }
        clear();
        return notInserted;
    }

    void clear() {
        rows.clear();
        parameters.clear();
    }
}
