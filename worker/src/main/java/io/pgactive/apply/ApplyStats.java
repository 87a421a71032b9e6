package io.pgactive.apply;

import io.pgactive.pg.PgTimestamps;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;

/**
 * Counters of one link ({@code pgactive_get_stats}). Counted in memory by the link's own
 * thread and added to {@code pgactive.pgactive_apply_stats} from time to time, so that counting
 * costs apply nothing.
 */
public final class ApplyStats {

    public enum Counter {
        COMMIT, ROLLBACK, INSERT, INSERT_CONFLICT, UPDATE, UPDATE_CONFLICT, DELETE, DELETE_CONFLICT, DISCONNECT
    }

    private final String origin;
    /** Counted and not yet in a committed flush. */
    private final long[] pending = new long[Counter.values().length];
    /** Of {@link #pending}, what the last flush wrote in a transaction not known to have committed. */
    private final long[] written = new long[Counter.values().length];
    private Long lastCommitMicros;
    private Long caughtUpMicros;
    /** The last transaction applied: its xid on its origin, and when it committed here. */
    private Long lastXid;
    private long lastAppliedAtMicros;

    public ApplyStats(String origin) {
        this.origin = origin;
    }

    public void count(Counter counter) {
        count(counter, 1);
    }

    public void count(Counter counter, long times) {
        pending[counter.ordinal()] += times;
    }

    /**
     * A remote transaction with this commit time was applied: counted here, once it has committed,
     * not when it arrived (a queued one may fail and be received again after a reconnect). Tombstone
     * garbage collection reads the time.
     */
    public void committed(io.pgactive.conflict.RemoteTransaction remote) {
        count(Counter.COMMIT);
        lastCommitMicros = remote.commitTimeMicros();
        lastXid = remote.xid();
        lastAppliedAtMicros = PgTimestamps.nowMicros(); // per transaction: no allocation
    }

    /**
     * The peer's heartbeat of this time (its clock) has arrived: what it committed before has
     * been received, and what it commits later is newer (see Tombstones.collectGarbage). Like the
     * counters, it reaches the table once what came before it has committed here.
     */
    public void caughtUp(long peerMicros) {
        caughtUpMicros = peerMicros;
    }

    /**
     * Adds what was counted and not yet committed to the table; the caller commits and then calls
     * {@link #flushCommitted}. Should its commit fail, the next flush writes the same again.
     */
    public void flush(Connection conn) throws SQLException {
        boolean any = lastCommitMicros != null || caughtUpMicros != null || lastXid != null;
        for (long v : pending) {
            any |= v != 0;
        }
        if (!any) {
            return;
        }
        try (PreparedStatement ps = conn.prepareStatement(
                "INSERT INTO pgactive.pgactive_apply_stats AS s (riremoteid, nr_commit, nr_rollback, nr_insert,"
                + " nr_insert_conflict, nr_update, nr_update_conflict, nr_delete, nr_delete_conflict, nr_disconnect,"
                + " last_commit_time, caught_up_at, last_applied_xid, last_applied_at)"
                + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                + " ON CONFLICT (riremoteid) DO UPDATE SET"
                + " last_applied_xid = coalesce(EXCLUDED.last_applied_xid, s.last_applied_xid),"
                + " last_applied_at = coalesce(EXCLUDED.last_applied_at, s.last_applied_at),"
                + " last_commit_time = greatest(s.last_commit_time, EXCLUDED.last_commit_time),"
                + " caught_up_at = greatest(s.caught_up_at, EXCLUDED.caught_up_at),"
                + " nr_commit = s.nr_commit + EXCLUDED.nr_commit, nr_rollback = s.nr_rollback + EXCLUDED.nr_rollback,"
                + " nr_insert = s.nr_insert + EXCLUDED.nr_insert,"
                + " nr_insert_conflict = s.nr_insert_conflict + EXCLUDED.nr_insert_conflict,"
                + " nr_update = s.nr_update + EXCLUDED.nr_update,"
                + " nr_update_conflict = s.nr_update_conflict + EXCLUDED.nr_update_conflict,"
                + " nr_delete = s.nr_delete + EXCLUDED.nr_delete,"
                + " nr_delete_conflict = s.nr_delete_conflict + EXCLUDED.nr_delete_conflict,"
                + " nr_disconnect = s.nr_disconnect + EXCLUDED.nr_disconnect")) {
            ps.setString(1, origin);
            for (int i = 0; i < pending.length; i++) {
                ps.setLong(i + 2, pending[i]);
            }
            ps.setObject(pending.length + 2, lastCommitMicros == null ? null
                    : PgTimestamps.toOffsetDateTime(lastCommitMicros),
                    java.sql.Types.TIMESTAMP_WITH_TIMEZONE);
            ps.setObject(pending.length + 3, caughtUpMicros == null ? null
                    : PgTimestamps.toOffsetDateTime(caughtUpMicros),
                    java.sql.Types.TIMESTAMP_WITH_TIMEZONE);
            ps.setObject(pending.length + 4, lastXid);
            ps.setObject(pending.length + 5, lastXid == null ? null
                    : PgTimestamps.toOffsetDateTime(lastAppliedAtMicros),
                    java.sql.Types.TIMESTAMP_WITH_TIMEZONE);
            ps.executeUpdate();
        }
        System.arraycopy(pending, 0, written, 0, pending.length);
    }

    /** The transaction of the last {@link #flush} committed: what it wrote is counted for good. */
    public void flushCommitted() {
        for (int i = 0; i < pending.length; i++) {
            pending[i] -= written[i];
        }
        java.util.Arrays.fill(written, 0);
        // Written again by a later flush, these would do no harm: the table keeps the greatest.
        lastCommitMicros = null;
        caughtUpMicros = null;
        lastXid = null;
    }
}
