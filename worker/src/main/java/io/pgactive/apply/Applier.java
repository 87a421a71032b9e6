package io.pgactive.apply;

import io.pgactive.decode.Lsn;
import io.pgactive.decode.PgOutputMessage;
import io.pgactive.decode.PgOutputMessage.Delete;
import io.pgactive.decode.PgOutputMessage.Insert;
import io.pgactive.decode.PgOutputMessage.Relation;
import io.pgactive.decode.PgOutputMessage.Truncate;
import io.pgactive.decode.PgOutputMessage.Update;
import io.pgactive.decode.PgTimestamps;
import io.pgactive.decode.RelationCache;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Applies remote transactions to the local database, one local transaction per remote one, in
 * a session where user and foreign-key triggers do not fire ({@code session_replication_role =
 * replica}), as upstream pgactive does.
 */
public final class Applier implements AutoCloseable {

    /** pgactive's own tables that describe only the local node; everything else in the schema replicates. */
    private static final Set<String> LOCAL_ONLY_TABLES = Set.of("pgactive_local_state", "pgactive_conflict_history");

    private final Connection conn;
    private final RelationCache relations = new RelationCache();
    private final StatementCache statements;
    private final OriginSession origins;

    public Applier(Connection conn, boolean synchronousCommit) throws SQLException {
        this.conn = conn;
        try (Statement st = conn.createStatement()) {
            st.execute("SET session_replication_role = replica");
            st.execute("SET synchronous_commit = " + (synchronousCommit ? "local" : "off"));
            st.execute("SET DateStyle = ISO");
            st.execute("SET IntervalStyle = postgres");
            st.execute("SET extra_float_digits = 3");
        }
        conn.setAutoCommit(false);
        this.statements = new StatementCache(conn);
        this.origins = new OriginSession(conn);
    }

    public void relation(Relation relation) {
        relations.put(relation);
    }

    /** Starts applying a remote transaction that originated at {@code origin}. */
    public void begin(String origin) throws SQLException {
        origins.use(origin);
    }

    public void insert(Insert change) throws SQLException {
        Relation rel = relations.get(change.relationOid());
        if (isLocalOnly(rel)) {
            return;
        }
        execute(TableStatements.insert(rel, change.newTuple()));
    }

    public void update(Update change) throws SQLException {
        Relation rel = relations.get(change.relationOid());
        if (isLocalOnly(rel)) {
            return;
        }
        boolean full = change.oldKind() == PgOutputMessage.OLD_TUPLE;
        TableStatements stmt = TableStatements.update(rel,
                change.hasOldTuple() ? change.oldTuple() : change.newTuple(), full, change.newTuple());
        if (stmt != null) {
            execute(stmt);
        }
    }

    public void delete(Delete change) throws SQLException {
        Relation rel = relations.get(change.relationOid());
        if (isLocalOnly(rel)) {
            return;
        }
        execute(TableStatements.delete(rel, change.oldTuple(), change.oldKind() == PgOutputMessage.OLD_TUPLE));
    }

    public void truncate(Truncate change) throws SQLException {
        List<String> names = new ArrayList<>();
        for (int oid : change.relationOids()) {
            Relation rel = relations.get(oid);
            if (!isLocalOnly(rel)) {
                names.add("ONLY " + TableStatements.qualifiedName(rel));
            }
        }
        if (names.isEmpty()) {
            return;
        }
        try (Statement st = conn.createStatement()) {
            st.execute("TRUNCATE " + String.join(", ", names)
                    + (change.restartIdentity() ? " RESTART IDENTITY" : "")
                    + (change.cascade() ? " CASCADE" : ""));
        }
    }

    /**
     * Commits, recording the remote commit position and time with the origin, so progress and
     * data become durable together.
     */
    public void commit(long originLsn, long commitTimeMicros) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement(
                "SELECT pg_catalog.pg_replication_origin_xact_setup(?::pg_lsn, ?)")) {
            ps.setString(1, Lsn.format(originLsn));
            ps.setObject(2, PgTimestamps.toOffsetDateTime(commitTimeMicros));
            ps.execute();
        }
        conn.commit();
    }

    /** Abandons the current transaction after an error, leaving the session usable. */
    public void rollback() {
        try {
            conn.rollback();
        } catch (SQLException ignored) {
            // the connection is broken; the link reconnects
        }
    }

    private void execute(TableStatements stmt) throws SQLException {
        PreparedStatement ps = statements.get(stmt.sql());
        List<String> params = stmt.parameters();
        for (int i = 0; i < params.size(); i++) {
            ps.setObject(i + 1, params.get(i), Types.OTHER);
        }
        ps.executeUpdate();
    }

    private static boolean isLocalOnly(Relation rel) {
        return rel.namespace().equals("pgactive") && LOCAL_ONLY_TABLES.contains(rel.name());
    }

    @Override
    public void close() throws SQLException {
        statements.close();
        conn.close();
    }
}
