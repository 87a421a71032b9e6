package io.pgactive.node;

import io.pgactive.catalog.LocalState;
import io.pgactive.catalog.Names;
import io.pgactive.catalog.Node;
import io.pgactive.catalog.NodeStatus;
import io.pgactive.join.Slots;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The slots from which a ready node's peers stream its changes live on its server only: no
 * physical copy carries them (pg_basebackup leaves them out, a standby has none). A node whose
 * server moved to a new timeline since it last had them was promoted from a standby or restored
 * from a backup, and takes the node's place: it makes the missing slots again. A node on the same
 * timeline that has none of them is a plain copy of a running node: were it to stream from the
 * peers under the original's identity, it would take changes the original still needs, so it
 * stays stopped and says why until it is removed (and joins as a node of its own).
 */
final class OwnSlots {

    private static final Logger log = LoggerFactory.getLogger(OwnSlots.class);

    private final Connection conn;
    private String reportedCopy;

    OwnSlots(Connection conn) {
        this.conn = conn;
    }

    /** Whether the node may run its links: false for a copy (reported in its local state). */
    boolean verify(Node self, List<Node> nodes, LocalState state) throws SQLException {
        List<Node> peers = nodes.stream()
                .filter(n -> n.status() == NodeStatus.READY && !n.id().equals(self.id()))
                .toList();
        Set<String> slots = slots();
        List<Node> missing = peers.stream().filter(p -> !slots.contains(Names.slot(self.id(), p.id()))).toList();
        Timelines timelines = timelines();
        if (timelines.changed()) {
            for (Node peer : missing) {
                String slot = Names.slot(self.id(), peer.id());
                Slots.create(conn, slot, peer.id(), null);
                log.warn("node \"{}\" runs on timeline {} since it last ran on timeline {} (a promoted standby or a"
                        + " restored backup): made slot {} for node \"{}\" again; changes committed here that node"
                        + " \"{}\" had not received before this server took over are not sent to it",
                        self.name(), timelines.current, timelines.last, slot, peer.name(), peer.name());
            }
            try (Statement st = conn.createStatement()) {
                st.execute("UPDATE pgactive.pgactive_node_identifier"
                        + " SET last_timeline = pgactive._server_timeline()");
            }
            return true;
        }
        if (peers.isEmpty() || missing.size() < peers.size()) {
            return true;
        }
        String message = "this database is a physical copy of node \"" + self.name() + "\" (it has the node's"
                + " identity but none of the slots its peers stream from): it does not replicate; run"
                + " pgactive.pgactive_remove(force := true) here and join the group as a new node";
        if (!message.equals(reportedCopy)) {
            log.warn(message);
            state.reportLostLink(message);
            reportedCopy = message;
        }
        return false;
    }

    private Set<String> slots() throws SQLException {
        Set<String> slots = new HashSet<>();
        try (Statement st = conn.createStatement();
             ResultSet rs = st.executeQuery("SELECT slot_name FROM pg_catalog.pg_replication_slots")) {
            while (rs.next()) {
                slots.add(rs.getString(1));
            }
        }
        return slots;
    }

    /** A node without a generated identifier (bypass_node_identifier_creation) has no record: no change. */
    private Timelines timelines() throws SQLException {
        try (Statement st = conn.createStatement();
             ResultSet rs = st.executeQuery("SELECT t, coalesce(i.last_timeline, t)"
                     + " FROM pgactive._server_timeline() t LEFT JOIN pgactive.pgactive_node_identifier i ON true")) {
            rs.next();
            return new Timelines(rs.getLong(1), rs.getLong(2));
        }
    }

    private record Timelines(long current, long last) {
        boolean changed() {
            return current != last;
        }
    }
}
