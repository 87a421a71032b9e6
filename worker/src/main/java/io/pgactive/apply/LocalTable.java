package io.pgactive.apply;

import io.pgactive.pgoutput.PgOutputMessage.Delete;
import io.pgactive.pgoutput.PgOutputMessage.Insert;
import io.pgactive.pgoutput.PgOutputMessage.Relation;
import io.pgactive.pgoutput.PgOutputMessage.Update;
import io.pgactive.pgoutput.PgOutputMessage;
import io.pgactive.pgoutput.RelationColumn;
import io.pgactive.pgoutput.TupleData;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How rows of one version of a remote relation (one Relation message) map onto the local table,
 * as PostgreSQL's {@code LogicalRepRelMapEntry}: the local columns' facts, and what to do with
 * remote columns the local table lacks while schemas differ (DESIGN.md, "Schema changes").
 *
 * <ul>
 * <li>A column dropped here (see {@code pgactive.pgactive_dropped_objects}): its values go, as
 *     they will on every node that drops it.</li>
 * <li>A column not here yet (added on a peer first): a row with a value for it cannot be
 *     applied without losing that value, so apply fails naming the column, and the link waits
 *     for the local {@code ADD COLUMN}; a NULL loses nothing and passes. With
 *     {@code pgactive.discard_mismatched_row_attributes} (upstream's escape hatch) the value
 *     goes, with a warning.</li>
 * <li>A table dropped here: its changes go. One that does not exist here (yet) fails naming it.</li>
 * </ul>
 * Local columns the remote lacks get their local default: statements name only remote columns.
 */
final class LocalTable {

    private static final Logger log = LoggerFactory.getLogger(LocalTable.class);
    private static final String UNDEFINED_TABLE = "42P01";
    private static final String UNDEFINED_COLUMN = "42703";

    private final Relation applied;
    private final LocalColumns columns;
    /** Remote column positions applied, in order; null when every one is. */
    private final int[] kept;
    /** Remote columns not here whose value must be NULL, by position. */
    private final Map<Integer, String> mustBeNull;
    private final boolean droppedHere;
    private final TableFacts facts;
    /** See {@link #discardsValues}. */
    private final boolean discards;

    /**
     * What apply needs to know of the table itself, read with its columns.
     *
     * @param owner             the role that owns it, null for a superuser (no switch needed)
     * @param copiedTrueWriters whether a join recorded true writers of its rows (see CopiedRows)
     * @param rewrittenBy       the transaction that last rewrote it here, or null
     * @param byColumn          whether it resolves conflicts column by column (pgactive_column_level_tables)
     * @param keepsVersions     whether it has conflict handlers, and so keeps its rows' concurrent
     *                          versions (pgactive_row_versions)
     */
    record TableFacts(String owner, boolean copiedTrueWriters, String rewrittenBy, boolean byColumn,
                      boolean keepsVersions) {
        static final TableFacts NONE = new TableFacts(null, false, null, false, false);

        /** Whether its changes take the careful path only, which merges them. */
        boolean merged() {
            return byColumn || keepsVersions;
        }
    }

    private LocalTable(Relation applied, LocalColumns columns, int[] kept, Map<Integer, String> mustBeNull,
                       boolean droppedHere, TableFacts facts, boolean discards) {
        this.discards = discards;
        this.applied = applied;
        this.columns = columns;
        this.kept = kept;
        this.mustBeNull = mustBeNull;
        this.droppedHere = droppedHere;
        this.facts = facts;
    }

    /** Reads the local table of {@code remote}; as the worker, who may read pgactive's catalog. */
    static LocalTable of(Connection conn, Relation remote) throws SQLException {
        Set<String> always = new HashSet<>();
        Map<String, String> types = new HashMap<>();
        TableFacts facts = TableFacts.NONE;
        try (PreparedStatement ps = conn.prepareStatement(
                // Types without their modifier: an explicit cast to varchar(10) would cut a longer
                // value short where assigning it fails, and a widened column must take it whole.
                "SELECT a.attname, a.attidentity = 'a', pg_catalog.format_type(a.atttypid, -1),"
                + " CASE WHEN NOT r.rolsuper THEN r.rolname END,"
                + " EXISTS (SELECT 1 FROM pgactive.pgactive_copied_row_times t"
                + "         WHERE t.relname = pg_catalog.format('%I.%I', n.nspname, c.relname)),"
                + " (SELECT w.xid::text FROM pgactive.pgactive_rewritten_tables w WHERE w.relid = c.oid),"
                + " EXISTS (SELECT 1 FROM pgactive.pgactive_column_level_tables l"
                + "         WHERE l.relname = pg_catalog.format('%I.%I', n.nspname, c.relname)),"
                + " EXISTS (SELECT 1 FROM pgactive.pgactive_conflict_handlers h"
                + "         WHERE h.ch_relname = pg_catalog.format('%I.%I', n.nspname, c.relname))"
                + " FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                + " JOIN pg_catalog.pg_roles r ON r.oid = c.relowner"
                + " JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
                + " WHERE c.oid = pg_catalog.to_regclass(?)")) {
            ps.setString(1, TableStatements.qualifiedName(remote));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    if (rs.getBoolean(2)) {
                        always.add(rs.getString(1));
                    }
                    types.put(rs.getString(1), rs.getString(3));
                    facts = new TableFacts(rs.getString(4), rs.getBoolean(5), rs.getString(6), rs.getBoolean(7),
                            rs.getBoolean(8));
                }
            }
        }
        LocalColumns columns = new LocalColumns(Set.copyOf(always), Map.copyOf(types));
        // What is missing here, in the server's own words and SQLSTATEs: the apply error is then
        // recorded like any other (unhandled_tx_abort) and names a table or a column as such.
        String table = "\"" + remote.namespace() + "." + remote.name() + "\"";
        if (types.isEmpty()) {
            if (dropped(conn, remote).contains("")) {
                log.info("changes to table {} are discarded: it was dropped on this node", table);
                return new LocalTable(remote, columns, null, Map.of(), true, facts, true);
            }
            throw new SQLException("relation " + table + " does not exist", UNDEFINED_TABLE);
        }
        List<Integer> missing = new ArrayList<>();
        for (int i = 0; i < remote.columns().size(); i++) {
            if (!types.containsKey(remote.columns().get(i).name())) {
                missing.add(i);
            }
        }
        if (missing.isEmpty()) {
            return new LocalTable(remote, columns, null, Map.of(), false, facts, false);
        }
        Set<String> dropped = dropped(conn, remote);
        boolean discard = discardMismatched(conn);
        Map<Integer, String> mustBeNull = new LinkedHashMap<>();
        List<RelationColumn> appliedColumns = new ArrayList<>();
        int[] kept = new int[remote.columns().size() - missing.size()];
        for (int i = 0, k = 0; i < remote.columns().size(); i++) {
            RelationColumn column = remote.columns().get(i);
            if (!missing.contains(i)) {
                kept[k++] = i;
                appliedColumns.add(column);
            } else if (column.partOfKey()) {
                throw new SQLException("column \"" + column.name() + "\" of relation " + table + " does not exist"
                        + " (it is part of the replica identity)", UNDEFINED_COLUMN);
            } else if (dropped.contains(column.name())) {
                log.info("values of column \"{}\" of {} are discarded: it was dropped on this node", column.name(),
                        table);
            } else if (discard) {
                log.warn("values of column \"{}\" of {} are discarded: it does not exist here and"
                        + " pgactive.discard_mismatched_row_attributes is on", column.name(), table);
            } else {
                mustBeNull.put(i, column.name());
            }
        }
        Relation applied = new Relation(remote.relationOid(), remote.namespace(), remote.name(),
                remote.replicaIdentity(), List.copyOf(appliedColumns));
        return new LocalTable(applied, columns, kept, Map.copyOf(mustBeNull), false, facts,
                kept.length + mustBeNull.size() < remote.columns().size());
    }

    /** Names dropped here from the table: columns, and "" for the table itself. */
    private static Set<String> dropped(Connection conn, Relation remote) throws SQLException {
        Set<String> names = new HashSet<>();
        try (PreparedStatement ps = conn.prepareStatement("SELECT column_name FROM pgactive.pgactive_dropped_objects"
                + " WHERE schema_name = ? AND table_name = ?")) {
            ps.setString(1, remote.namespace());
            ps.setString(2, remote.name());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    names.add(rs.getString(1));
                }
            }
        }
        return names;
    }

    private static boolean discardMismatched(Connection conn) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement(
                "SELECT pg_catalog.current_setting('pgactive.discard_mismatched_row_attributes', true)");
             ResultSet rs = ps.executeQuery()) {
            rs.next();
            return "on".equals(rs.getString(1));
        }
    }

    /** The remote relation as applied here: without the columns whose values go. */
    Relation applied() {
        return applied;
    }

    LocalColumns columns() {
        return columns;
    }

    TableFacts facts() {
        return facts;
    }

    /** The table was dropped here: its changes go. */
    boolean droppedHere() {
        return droppedHere;
    }

    /**
     * Whether applying with this definition throws values away: the table, or columns of it,
     * were dropped here, or pgactive.discard_mismatched_row_attributes drops them. Such a
     * definition must not outlive the transaction it was read for: the table or column may
     * exist again by the next, and a session hears of local DDL only a moment after it
     * committed, which would be values lost for good. (A definition that lacks a column makes
     * apply fail instead, and try again.)
     */
    boolean discardsValues() {
        return discards;
    }

    /** {@code change} (decoded against the remote relation) as applied here. */
    PgOutputMessage map(PgOutputMessage change) throws SQLException {
        if (kept == null) {
            return change;
        }
        if (change instanceof Insert i) {
            return new Insert(i.relationOid(), map(i.newTuple()));
        } else if (change instanceof Update u) {
            return new Update(u.relationOid(), u.oldKind(), u.hasOldTuple() ? map(u.oldTuple()) : null,
                    map(u.newTuple()));
        } else if (change instanceof Delete d) {
            return new Delete(d.relationOid(), d.oldKind(), map(d.oldTuple()));
        }
        return change;
    }

    private TupleData map(TupleData row) throws SQLException {
        for (Map.Entry<Integer, String> column : mustBeNull.entrySet()) {
            TupleData.Kind kind = row.kind(column.getKey());
            if (kind == TupleData.Kind.TEXT || kind == TupleData.Kind.BINARY) {
                throw new SQLException("column \"" + column.getValue() + "\" of relation \"" + applied.namespace()
                        + "." + applied.name() + "\" does not exist", UNDEFINED_COLUMN);
            }
        }
        return row.project(kept);
    }
}
