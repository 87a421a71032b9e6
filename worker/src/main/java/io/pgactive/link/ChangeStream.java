package io.pgactive.link;

import io.pgactive.catalog.Names;
import io.pgactive.conn.ConnInfo;
import io.pgactive.conn.Connector;
import io.pgactive.pg.Lsn;
import io.pgactive.pg.SqlText;
import java.nio.ByteBuffer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.postgresql.PGConnection;
import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.replication.PGReplicationStream;

/**
 * The pgoutput stream of one slot on an upstream node, over a walsender connection (pgjdbc's
 * replication API). Knows nothing of what the messages mean.
 *
 * <p>The walsender ends a connection that has not replied for {@code wal_sender_timeout}, and
 * pgjdbc replies only while it is read. The link's thread reads between changes, but applying one
 * can take longer than that (a batch of contested transactions, a trigger, a lock wait): so
 * while nobody reads, a thread of this stream's own repeats the last reply every second. It is
 * the last position confirmed, so it promises nothing new. Every use of the connection holds this
 * object's lock.
 */
final class ChangeStream implements AutoCloseable {

    /** How long the stream may go unread before the keepalive thread replies for it. */
    private static final long KEEPALIVE_AFTER_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final long KEEPALIVE_CHECK_MILLIS = 250;

    private final Connection conn;
    private final PGReplicationStream stream;
    private final ScheduledExecutorService keepalive;
    private long lastUse = System.nanoTime();

    private ChangeStream(Connection conn, PGReplicationStream stream, String name) {
        this.conn = conn;
        this.stream = stream;
        this.keepalive = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, name + " (keepalive)");
            t.setDaemon(true);
            return t;
        });
        keepalive.scheduleWithFixedDelay(this::replyIfUnread, KEEPALIVE_CHECK_MILLIS, KEEPALIVE_CHECK_MILLIS,
                TimeUnit.MILLISECONDS);
    }

    /**
     * @param onlyLocalChanges leave out what the upstream applied from other nodes (origin 'none'),
     *                         if the slot's plugin can: with pgoutput the receiver skips them
     * @param skipDdlReplication this node's pgactive.skip_ddl_replication, which the upstream's must
     *                           equal (null: not checked): else DDL would replicate one way only
     * @param streaming        have transactions larger than the upstream's logical_decoding_work_mem
     *                         sent while in progress (pgoutput protocol version 2; see
     *                         StreamedTransactions), instead of after the walsender has spilled them
     *                         to disk and read them back. Not for a join's catch-up: a streamed
     *                         transaction does not carry its originator's commit position.
     */
    static ChangeStream open(ConnInfo upstream, String applicationName, String slot, Lsn startLsn,
                             boolean onlyLocalChanges, String skipDdlReplication, boolean streaming)
            throws SQLException {
        Connection conn = Connector.connectReplication(upstream, applicationName);
        try {
            if (skipDdlReplication != null) {
                checkSameSetting(conn, "pgactive.skip_ddl_replication", skipDdlReplication);
            }
            var builder = conn.unwrap(PGConnection.class).getReplicationAPI()
                    .replicationStream().logical();
            if (Names.OUTPUT_PLUGIN.equals(pluginOf(conn, slot))) {
                builder = builder.withSlotOption("origin", onlyLocalChanges ? "none" : "any");
            }
            PGReplicationStream stream = builder
                    .withSlotName(slot)
                    .withStartPosition(LogSequenceNumber.valueOf(startLsn.value()))
                    .withSlotOption("proto_version", streaming ? "2" : "1")
                    .withSlotOption("streaming", streaming ? "on" : "off")
                    .withSlotOption("publication_names", Names.publicationsOf(slot))
                    .withSlotOption("messages", "true")
                    // Frequent replies keep the walsender from timing out while a long
                    // transaction streams and the socket holds more than we can apply quickly.
                    .withStatusInterval(1, TimeUnit.SECONDS)
                    .start();
            return new ChangeStream(conn, stream, Thread.currentThread().getName());
        } catch (SQLException | RuntimeException e) {
            conn.close();
            throw e;
        }
    }

    private static void checkSameSetting(Connection replication, String name, String here) throws SQLException {
        String there;
        try (Statement st = replication.createStatement();
             ResultSet rs = st.executeQuery("SELECT pg_catalog.current_setting(" + SqlText.literal(name) + ")")) {
            rs.next();
            there = rs.getString(1);
        }
        if (!here.equals(there)) {
            throw new SQLException(name + " is " + here + " here but " + there + " on the upstream node; it must be"
                    + " the same on every node (set it in postgresql.conf or with ALTER SYSTEM on each, and reload)",
                    "55000");
        }
    }

    /** A walsender of a database accepts simple SQL queries too. */
    private static String pluginOf(Connection replication, String slot) throws SQLException {
        try (Statement st = replication.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT plugin FROM pg_catalog.pg_replication_slots WHERE slot_name = " + SqlText.literal(slot))) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    /** The next message, or null when none is waiting. */
    synchronized ByteBuffer poll() throws SQLException {
        lastUse = System.nanoTime();
        return stream.readPending();
    }

    private synchronized void replyIfUnread() {
        if (System.nanoTime() - lastUse < KEEPALIVE_AFTER_NANOS) {
            return;
        }
        try {
            stream.forceUpdateStatus();
            lastUse = System.nanoTime();
        } catch (SQLException | RuntimeException e) {
            // the connection is failing: the link's thread finds out when it reads next
        }
    }

    /**
     * How far the upstream has sent: the start of the last message, or the end of what it had
     * decoded when it last said it was idle (a keepalive), whichever is later.
     */
    synchronized Lsn lastReceived() {
        return new Lsn(stream.getLastReceiveLSN().asLong());
    }

    /** Tells the upstream it may forget everything up to {@code lsn}: it is durable here. */
    synchronized void confirm(Lsn lsn) throws SQLException {
        LogSequenceNumber position = LogSequenceNumber.valueOf(lsn.value());
        stream.setAppliedLSN(position);
        stream.setFlushedLSN(position);
        stream.forceUpdateStatus();
    }

    @Override
    public void close() throws SQLException {
        keepalive.shutdownNow();
        try {
            stream.close();
        } finally {
            conn.close();
        }
    }
}
