package io.pgactive.apply;

import io.pgactive.decode.PgOutputMessage.Relation;
import io.pgactive.decode.TupleData;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.List;

/**
 * Consecutive INSERTs into one table, sent to the server together. A few rows go as one
 * prepared INSERT each, pipelined in one round trip; more go as a single statement carrying
 * one text array per column, which the server inserts in one executor run: that is what lets
 * bulk loads apply at the server's own speed. Any other change flushes the batch first, so the
 * order of changes within a transaction is kept.
 */
final class InsertBatch {

    static final int MAX_ROWS = 1000;
    /** From this many rows on, the array statement beats a statement per row. */
    static final int ARRAY_MIN_ROWS = 16;

    private Relation relation;
    private LocalColumns local;
    private boolean unlessKeyExists;
    private final List<TupleData> rows = new ArrayList<>();

    boolean isEmpty() {
        return rows.isEmpty();
    }

    /** Whether a row of {@code rel} can join the batch. */
    boolean accepts(Relation rel) {
        return rows.isEmpty() || rel.relationOid() == relation.relationOid();
    }

    /** @param unlessKeyExists skip (and report) rows whose replica identity key exists */
    void add(Relation rel, LocalColumns columns, boolean unlessKeyExists, TupleData row) {
        this.relation = rel;
        this.local = columns;
        this.unlessKeyExists = unlessKeyExists;
        rows.add(row);
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
            }
        }
    }

    boolean isFull() {
        return rows.size() >= MAX_ROWS;
    }

    Relation relation() {
        return relation;
    }

    /** The rows batched so far. */
    List<TupleData> rows() {
        return List.copyOf(rows);
    }

    /** Executes the batch; returns the rows that inserted nothing (their key already existed). */
    List<TupleData> execute(StatementCache statements) throws SQLException {
        try {
            if (rows.isEmpty()) {
                return List.of();
            }
            return rows.size() < ARRAY_MIN_ROWS ? rowByRow(statements) : ready().execute(statements);
        } finally {
            clear();
        }
    }

    private List<TupleData> rowByRow(StatementCache statements) throws SQLException {
        PreparedStatement ps = null;
        for (TupleData row : rows) {
            TableStatements stmt = unlessKeyExists ? TableStatements.insertUnlessKeyExists(relation, row, local)
                    : TableStatements.insert(relation, row, local);
            ps = statements.get(stmt.sql()); // the same SQL for every row of the table
            List<String> params = stmt.parameters();
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
        return notInserted;
    }

    /**
     * The batch as one array statement with its values already in text form, and the batch
     * emptied: built on the receiving thread, so the sender thread only binds and waits.
     */
    Ready takeReady() {
        Ready ready = ready();
        clear();
        return ready;
    }

    private Ready ready() {
        String[] arrays = new String[relation.columnCount()];
        for (int col = 0; col < arrays.length; col++) {
            String[] values = new String[rows.size()];
            for (int r = 0; r < values.length; r++) {
                values[r] = rows.get(r).textOrNull(col);
            }
            arrays[col] = TextArrays.literal(values);
        }
        return new Ready(TableStatements.insertRows(relation, local, unlessKeyExists), arrays, List.copyOf(rows),
                unlessKeyExists);
    }

    /** See {@link #takeReady()}. */
    record Ready(String sql, String[] arrays, List<TupleData> rows, boolean unlessKeyExists) {

        /** Returns the rows that inserted nothing (their key already existed). */
        List<TupleData> execute(StatementCache statements) throws SQLException {
            PreparedStatement ps = statements.get(sql);
            for (int i = 0; i < arrays.length; i++) {
                ps.setObject(i + 1, arrays[i], Types.OTHER);
            }
            if (!unlessKeyExists) {
                ps.executeUpdate();
                return List.of();
            }
            List<TupleData> notInserted = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    notInserted.add(rows.get(rs.getInt(1) - 1));
                }
            }
            return notInserted;
        }
    }

    void clear() {
        rows.clear();
    }
}
