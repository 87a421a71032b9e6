package io.pgactive.apply;

import io.pgactive.catalog.Names;
import io.pgactive.catalog.NodeIdentity;
import io.pgactive.conflict.ConflictLog;
import io.pgactive.conflict.PriorVersion;
import io.pgactive.pg.PgTimestamps;
import io.pgactive.pg.SqlText;
import io.pgactive.pgoutput.PgOutputMessage.Insert;
import io.pgactive.pgoutput.PgOutputMessage.Relation;
import io.pgactive.pgoutput.PgOutputMessage.Update;
import io.pgactive.pgoutput.PgOutputMessage;
import io.pgactive.pgoutput.RelationColumn;
import io.pgactive.pgoutput.TupleData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * Small transactions compiled into server-side procedures, one per transaction shape (which
 * tables, which changes, which columns): a call applies one or more consecutive transactions of
 * that shape, their values one after the other in one text array, committing each on its own.
 * The server parses and plans each shape once per session, and a transaction costs neither a
 * round trip nor a statement call of its own (see {@link Pipeline}).
 *
 * <p>A procedure only does what needs no judgement: inserts whose key is new and has no
 * tombstone, updates of rows whose change is uncontested ({@link TableStatements.Uncontested}),
 * and the one judgement that is plain: an update of a row another node wrote meanwhile, by last
 * update wins ({@link ContestedUpdates}). Anything else <em>stops</em> the procedure: it rolls
 * that transaction back, says so in a notice with SQLSTATE {@value #CAREFUL_PATH}, and returns;
 * {@link Applier}, which decides conflicts, applies the transaction instead. A stop is not an error: a conflict pgactive
 * resolves must not write ERROR lines to the server log, which a DBA's alerting reads. A call
 * queued behind a stopped one in the same round trip finds the origin's progress short of the
 * position it expects and does nothing. Whether a change needs judgement is the statement's
 * own row count (an insert does nothing on an existing key, an update must change exactly one
 * row), taken after its row lock, so a row a local transaction changes or deletes meanwhile is
 * noticed too.
 */
final class TransactionProcedures {

    /** SQLSTATE of the notice of a procedure that stopped: "this transaction needs the careful path". */
    static final String CAREFUL_PATH = "PA001";
    /** Follows every INSERT and UPDATE: one row changed, or the careful path decides. */
    private static final String ONE_ROW = "  GET DIAGNOSTICS pgactive_n = ROW_COUNT;\n" + require("pgactive_n = 1");
    /** Shapes per session; a workload with more takes the careful path for the rest. */
    private static final int MAX_PROCEDURES = 256;

    /** What a procedure needs to know about a table here, and access to the connection. */
    interface TableFacts {
        LocalColumns columns(Relation rel) throws SQLException;

        /** See {@link CopiedRows#copiedBefore}. */
        String copiedBefore(Relation rel) throws SQLException;

        /** See {@link CopiedRows#rewrittenBy}. */
        String rewrittenBy(Relation rel) throws SQLException;

        /** The role statements on {@code rel} run as (see {@link ApplyRoles}), or null for the worker's. */
        String owner(Relation rel) throws SQLException;

        /** The replication origin's id here. */
        int originId(String origin) throws SQLException;

        /** See {@link Applier#writerId}. */
        OptionalInt writerId(NodeIdentity writer) throws SQLException;

        /** This node. */
        NodeIdentity self();

        /** Where conflicts are recorded. */
        ConflictLog history();

        /** Called before this class uses the connection itself, as the worker. */
        void beforeStatement() throws SQLException;
    }

    /**
     * How to apply one transaction: the statement calling its procedure, and the values. The
     * statement's parameters are the values of one or more transactions, how many there are, and
     * the origin position the call expects to start from (null: any).
     */
    record Call(String sql, String[] values) {
    }

    private final ApplySession session;
    private final TableFacts tables;
    private final boolean resolveConflicts;
    private final Map<String, String> callsByBody = new HashMap<>();
    /** Null values: shapes that need the careful path. */
    private final Map<ShapeKey, String> callsByShape = new HashMap<>();
    /** See {@link TableFacts#writerId}; an origin is never renumbered while it exists. */
    private final Map<NodeIdentity, Integer> writerIds = new HashMap<>();

    /**
     * @param resolveConflicts false for a join's catch-up, which replays what the upstream did:
     *                         its updates need no uncontested row and its inserts no tombstone check
     */
    TransactionProcedures(ApplySession session, boolean resolveConflicts, TableFacts tables) {
        this.session = session;
        this.resolveConflicts = resolveConflicts;
        this.tables = tables;
    }

    /**
     * Forgets which procedure applies which shape, after local DDL: the next transactions of a
     * shape are compiled again from the tables as they are now (an unchanged body finds its
     * procedure again).
     */
    void forgetShapes() {
        callsByShape.clear();
    }

    /** The call applying {@code tx}, creating its procedure if new; empty if it needs the careful path. */
    Optional<Call> compile(PendingTransaction tx) throws SQLException {
        ShapeKey key = ShapeKey.of(tx);
        String call = callsByShape.get(key);
        if (call == null && !callsByShape.containsKey(key)) {
            // A new shape: write the procedure (or find the same one under another key)
            StringBuilder body = new StringBuilder();
            call = build(tx, body, new ArrayList<>()) ? callFor(body.toString()) : null;
            callsByShape.put(key, call);
        }
        if (call == null) {
            return Optional.empty();
        }
        List<String> values = new ArrayList<>();
        build(tx, null, values);
        return Optional.of(new Call(call, values.toArray(new String[0])));
    }

    /**
     * Writes the procedure body for {@code tx} (unless {@code body} is null) and collects its
     * values, in the same pass so that placeholders and values cannot drift apart. False if
     * some change needs the careful path.
     */
    boolean build(PendingTransaction tx, StringBuilder body, List<String> values) throws SQLException {
        values.add(tx.originLsn().toString());
        values.add(PgTimestamps.toText(tx.commitTimeMicros()));
        boolean resolvesUpdates = resolvesUpdates(tx);
        if (resolvesUpdates) { // values 3 and 4: what the history says of a conflict resolved here
            values.add(Long.toString(tx.remote().xid()));
            values.add(tx.remote().commitLsn().toString());
        }
        // Names no column is likely to have: a column of the same name would make references ambiguous.
        append(body, "DECLARE pgactive_n bigint; pgactive_o int := 0;"
                + (resolvesUpdates ? ContestedUpdates.DECLARATIONS : "") + "\nBEGIN\n"
                + "IF pgactive_after IS NOT NULL"
                + " AND pgactive_after IS DISTINCT FROM pg_catalog.pg_replication_origin_session_progress(false) THEN\n"
                + "  RETURN; -- a call before this one stopped\nEND IF;\n"
                + "FOR pgactive_i IN 1..pgactive_count LOOP\n");
        RoleSwitches roles = new RoleSwitches(body);
        TombstoneChecks tombstoneChecks = new TombstoneChecks();
        int statements = 0;
        for (PendingTransaction.Change change : tx.changes()) {
            Relation rel = change.relation();
            if (Applier.isLocalOnly(rel)) {
                continue;
            }
            boolean compiled = change.message() instanceof Insert i
                    ? insert(body, values, rel, i.newTuple(), roles, tombstoneChecks)
                    : change.message() instanceof Update u
                            && update(body, values, rel, u, change.replaced(), tx, roles);
            if (!compiled) {
                return false;
            }
            statements++;
        }
        roles.become(null);
        append(body, tombstoneChecks.sql());
        // Origin position and time last, once nothing can fail but the commit: on PostgreSQL 15
        // an aborted transaction leaves them set in the session, for the next commit to record.
        // The procedure ends each transaction itself: one local transaction per remote one.
        append(body, "  PERFORM pg_catalog.pg_replication_origin_xact_setup(pgactive_v[pgactive_o + 1]::pg_lsn,"
                + " pgactive_v[pgactive_o + 2]::timestamptz);\n  COMMIT;\n"
                + (resolvesUpdates ? ContestedUpdates.ANNOUNCE : "") + "  pgactive_o := pgactive_o + " + values.size()
                + ";\nEND LOOP;\nEND");
        return statements > 0;
    }

    /** Whether a contested UPDATE of {@code rel} is resolved in the procedure (see {@link ContestedUpdates}). */
    private boolean resolvesConflictOf(Relation rel) {
        return resolveConflicts && !Applier.isPgactiveCatalog(rel);
    }

    /** Whether {@code tx}'s procedure may resolve conflicts, and needs the values and variables for that. */
    private boolean resolvesUpdates(PendingTransaction tx) {
        for (PendingTransaction.Change change : tx.changes()) {
            if (change.message() instanceof Update && resolvesConflictOf(change.relation())) {
                return true;
            }
        }
        return false;
    }

    /**
     * The role switches of one procedure body, as {@link ApplyRoles} makes them for the careful
     * path: statements on a user table as its owner, pgactive's catalog and the origin as the
     * worker. Each iteration starts as the worker (COMMIT ends a {@code set_config(..., true)}).
     */
    private static final class RoleSwitches {
        private final StringBuilder body;
        private String current;

        RoleSwitches(StringBuilder body) {
            this.body = body;
        }

        /** Switches to {@code role}, null for the worker. */
        void become(String role) {
            if (!java.util.Objects.equals(role, current)) {
                append(body, "  " + setRole(role) + "\n");
                current = role;
            }
        }
    }

    /** The statement that makes {@code role} (null: the worker) current until the transaction ends. */
    static String setRole(String role) {
        return "PERFORM pg_catalog.set_config('role', " + SqlText.literal(role == null ? "none" : role) + ", true);";
    }

    /** Stops the procedure: see the class comment. */
    private static final String STOP = "    ROLLBACK;\n    RAISE NOTICE USING ERRCODE = '" + CAREFUL_PATH
            + "', MESSAGE = 'pgactive: a change needs conflict handling';\n    RETURN;\n";

    /** Stops the procedure unless {@code condition} holds. */
    private static String require(String condition) {
        return "  IF NOT (" + condition + ") THEN\n" + STOP + "  END IF;\n";
    }

    /**
     * The tombstone checks of a transaction's inserts, run after all its changes, once the
     * transaction holds the tombstone locks of those tables: see {@link DeleteRaces}.
     */
    private static final class TombstoneChecks {
        private final SortedSet<String> tables = new TreeSet<>();
        private final StringBuilder checks = new StringBuilder();

        void add(Relation rel, String keyJson) {
            tables.add(TableStatements.qualifiedName(rel));
            checks.append(require("NOT EXISTS (SELECT 1 FROM pgactive.pgactive_tombstones WHERE relname ="
                    + " pg_catalog.format('%I.%I', " + SqlText.literal(rel.namespace()) + ", "
                    + SqlText.literal(rel.name()) + ") AND key IN (pg_catalog.jsonb_build_object(" + keyJson + "), '"
                    + Tombstones.WHOLE_TABLE + "'))"));
        }

        String sql() {
            return tables.isEmpty() ? "" : "  PERFORM " + DeleteRaces.lockSql(tables, Set.of()) + ";\n" + checks;
        }
    }

    private static void append(StringBuilder body, String text) {
        if (body != null) {
            body.append(text);
        }
    }

    /**
     * What decides a transaction's procedure: per change its table definition, kind, and which
     * values are missing (unchanged TOAST) or how its row is identified. Cheap to compare, so
     * the procedure text is written only for a shape not seen before.
     */
    private record ShapeKey(List<Object> parts) {
        static ShapeKey of(PendingTransaction tx) {
            List<Object> parts = new ArrayList<>(tx.changes().size() * 3 + 1);
            parts.add(tx.origin());
            for (PendingTransaction.Change change : tx.changes()) {
                parts.add(new SameRelation(change.relation()));
                if (change.message() instanceof Update u) {
                    parts.add(u.oldKind());
                    parts.add(change.replaced() != null);
                    parts.add(toastMask(u.newTuple()));
                } else if (change.message() instanceof Insert i) {
                    parts.add('I');
                    parts.add(toastMask(i.newTuple()));
                } else {
                    parts.add(change.message().getClass());
                }
            }
            return new ShapeKey(parts);
        }

        /**
         * A table definition compared by identity: the stream's relation cache hands out one
         * object per definition, and comparing column lists on every transaction was the
         * compiler's biggest cost. An equal definition in a new object (after a reconnect)
         * only writes the body once more and finds the procedure by its text.
         */
        private record SameRelation(Relation relation) {
            @Override
            public boolean equals(Object o) {
                return o instanceof SameRelation other && other.relation == relation;
            }

            @Override
            public int hashCode() {
                return System.identityHashCode(relation);
            }
        }

        private static String toastMask(TupleData row) {
            if (!row.hasUnchangedToast()) {
                return "";
            }
            StringBuilder mask = new StringBuilder();
            for (int i = 0; i < row.size(); i++) {
                mask.append(row.isUnchangedToast(i) ? 'u' : '-');
            }
            return mask.toString();
        }
    }

    private String callFor(String body) throws SQLException {
        String call = callsByBody.get(body);
        if (call == null) {
            if (callsByBody.size() >= MAX_PROCEDURES) {
                return null;
            }
            call = create(body);
        }
        return call;
    }

    private String create(String body) throws SQLException {
        tables.beforeStatement();
        String name = "pg_temp.pgactive_apply_" + (callsByBody.size() + 1);
        try (Statement st = session.connection().createStatement()) {
            st.execute("CREATE PROCEDURE " + name + "(pgactive_v text[], pgactive_count int, pgactive_after pg_lsn)"
                    + " LANGUAGE plpgsql AS " + SqlText.dollarQuoted(body));
        }
        session.connection().commit();
        String call = "CALL " + name + "(?::text[], ?, ?::pg_lsn)";
        callsByBody.put(body, call);
        return call;
    }

    /** A new row, unless its key exists or has a tombstone (both need judging). */
    private boolean insert(StringBuilder body, List<String> values, Relation rel, TupleData row, RoleSwitches roles,
                           TombstoneChecks tombstoneChecks) throws SQLException {
        if (row.hasUnchangedToast()) {
            return false;
        }
        if (body == null) { // the shape is known: only the values, in the order written below
            for (int i = 0; i < rel.columnCount(); i++) {
                values.add(row.textOrNull(i));
            }
            return true;
        }
        LocalColumns local = tables.columns(rel);
        StringBuilder cols = new StringBuilder();
        StringBuilder exprs = new StringBuilder();
        StringBuilder keyJson = new StringBuilder();
        for (int i = 0; i < rel.columnCount(); i++) {
            RelationColumn col = rel.column(i);
            String value = value(values, row.textOrNull(i), local.type(col.name()));
            cols.append(i == 0 ? "" : ", ").append(SqlText.identifier(col.name()));
            exprs.append(i == 0 ? "" : ", ").append(value);
            if (col.partOfKey()) {
                keyJson.append(keyJson.length() == 0 ? "" : ", ").append(SqlText.literal(col.name()))
                        .append(", pg_catalog.to_jsonb(").append(value).append(')');
            }
        }
        roles.become(tables.owner(rel));
        append(body, "  INSERT INTO " + TableStatements.qualifiedName(rel) + " (" + cols + ")" + local.overriding()
                + " SELECT " + exprs + " ON CONFLICT DO NOTHING;\n" + ONE_ROW);
        if (resolveConflicts && Applier.hasKey(rel)) {
            tombstoneChecks.add(rel, keyJson.toString()); // a tombstone for the key needs judging
        }
        return true;
    }

    /**
     * The new values on the row with the change's key, if the change is uncontested: the row's
     * last writer is the change's origin, or its version is the one the author named as
     * {@code replaced} (or an earlier one by the same writer; see {@link PriorVersion#covers}).
     */
    private boolean update(StringBuilder body, List<String> values, Relation rel, Update change,
                           PriorVersion replaced, PendingTransaction tx, RoleSwitches roles) throws SQLException {
        TupleData identity = change.hasOldTuple() ? change.oldTuple() : change.newTuple();
        if (!Applier.hasKey(rel) || change.oldKind() == PgOutputMessage.OLD_TUPLE) {
            return false;
        }
        LocalColumns local = tables.columns(rel);
        if (body == null) { // the shape is known: only the values, in the order written below
            for (int i = 0; i < rel.columnCount(); i++) {
                if (!change.newTuple().isUnchangedToast(i) && local.updatable(rel.column(i).name())) {
                    values.add(change.newTuple().textOrNull(i));
                }
            }
            for (int i = 0; i < rel.columnCount(); i++) {
                if (rel.column(i).partOfKey()) {
                    values.add(identity.textOrNull(i));
                }
            }
            if (resolveConflicts && replaced != null) {
                replacedVersion(values, replaced);
            }
            return true;
        }
        StringBuilder set = new StringBuilder();
        StringBuilder jsonNames = new StringBuilder(); // the remote row for the history, from the same values
        StringBuilder jsonValues = new StringBuilder();
        for (int i = 0; i < rel.columnCount(); i++) {
            String name = rel.column(i).name();
            if (!change.newTuple().isUnchangedToast(i) && local.updatable(name)) {
                set.append(set.length() == 0 ? "" : ", ").append(SqlText.identifier(name)).append(" = ")
                        .append(value(values, change.newTuple().textOrNull(i), local.type(name)));
                jsonNames.append(jsonNames.length() == 0 ? "" : ", ").append(SqlText.literal(name));
                jsonValues.append(jsonValues.length() == 0 ? "" : ", ").append("pgactive_v[pgactive_o + ")
                        .append(values.size()).append(']');
            }
        }
        StringBuilder where = new StringBuilder();
        for (int i = 0; i < rel.columnCount(); i++) {
            RelationColumn col = rel.column(i);
            if (col.partOfKey()) {
                if (identity.isUnchangedToast(i)) {
                    return false;
                }
                where.append(where.length() == 0 ? "" : " AND ").append("pgactive_row.")
                        .append(SqlText.identifier(col.name())).append(" = ")
                        .append(value(values, identity.textOrNull(i), local.type(col.name())));
            }
        }
        if (set.length() == 0) {
            return false;
        }
        String owner = tables.owner(rel);
        roles.become(owner);
        String update = "UPDATE ONLY " + TableStatements.qualifiedName(rel) + " pgactive_row SET " + set;
        String uncontested = null;
        if (resolveConflicts) {
            String copiedBefore = tables.copiedBefore(rel);
            String rewrittenBy = tables.rewrittenBy(rel);
            uncontested = TableStatements.Uncontested.condition(
                    copiedBefore == null ? "NULL::timestamptz" : SqlText.literal(copiedBefore) + "::timestamptz",
                    Integer.toString(tables.originId(tx.origin())),
                    rewrittenBy == null ? "NULL::xid" : SqlText.literal(rewrittenBy) + "::xid");
            if (replaced != null) {
                String[] version = replacedVersion(values, replaced);
                uncontested += " OR " + TableStatements.isVersionOrEarlier(version[0], version[1]);
            }
        }
        body.append("  ").append(update).append(" WHERE ").append(where)
                .append(uncontested == null ? "" : " AND (" + uncontested + ")").append(";\n");
        if (resolvesConflictOf(rel)) {
            ContestedUpdates.Context context = new ContestedUpdates.Context(tables.self(), tables.history(),
                    new ConflictLog.RemoteSql(tx.remote().origin(), "pgactive_v[pgactive_o + 3]",
                            "pgactive_v[pgactive_o + 2]::timestamptz", "pgactive_v[pgactive_o + 4]"), owner);
            body.append(ContestedUpdates.block(rel.namespace(), rel.name(), update, where.toString(), uncontested,
                    "pg_catalog.json_object(ARRAY[" + jsonNames + "]::text[], ARRAY[" + jsonValues + "]::text[])",
                    context, STOP));
        } else {
            body.append(ONE_ROW);
        }
        return true;
    }

    /**
     * The values naming a replaced version: the writer's origin id here (null, matching no row,
     * for a node with no origin here) and its commit time. Returns the SQL reading them.
     */
    private String[] replacedVersion(List<String> values, PriorVersion replaced) throws SQLException {
        Integer writer = writerIds.get(replaced.writer()); // looked up, it would wait for the round trip in flight
        if (writer == null) {
            OptionalInt found = tables.writerId(replaced.writer());
            if (found.isPresent()) {
                writer = found.getAsInt();
                writerIds.put(replaced.writer(), writer);
            }
        }
        return new String[] {
            value(values, writer == null ? null : writer.toString(), "oid"),
            value(values, PgTimestamps.toText(replaced.commitTimeMicros()), "timestamptz")};
    }

    /** The next array element of this transaction, cast to the column's type. */
    private static String value(List<String> values, String text, String type) {
        values.add(text);
        return "pgactive_v[pgactive_o + " + values.size() + "]::" + type;
    }
}
