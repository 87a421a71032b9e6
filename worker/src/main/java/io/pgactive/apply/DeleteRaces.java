package io.pgactive.apply;

import io.pgactive.pg.SqlText;
import io.pgactive.pgoutput.PgOutputMessage.Delete;
import io.pgactive.pgoutput.PgOutputMessage.Relation;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Orders a transaction's inserts against deletes of the same keys that another link applies at
 * the same time. Neither sees the other's uncommitted work: the delete finds no row (the insert
 * has not committed) and the insert's tombstone check finds no tombstone (the delete has not
 * committed), so both commit and the deleted row lives on, here only. Hence both look again
 * just before they commit, under a lock per table that the inserting side takes shared and the
 * deleting side exclusive: the inserting transaction takes out its own rows whose key a newer
 * delete has removed, and the deleting one looks again for the rows it missed. Whichever of the
 * two commits second sees what the first committed.
 *
 * <p>Only remote deletes that missed a row take the exclusive lock: one that found its row had
 * nothing to race with. Locks go in table-name order in one statement, so that transactions
 * taking several cannot deadlock on them.
 */
final class DeleteRaces {

    /** The advisory lock space of these locks ("pgac"), the table's oid being the low 32 bits. */
    private static final long LOCK_SPACE = 0x70676163L << 32;

    /** A remote delete that found no row, to be looked for again before commit. */
    record MissedDelete(Relation relation, Delete change) {
    }

    /** Keyed tables the transaction inserted into, by qualified name. */
    private final SortedMap<String, Relation> insertedInto = new TreeMap<>();
    private final List<MissedDelete> missedDeletes = new ArrayList<>();

    void inserted(Relation rel) {
        insertedInto.put(TableStatements.qualifiedName(rel), rel);
    }

    void missed(Relation rel, Delete change) {
        missedDeletes.add(new MissedDelete(rel, change));
    }

    boolean isEmpty() {
        return insertedInto.isEmpty() && missedDeletes.isEmpty();
    }

    Collection<Relation> insertedInto() {
        return insertedInto.values();
    }

    List<MissedDelete> missedDeletes() {
        return missedDeletes;
    }

    /**
     * Takes this transaction's locks and returns its transaction id, by which a row it wrote
     * itself is told apart. The statements that look again must come after this one: each takes
     * its snapshot when it starts, and only a snapshot taken after the lock sees what the other
     * side committed.
     */
    String lock(Connection conn) throws SQLException {
        Set<String> exclusive = new TreeSet<>();
        for (MissedDelete missed : missedDeletes) {
            exclusive.add(TableStatements.qualifiedName(missed.relation()));
        }
        try (Statement st = conn.createStatement()) {
            try (ResultSet rs = st.executeQuery("SELECT pg_catalog.pg_current_xact_id()::xid::text, "
                    + lockSql(insertedInto.keySet(), exclusive))) {
                rs.next();
                return rs.getString(1);
            }
        }
    }

    /**
     * The calls taking the locks of {@code shared} and {@code exclusive} tables (qualified
     * names), exclusive where a table is in both, in name order.
     */
    static String lockSql(Collection<String> shared, Collection<String> exclusive) {
        Set<String> all = new TreeSet<>(shared);
        all.addAll(exclusive);
        StringBuilder sql = new StringBuilder();
        for (String table : all) {
            sql.append(sql.length() == 0 ? "" : ", ")
                    .append(exclusive.contains(table) ? "pg_catalog.pg_advisory_xact_lock(" : "pg_catalog.pg_advisory_xact_lock_shared(")
                    .append(LOCK_SPACE).append(" + ").append(SqlText.literal(table)).append("::regclass::oid::bigint)");
        }
        return sql.toString();
    }

    void clear() {
        insertedInto.clear();
        missedDeletes.clear();
    }
}
