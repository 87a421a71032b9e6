package io.pgactive.catalog;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.OptionalInt;

/**
 * {@code pgactive.pgactive_local_state}: how the current create/join attempt is going, which
 * {@code pgactive_wait_for_node_ready} shows to the user, and whether the user paused apply. Every
 * report names the attempt it is about, so reports about an attempt the user has since replaced
 * are dropped.
 */
public final class LocalState {

    private final Connection conn;

    public LocalState(Connection conn) {
        this.conn = conn;
    }

    public OptionalInt currentAttempt() throws SQLException {
        try (Statement st = conn.createStatement();
             ResultSet rs = st.executeQuery("SELECT attempt FROM pgactive.pgactive_local_state")) {
            return rs.next() ? OptionalInt.of(rs.getInt(1)) : OptionalInt.empty();
        }
    }

    /** Whether the attempt has already failed (so we wait for the user instead of retrying). */
    public boolean hasFailed(int attempt) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement(
                "SELECT last_error IS NOT NULL FROM pgactive.pgactive_local_state WHERE attempt = ?")) {
            ps.setInt(1, attempt);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() && rs.getBoolean(1);
            }
        }
    }

    /** Whether {@code pgactive_apply_pause()} holds since this server started. */
    public boolean applyPaused() throws SQLException {
        try (Statement st = conn.createStatement();
             ResultSet rs = st.executeQuery("SELECT pgactive.pgactive_is_apply_paused()")) {
            rs.next();
            return rs.getBoolean(1);
        }
    }

    public void progress(int attempt, String progress) throws SQLException {
        update(attempt, "progress = ?", progress);
    }

    /**
     * Records when the node became ready: rows written here before then are the group's initial
     * data (created here, or copied by the join), older than any change that can arrive.
     */
    public void readyNow() throws SQLException {
        try (Statement st = conn.createStatement()) {
            st.execute("UPDATE pgactive.pgactive_local_state SET ready_at = clock_timestamp()");
        }
    }

    /**
     * Records why the attempt failed, for pgactive_wait_for_node_ready, and undoes the node's
     * local setup in the same transaction: the database is no node again, as before the call.
     */
    public void fail(int attempt, String error) throws SQLException {
        boolean autoCommit = conn.getAutoCommit();
        conn.setAutoCommit(false);
        try (Statement st = conn.createStatement()) {
            update(attempt, "last_error = ?, last_error_time = clock_timestamp()", error);
            st.execute("SELECT pgactive._undo_local_node()");
            conn.commit();
        } catch (SQLException e) {
            conn.rollback();
            throw e;
        } finally {
            conn.setAutoCommit(autoCommit);
        }
    }

    /**
     * A link that can never work again (its slot on the upstream was invalidated): the node is
     * ready but incomplete, and pgactive_wait_for_node_ready says so until it joins again.
     */
    public void reportLostLink(String error) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement("UPDATE pgactive.pgactive_local_state"
                + " SET last_error = ?, last_error_time = clock_timestamp(), updated_at = clock_timestamp()")) {
            ps.setString(1, error);
            ps.executeUpdate();
        }
    }

    private void update(int attempt, String assignments, String value) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement(
                "UPDATE pgactive.pgactive_local_state SET " + assignments
                + ", updated_at = clock_timestamp() WHERE attempt = ?")) {
            ps.setString(1, value);
            ps.setInt(2, attempt);
            ps.executeUpdate();
        }
    }
}
