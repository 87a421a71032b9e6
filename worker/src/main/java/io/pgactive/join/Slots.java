package io.pgactive.join;

import io.pgactive.catalog.Names;
import io.pgactive.catalog.NodeIdentity;
import io.pgactive.pg.Lsn;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/** Logical slots created and dropped over ordinary SQL connections. */
public final class Slots {

    private Slots() {
    }

    /**
     * The output plugin for slots on the server of {@code conn}: ours, which leaves out what the
     * server applied from other nodes, unless the server restricts output plugins
     * ({@code output_plugin_libraries}, newer minor releases) and does not list it. pgoutput
     * works everywhere without configuration; the receiver then skips such transactions itself.
     */
    static String outputPlugin(Connection conn) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement("SELECT coalesce(? = ANY (string_to_array(replace("
                + "current_setting('output_plugin_libraries', true), ' ', ''), ',')), true)")) {
            ps.setString(1, Names.OUTPUT_PLUGIN);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getBoolean(1) ? Names.OUTPUT_PLUGIN : Names.BUILTIN_OUTPUT_PLUGIN;
            }
        }
    }

    /**
     * Creates {@code receiver}'s slot (see {@link #outputPlugin}), replacing an inactive one of
     * the same name left by an earlier, failed join; returns its consistent point, from which it
     * decodes. Its publications come first (see {@link #prepareReceiver}).
     *
     * @param sets the replication sets the receiver streams, as an array literal; null: as the
     *             server's pgactive_connections says
     */
    public static Lsn create(Connection conn, String slot, NodeIdentity receiver, String sets) throws SQLException {
        drop(conn, slot);
        prepareReceiver(conn, receiver, sets);
        try (PreparedStatement ps = conn.prepareStatement(
                "SELECT lsn::text FROM pg_catalog.pg_create_logical_replication_slot(?, ?)")) {
            ps.setString(1, slot);
            ps.setString(2, outputPlugin(conn));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return Lsn.parse(rs.getString(1));
            }
        }
    }

    /**
     * The receiver's publications on this server, before its slot: a stream must never decode a
     * change from before they existed (PostgreSQL 15 fails the stream then).
     */
    static void prepareReceiver(Connection conn, NodeIdentity receiver, String sets) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement("SELECT pgactive._prepare_receiver(?, ?::oid, ?::oid, ?::text[])")) {
            UpstreamNode.setIdentity(ps, 1, receiver);
            ps.setString(4, sets);
            ps.execute();
        }
    }

    static void drop(Connection conn, String slot) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement(
                "SELECT pg_catalog.pg_drop_replication_slot(slot_name) FROM pg_catalog.pg_replication_slots"
                + " WHERE slot_name = ? AND NOT active")) {
            ps.setString(1, slot);
            ps.execute();
        }
    }
}
