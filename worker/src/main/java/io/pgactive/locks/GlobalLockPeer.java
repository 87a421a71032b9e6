package io.pgactive.locks;

import io.pgactive.catalog.Names;
import io.pgactive.catalog.NodeIdentity;
import io.pgactive.catalog.ServerSettings;
import io.pgactive.conn.LocalServer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's part in the global DDL lock (see {@link GlobalLockMessage}), on a thread and a
 * connection of its own so that no link waits while it does: grants the lock to a peer that asks
 * (in write_lock mode after the transactions writing here have finished, or been cancelled once
 * {@code pgactive.max_ddl_lock_delay} has passed), answers it, releases the lock when the holder
 * says so or its link goes away (a holder that died releases nothing), and counts the answers to
 * this node's own requests for the backend that waits for them. The state itself is the
 * server's (launcher/pgactive_locks.c): user sessions' writes wait on it there.
 */
public final class GlobalLockPeer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(GlobalLockPeer.class);
    private static final long TICK_MILLIS = 1000;
    private static final long WRITERS_POLL_MILLIS = 100;
    /** How long cancelled writers get to go away before the lock is confirmed anyway. */
    private static final long CANCEL_GRACE_MILLIS = 5_000;

    private final LocalServer server;
    private final String dbname;
    private final String self;
    private final String applicationName;
    private final Predicate<String> linkedTo;
    private final BlockingQueue<GlobalLockMessage> inbox = new LinkedBlockingQueue<>();
    /** Locks granted here, by holder: only this class's thread uses it. */
    private final Map<String, GlobalLockMessage.Acquire> granted = new HashMap<>();
    /** Requests waiting for another peer's lock here to be released, in arrival order. */
    private final List<GlobalLockMessage.Acquire> waiting = new ArrayList<>();
    /** User backends found blocking apply while a write lock is granted, and since when (ms). */
    private final Map<Integer, Long> blockingApply = new HashMap<>();
    private final Thread thread;
    private volatile boolean stopping;

    /** @param linkedTo whether this node's link from the node of that lock node id is in a session */
    public GlobalLockPeer(LocalServer server, String dbname, NodeIdentity self, Predicate<String> linkedTo) {
        this.server = server;
        this.dbname = dbname;
        this.self = GlobalLockMessage.nodeId(self);
        this.applicationName = Names.applicationName(self, "locks");
        this.linkedTo = linkedTo;
        this.thread = new Thread(this::run, dbname + " global lock");
        this.thread.setDaemon(true);
    }

    public GlobalLockPeer start() {
        thread.start();
        return this;
    }

    /** A control message from a link; those that are not the lock's pass. Called by link threads. */
    public void received(String content) {
        try {
            GlobalLockMessage.parse(content).ifPresent(inbox::add);
        } catch (IllegalArgumentException e) {
            log.warn("ignoring a global lock message: {}", e.getMessage());
        }
    }

    @Override
    public void close() {
        stopping = true;
        thread.interrupt();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void run() {
        while (!stopping) {
            try (Connection conn = server.connect(dbname, applicationName)) {
                adoptGrantedLocks(conn);
                while (!stopping) {
                    boolean writeLocked = granted.values().stream().anyMatch(a -> a.mode().equals("write_lock"));
                    GlobalLockMessage message = inbox.poll(writeLocked ? WRITERS_POLL_MILLIS : TICK_MILLIS,
                            TimeUnit.MILLISECONDS);
                    if (message != null) {
                        handle(conn, message);
                    }
                    releaseLocksOfLostHolders(conn);
                    grantWaiting(conn);
                    if (writeLocked) {
                        unblockApply(conn);
                    } else {
                        blockingApply.clear();
                    }
                }
            } catch (SQLException e) {
                log.warn("global lock handling in database \"{}\" failed: {}; retrying", dbname, e.getMessage());
                if (!pause(TICK_MILLIS)) {
                    return;
                }
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /**
     * A lock granted here before this worker (re)started is still held in the server: watched
     * as if granted now, so that it goes if its holder's link does.
     */
    private void adoptGrantedLocks(Connection conn) throws SQLException {
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT owner, lock_mode, lock_id FROM pgactive._global_lock_state()"
                + " WHERE lock_mode <> 'nolock' AND NOT owner_is_local")) {
            while (rs.next()) {
                granted.put(rs.getString(1), new GlobalLockMessage.Acquire(rs.getString(2), rs.getString(1), rs.getLong(3)));
            }
        }
    }

    private void handle(Connection conn, GlobalLockMessage message) throws SQLException, InterruptedException {
        if (message instanceof GlobalLockMessage.Acquire a) {
            grant(conn, a);
        } else if (message instanceof GlobalLockMessage.Release r) {
            granted.remove(r.holder());
            waiting.removeIf(a -> a.holder().equals(r.holder()));
            release(conn, r.holder(), r.lockId());
        } else if (message instanceof GlobalLockMessage.Confirm c && c.holder().equals(self)) {
            tally(conn, c.lockId(), c.peer(), true);
        } else if (message instanceof GlobalLockMessage.Decline d && d.holder().equals(self)) {
            tally(conn, d.lockId(), d.peer(), false);
        }
    }

    /**
     * Grants the lock, or declines it when this node holds or wants it itself, or, when another
     * peer holds it here (its release may be on its way), lets the request wait for that.
     */
    private void grant(Connection conn, GlobalLockMessage.Acquire a) throws SQLException, InterruptedException {
        String answer;
        try (PreparedStatement ps = conn.prepareStatement("SELECT pgactive._global_lock_grant(?, ?, ?)")) {
            ps.setString(1, a.holder());
            ps.setLong(2, a.lockId());
            ps.setString(3, a.mode());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                answer = rs.getString(1);
            }
        }
        if (answer.equals("held_by_peer")) {
            waiting.removeIf(w -> w.holder().equals(a.holder()));
            waiting.add(a);
            return;
        }
        if (answer.equals("held_here")) {
            log.info("declined the global lock to node {}: this node holds or asks for it itself", a.holder());
            emit(conn, new GlobalLockMessage.Decline(a.holder(), a.lockId(), self));
            return;
        }
        granted.put(a.holder(), a);
        if (a.mode().equals("write_lock")) {
            awaitLocalWriters(conn, a.holder());
        }
        try (PreparedStatement ps = conn.prepareStatement("SELECT pgactive._global_lock_peer_confirmed(?, ?)")) {
            ps.setString(1, a.holder());
            ps.setLong(2, a.lockId());
            ps.execute();
        }
        emit(conn, new GlobalLockMessage.Confirm(a.holder(), a.lockId(), self));
        log.info("granted the global lock in mode {} to node {}", a.mode(), a.holder());
    }

    /**
     * Waits until no user transaction that has written here is open, so that what they wrote
     * reaches the holder before its DDL (this confirmation travels behind their commits). New
     * writes wait for the lock's release meanwhile (pgactive_guard.c); those still open when
     * max_ddl_lock_delay has passed are cancelled, or ended if idle in their transaction.
     */
    private void awaitLocalWriters(Connection conn, String holder) throws SQLException, InterruptedException {
        long delay = maxDelayMillis(conn);
        long deadline = System.currentTimeMillis() + delay;
        List<Writer> writers = localWriters(conn);
        while (!writers.isEmpty() && System.currentTimeMillis() < deadline) {
            Thread.sleep(WRITERS_POLL_MILLIS);
            writers = localWriters(conn);
        }
        if (writers.isEmpty()) {
            return;
        }
        for (Writer w : writers) {
            end(conn, w, "it was still writing after pgactive.max_ddl_lock_delay (" + delay + " ms), and node "
                    + holder + " asked for the global write lock");
        }
        long graceEnd = System.currentTimeMillis() + CANCEL_GRACE_MILLIS;
        while (!localWriters(conn).isEmpty() && System.currentTimeMillis() < graceEnd) {
            Thread.sleep(WRITERS_POLL_MILLIS);
        }
    }

    private record Writer(int pid, boolean idle) {
    }

    /** User sessions of this database in a transaction that has written (apply's and pgactive's own aside). */
    private static List<Writer> localWriters(Connection conn) throws SQLException {
        List<Writer> writers = new ArrayList<>();
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT pid, state LIKE 'idle in transaction%' FROM pg_catalog.pg_stat_activity"
                + " WHERE datname = pg_catalog.current_database() AND backend_xid IS NOT NULL"
                + " AND pid <> pg_catalog.pg_backend_pid() AND backend_type = 'client backend'"
                + " AND coalesce(application_name, '') NOT LIKE 'pgactive:%'")) {
            while (rs.next()) {
                writers.add(new Writer(rs.getInt(1), rs.getBoolean(2)));
            }
        }
        return writers;
    }

    /** pgactive.max_ddl_lock_delay, or max_standby_streaming_delay where it is -1 (as upstream). */
    private static long maxDelayMillis(Connection conn) throws SQLException {
        long delay = Long.parseLong(ServerSettings.current(conn, "pgactive.max_ddl_lock_delay"));
        if (delay >= 0) {
            return delay;
        }
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT setting::bigint FROM pg_catalog.pg_settings WHERE name = 'max_standby_streaming_delay'")) {
            rs.next();
            return Math.max(0, rs.getLong(1));
        }
    }

    /**
     * While a write lock is granted, user sessions' writes wait for its release, which comes
     * behind the holder's DDL, and an apply session applying that DDL can wait for a lock one
     * of them holds (a statement takes its table locks before it waits): a cycle. A user session
     * waiting for the global lock that blocks apply is cancelled at once; any other that blocks
     * apply for longer than max_ddl_lock_delay too (ended, if idle in its transaction).
     */
    private void unblockApply(Connection conn) throws SQLException {
        long now = System.currentTimeMillis();
        long delay = -1;
        Map<Integer, Long> stillBlocking = new HashMap<>();
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT DISTINCT b.pid, b.wait_event_type = 'Extension', b.state LIKE 'idle in transaction%'"
                + " FROM pg_catalog.pg_stat_activity a, unnest(pg_catalog.pg_blocking_pids(a.pid)) AS blocker(pid),"
                + " pg_catalog.pg_stat_activity b"
                + " WHERE b.pid = blocker.pid AND a.datname = pg_catalog.current_database()"
                + " AND a.application_name LIKE 'pgactive:%:apply'"
                + " AND coalesce(b.application_name, '') NOT LIKE 'pgactive:%'")) {
            while (rs.next()) {
                int pid = rs.getInt(1);
                long since = blockingApply.getOrDefault(pid, now);
                stillBlocking.put(pid, since);
                if (delay < 0) {
                    delay = maxDelayMillis(conn);
                }
                if (rs.getBoolean(2) || now - since >= delay) {
                    end(conn, new Writer(pid, rs.getBoolean(3)), rs.getBoolean(2)
                            ? "it waited for the global write lock while holding a lock that the holder's DDL needs"
                            : "it held a lock that the global write lock holder's DDL needs for longer than"
                              + " pgactive.max_ddl_lock_delay (" + delay + " ms)");
                }
            }
        }
        blockingApply.clear();
        blockingApply.putAll(stillBlocking);
    }

    private static void end(Connection conn, Writer w, String why) throws SQLException {
        log.warn("{} transaction of backend {}: {}", w.idle() ? "ending" : "cancelling", w.pid(), why);
        try (PreparedStatement ps = conn.prepareStatement(w.idle() ? "SELECT pg_catalog.pg_terminate_backend(?)"
                : "SELECT pg_catalog.pg_cancel_backend(?)")) {
            ps.setInt(1, w.pid());
            ps.execute();
        }
    }

    /** Requests that waited for another peer's release: the first that can be granted now is. */
    private void grantWaiting(Connection conn) throws SQLException, InterruptedException {
        for (GlobalLockMessage.Acquire a : List.copyOf(waiting)) {
            if (!linkedTo.test(a.holder())) {
                waiting.remove(a); // it is gone; its request ends with it
                continue;
            }
            waiting.remove(a);
            grant(conn, a);
            if (granted.containsKey(a.holder())) {
                return;
            }
        }
    }

    /** A holder whose link is gone may be dead: what it held here goes, lest writes here wait for ever. */
    private void releaseLocksOfLostHolders(Connection conn) throws SQLException {
        for (String holder : List.copyOf(granted.keySet())) {
            if (!linkedTo.test(holder)) {
                granted.remove(holder);
                if (release(conn, holder, null)) {
                    log.warn("released the global lock of node {}: this node's link from it went away", holder);
                }
            }
        }
    }

    private static boolean release(Connection conn, String holder, Long lockId) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement("SELECT pgactive._global_lock_release(?, ?)")) {
            ps.setString(1, holder);
            if (lockId == null) {
                ps.setNull(2, Types.BIGINT);
            } else {
                ps.setLong(2, lockId);
            }
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getBoolean(1);
            }
        }
    }

    private static void tally(Connection conn, long lockId, String peer, boolean confirmed) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement("SELECT pgactive._global_lock_tally(?, ?, ?)")) {
            ps.setLong(1, lockId);
            ps.setString(2, peer);
            ps.setBoolean(3, confirmed);
            ps.execute();
        }
    }

    private static void emit(Connection conn, GlobalLockMessage message) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement("SELECT pgactive._emit_control_message(?)")) {
            ps.setString(1, message.text());
            ps.execute();
        }
    }

    private boolean pause(long millis) {
        try {
            Thread.sleep(millis);
            return !stopping;
        } catch (InterruptedException e) {
            return false;
        }
    }
}
