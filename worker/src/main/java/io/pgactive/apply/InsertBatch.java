package io.pgactive.apply;

import io.pgactive.conn.StatementCache;
import io.pgactive.pgoutput.PgOutputMessage.Relation;
import io.pgactive.pgoutput.TupleData;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.List;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;

/**
 * Consecutive INSERTs into one table, sent to the server together. A few rows go as one
 * prepared INSERT each, pipelined in one round trip; more go as one COPY (see {@link Ready}):
 * that is what lets bulk loads apply at the server's own speed. Any other change flushes the
 * batch first, so the order of changes within a transaction is kept.
 */
final class InsertBatch {

    static final int MAX_ROWS = 1000;
    /** From this many rows on, COPY beats a statement per row. */
    static final int COPY_MIN_ROWS = 16;

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

    boolean isFull() {
        return rows.size() >= MAX_ROWS;
    }

    Relation relation() {
        return relation;
    }

    /**
     * Executes the batch; returns the rows that inserted nothing (their key already existed).
     *
     * @param copyAllowed whether a table with a key may take COPY (see {@link Ready})
     */
    List<TupleData> execute(StatementCache statements, boolean copyAllowed) throws SQLException {
        try {
            if (rows.isEmpty()) {
                return List.of();
            }
            return rows.size() < COPY_MIN_ROWS ? rowByRow(statements) : ready(copyAllowed).execute(statements);
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
        int[] counts;
        try {
            counts = ps.executeBatch();
        } finally {
            ps.clearParameters(); // see StatementCache
        }
        List<TupleData> notInserted = new ArrayList<>();
        for (int i = 0; i < counts.length; i++) {
            if (counts[i] == 0) {
                notInserted.add(rows.get(i));
            }
        }
        return notInserted;
    }

    /**
     * The batch as COPY data, and the batch emptied: built on the receiving thread, so the
     * sender thread only sends and waits. See {@link #execute} for {@code copyAllowed}.
     */
    Ready takeReady(boolean copyAllowed) {
        Ready ready = ready(copyAllowed);
        clear();
        return ready;
    }

    private Ready ready(boolean copyAllowed) {
        boolean copy = copyAllowed || !unlessKeyExists; // without a key there is no race to lose
        return new Ready(relation, local, List.copyOf(rows), unlessKeyExists, copy ? CopyText.of(rows) : null);
    }

    /**
     * See {@link #takeReady()}. The rows go in by COPY, the server's fastest way in: a heap
     * insert per page rather than per row, about a third of the server's time and half the WAL
     * of {@code INSERT ... ON CONFLICT DO NOTHING}, which also makes every peer's walsender
     * read less. COPY cannot skip a row whose key exists, so with a key the batch is first
     * checked for one; if any exists, the batch goes as the array statement, which skips and
     * reports those rows for the conflict path. A row of the same key committed by another
     * session between the check and the COPY makes the COPY fail: the transaction rolls back,
     * the link restarts from the origin's progress, and applies what it had begun without COPY
     * ({@code copyText} null), so that a writer that keeps committing such keys cannot make
     * every attempt fail the same way.
     */
    record Ready(Relation relation, LocalColumns local, List<TupleData> rows, boolean unlessKeyExists,
                 byte[] copyText) {

        /** Returns the rows that inserted nothing (their key already existed). */
        List<TupleData> execute(StatementCache statements) throws SQLException {
            if (copyText == null || unlessKeyExists && anyKeyExists(statements)) {
                return insertSkippingExistingKeys(statements);
            }
            CopyManager copy = statements.connection().unwrap(PGConnection.class).getCopyAPI();
            try {
                copy.copyIn(TableStatements.copyRows(relation), new ByteArrayInputStream(copyText));
            } catch (IOException e) {
                throw new SQLException("could not send COPY data for " + relation.name(), e);
            }
            return List.of();
        }

        private boolean anyKeyExists(StatementCache statements) throws SQLException {
            PreparedStatement ps = statements.get(TableStatements.anyKeyExists(relation, local));
            int parameter = 0;
            for (int col = 0; col < relation.columnCount(); col++) {
                if (relation.column(col).partOfKey()) {
                    ps.setObject(++parameter, columnArray(col), Types.OTHER);
                }
            }
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            } finally {
                ps.clearParameters(); // see StatementCache
            }
        }

        private List<TupleData> insertSkippingExistingKeys(StatementCache statements) throws SQLException {
            PreparedStatement ps = statements.get(TableStatements.insertRowsUnlessKeyExists(relation, local));
            for (int col = 0; col < relation.columnCount(); col++) {
                ps.setObject(col + 1, columnArray(col), Types.OTHER);
            }
            List<TupleData> notInserted = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    notInserted.add(rows.get(rs.getInt(1) - 1));
                }
            } finally {
                ps.clearParameters(); // see StatementCache
            }
            return notInserted;
        }

        private String columnArray(int col) {
            String[] values = new String[rows.size()];
            for (int r = 0; r < values.length; r++) {
                values[r] = rows.get(r).textOrNull(col);
            }
            return TextArrays.literal(values);
        }
    }

    void clear() {
        rows.clear();
    }
}
