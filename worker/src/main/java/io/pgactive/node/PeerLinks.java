package io.pgactive.node;

import io.pgactive.catalog.Names;
import io.pgactive.catalog.Node;
import io.pgactive.catalog.NodeIdentity;
import io.pgactive.catalog.NodeStatus;
import io.pgactive.conn.ConnInfo;
import io.pgactive.conn.LocalServer;
import io.pgactive.link.LinkMode;
import io.pgactive.link.PeerLink;
import io.pgactive.locks.GlobalLockMessage;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The set of running links of a ready node: one per ready peer, each restarted if it dies. */
final class PeerLinks implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(PeerLinks.class);

    private final LocalServer server;
    private final String dbname;
    /** Read by the global lock's thread too (see {@link #inSession}). */
    private final Map<NodeIdentity, Running> running = new ConcurrentHashMap<>();
    /** Every peer a link ran from, whose origin this node holds. */
    private final Set<NodeIdentity> linked = new HashSet<>();

    private record Running(PeerLink link, String dsn) {
    }

    PeerLinks(LocalServer server, String dbname) {
        this.server = server;
        this.dbname = dbname;
    }

    /** Makes the running links match the registry's ready peers; their control messages go to {@code controlMessages}. */
    void reconcile(Node self, List<Node> nodes, boolean synchronousCommit, Consumer<String> controlMessages) {
        Map<NodeIdentity, Node> peers = nodes.stream()
                .filter(n -> n.status() == NodeStatus.READY && !n.id().equals(self.id()))
                .collect(Collectors.toMap(Node::id, n -> n));
        for (NodeIdentity id : Set.copyOf(running.keySet())) {
            Running r = running.get(id);
            Node peer = peers.get(id);
            if (peer == null || !peer.dsn().equals(r.dsn()) || !r.link().isAlive()) {
                r.link().stop();
                running.remove(id);
            }
        }
        for (Node peer : peers.values()) {
            if (!running.containsKey(peer.id())) {
                try {
                    PeerLink link = new PeerLink(server, dbname, self.id(), peer.id(), peer.name(),
                            ConnInfo.parse(peer.dsn()), LinkMode.DIRECT_ONLY, synchronousCommit, controlMessages);
                    running.put(peer.id(), new Running(link.start(), peer.dsn()));
                    linked.add(peer.id());
                } catch (IllegalArgumentException e) {
                    log.warn("cannot link to node \"{}\": its node_dsn is invalid: {}", peer.name(), e.getMessage());
                }
            }
        }
    }

    /** Whether the link from the node that {@code lockNodeId} names is in a session (see GlobalLockPeer). */
    boolean inSession(String lockNodeId) {
        return running.entrySet().stream()
                .anyMatch(e -> GlobalLockMessage.nodeId(e.getKey()).equals(lockNodeId) && e.getValue().link().inSession());
    }

    /** Local DDL committed; see {@link PeerLink#localSchemaChanged()}. */
    void localSchemaChanged() {
        running.values().forEach(r -> r.link().localSchemaChanged());
    }

    void stopAll() {
        running.values().forEach(r -> r.link().stop());
        running.clear();
    }

    /**
     * Once this database is no node any more (removed, or detached by its group): stops the
     * links and drops the origins they used, which were in use until now.
     */
    void forgetOrigins(Connection conn, NodeIdentity self) throws SQLException {
        stopAll();
        try (PreparedStatement ps = conn.prepareStatement("SELECT pg_replication_origin_drop(roname)"
                + " FROM pg_replication_origin WHERE roname = ANY (?)")) {
            ps.setArray(1, conn.createArrayOf("text", linked.stream().map(peer -> Names.origin(peer, self)).toArray()));
            ps.execute();
        }
        linked.clear();
    }

    @Override
    public void close() {
        stopAll();
    }
}
