package io.pgactive.stream;

import io.pgactive.catalog.Names;
import io.pgactive.conn.ConnInfo;
import io.pgactive.conn.Connector;
import io.pgactive.sql.SqlText;
import java.nio.ByteBuffer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.TimeUnit;
import org.postgresql.PGConnection;
import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.replication.PGReplicationStream;

/**
 * The pgoutput stream of one slot on an upstream node, over a walsender connection (pgjdbc's
 * replication API). Knows nothing of what the messages mean.
 */
final class ChangeStream implements AutoCloseable {

    private final Connection conn;
    private final PGReplicationStream stream;

    private ChangeStream(Connection conn, PGReplicationStream stream) {
        this.conn = conn;
        this.stream = stream;
    }

    /**
     * @param onlyLocalChanges leave out what the upstream applied from other nodes (origin 'none'),
     *                         if the slot's plugin can: with pgoutput the receiver skips them
     */
    static ChangeStream open(ConnInfo upstream, String applicationName, String slot, long startLsn,
                             boolean onlyLocalChanges) throws SQLException {
        Connection conn = Connector.connectReplication(upstream, applicationName);
        try {
            var builder = conn.unwrap(PGConnection.class).getReplicationAPI()
                    .replicationStream().logical();
            if (Names.OUTPUT_PLUGIN.equals(pluginOf(conn, slot))) {
                builder = builder.withSlotOption("origin", onlyLocalChanges ? "none" : "any");
            }
            PGReplicationStream stream = builder
                    .withSlotName(slot)
                    .withStartPosition(LogSequenceNumber.valueOf(startLsn))
                    .withSlotOption("proto_version", "1")
                    .withSlotOption("publication_names", Names.PUBLICATION)
                    .withSlotOption("messages", "true")
                    // Frequent replies keep the walsender from timing out while a long
                    // transaction streams and the socket holds more than we can apply quickly.
                    .withStatusInterval(1, TimeUnit.SECONDS)
                    .start();
            return new ChangeStream(conn, stream);
        } catch (SQLException | RuntimeException e) {
            conn.close();
            throw e;
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
    ByteBuffer poll() throws SQLException {
        return stream.readPending();
    }

    /**
     * How far the upstream has sent: the start of the last message, or the end of what it had
     * decoded when it last said it was idle (a keepalive), whichever is later.
     */
    long lastReceived() {
        return stream.getLastReceiveLSN().asLong();
    }

    /** Tells the upstream it may forget everything up to {@code lsn}: it is durable here. */
    void confirm(long lsn) throws SQLException {
        LogSequenceNumber position = LogSequenceNumber.valueOf(lsn);
        stream.setAppliedLSN(position);
        stream.setFlushedLSN(position);
        stream.forceUpdateStatus();
    }

    @Override
    public void close() throws SQLException {
        try {
            stream.close();
        } finally {
            conn.close();
        }
    }
}
