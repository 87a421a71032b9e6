package io.pgactive.apply;

import io.pgactive.pg.SqlText;
import io.pgactive.pgoutput.PgOutputMessage.Relation;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

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
    /** Owner per remote relation oid; {@link #WORKER} when no switch is needed. */
    private final Map<Integer, Optional<String>> owners = new HashMap<>();
    /** The role set in the current transaction; {@link #WORKER} for the session's own. */
    private String current = WORKER;

    ApplyRoles(ApplySession session) throws SQLException {
        this.session = session;
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
        if (!asTableOwner) {
            return WORKER;
        }
        Optional<String> owner = owners.get(rel.relationOid());
        if (owner == null) {
            try (PreparedStatement ps = session.connection().prepareStatement(
                    "SELECT r.rolname, r.rolsuper FROM pg_catalog.pg_class c"
                    + " JOIN pg_catalog.pg_roles r ON r.oid = c.relowner WHERE c.oid = pg_catalog.to_regclass(?)")) {
                ps.setString(1, TableStatements.qualifiedName(rel));
                try (ResultSet rs = ps.executeQuery()) {
                    // A table missing here fails in the statement that needs it, with its own message.
                    owner = rs.next() && !rs.getBoolean(2) ? Optional.of(rs.getString(1)) : Optional.empty();
                }
            }
            owners.put(rel.relationOid(), owner);
        }
        return owner.orElse(WORKER);
    }

    /** Runs what follows as the owner of {@code rel}. */
    void becomeOwnerOf(Relation rel) throws SQLException {
        become(ownerOf(rel));
    }

    /** Runs what follows as the worker itself (pgactive's catalog, origin functions, commit). */
    void becomeWorker() throws SQLException {
        become(WORKER);
    }

    private void become(String role) throws SQLException {
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

    /** Local DDL committed: any table's owner may have changed. */
    void forgetAll() {
        owners.clear();
    }

    /** A table's definition changed (its owner may have too). */
    void forget(Relation rel) {
        owners.remove(rel.relationOid());
    }
}
