package io.pgactive.apply;

import io.pgactive.pg.SqlText;
import io.pgactive.pgoutput.PgOutputMessage.Relation;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Objects;

/**
 * The role an apply session's statements run as. A statement on a user table runs as the
 * table's owner ({@code pgactive.apply_as_table_owner}, on by default as upstream), so that
 * everything PostgreSQL runs for it — ALWAYS and REPLICA triggers, defaults, CHECK constraints,
 * index expressions, row security policies — has the owner's rights, not the worker's: a table
 * owner cannot make the worker, a superuser, run her code. Statements on pgactive's own catalog
 * and the replication origin functions run as the worker.
 *
 * <p>The switch is {@code SET LOCAL ROLE}: it ends with the transaction, so a commit or rollback
 * always lands back on the worker's own role. This class remembers the role it set to spare a
 * round trip per statement; whoever ends a transaction on the connection calls
 * {@link #transactionEnded()}, and nothing rolls back to a savepoint taken before a switch
 * (that would undo the switch behind this class's back).
 *
 * <p>Used by one thread at a time: the link's thread, or the sender while it owns the connection.
 */
final class ApplyRoles {

    /** Role for a table whose owner is a superuser, or when apply runs as the worker: no switch. */
    private static final String WORKER = null;

    private final ApplySession session;
    private final boolean asTableOwner;
    private final LocalTables tables;
    /** The role set in the current transaction; {@link #WORKER} for the session's own. */
    private String current = WORKER;

    ApplyRoles(ApplySession session, LocalTables tables) throws SQLException {
        this.session = session;
        this.tables = tables;
        try (Statement st = session.connection().createStatement();
             ResultSet rs = st.executeQuery(
                     "SELECT pg_catalog.current_setting('pgactive.apply_as_table_owner', true)")) {
            rs.next();
            String setting = rs.getString(1);
            // An unset value (a worker run against a server without the launcher) means the default.
            this.asTableOwner = setting == null || !setting.equals("off");
        }
    }

    /** The role statements on {@code rel} run as, or null for the worker's own. */
    String ownerOf(Relation rel) throws SQLException {
        return asTableOwner ? tables.of(rel).facts().owner() : WORKER;
    }

    /** Runs what follows as the owner of {@code rel}. */
    void becomeOwnerOf(Relation rel) throws SQLException {
        become(ownerOf(rel));
    }

    /** Runs what follows as the worker itself (pgactive's catalog, origin functions, commit). */
    void becomeWorker() throws SQLException {
        become(WORKER);
    }

    /** Runs what follows as {@code role}, an {@link #ownerOf} answer (null: the worker). */
    void become(String role) throws SQLException {
        if (Objects.equals(role, current)) {
            return;
        }
        try (Statement st = session.connection().createStatement()) {
            st.execute("SET LOCAL ROLE " + (role == WORKER ? "NONE" : SqlText.identifier(role)));
        }
        current = role;
    }

    /** The SQL prefix that returns to the worker's role within a multi-statement string, or "". */
    String workerPrefix() {
        return current == WORKER ? "" : "SET LOCAL ROLE NONE; ";
    }

    /** The transaction ended (commit or rollback), and with it any role switch. */
    void transactionEnded() {
        current = WORKER;
    }
}
