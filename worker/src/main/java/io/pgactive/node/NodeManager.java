package io.pgactive.node;

import io.pgactive.catalog.LocalState;
import io.pgactive.catalog.Names;
import io.pgactive.catalog.Node;
import io.pgactive.catalog.NodeCatalog;
import io.pgactive.catalog.NodeIdentity;
import io.pgactive.catalog.NodeStatus;
import io.pgactive.catalog.ServerSettings;
import io.pgactive.conn.LocalServer;
import io.pgactive.join.NodeJoin;
import io.pgactive.locks.GlobalLockPeer;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one pgactive node (one database): drives it through create or join, then keeps one
 * {@link io.pgactive.link.PeerLink} running per ready peer, or none while apply is paused, and
 * this node's part in the global DDL lock ({@link GlobalLockPeer}). Woken
 * by NOTIFY from the SQL API; polls once a second so that registry changes arriving by replication
 * are noticed too.
 */
public final class NodeManager implements Runnable {

    private static final Logger log = LoggerFactory.getLogger(NodeManager.class);
    private static final int POLL_MILLIS = 1000;
    private static final long MAX_BACKOFF_MILLIS = 30_000;
    /** What connecting to a database that does not exist (any more) fails with. */
    private static final String INVALID_CATALOG_NAME = "3D000";

    private final LocalServer server;
    private final Path binDir;
    private final String dbname;
    private final ApplyPauseWatch applyPause = new ApplyPauseWatch();
    private final Heartbeat heartbeat = new Heartbeat();
    private final ReloadableSettings settings = new ReloadableSettings();
    private volatile boolean stopping;

    public NodeManager(LocalServer server, Path binDir, String dbname) {
        this.server = server;
        this.binDir = binDir;
        this.dbname = dbname;
    }

    public void stop() {
        stopping = true;
    }

    @Override
    public void run() {
        long backoff = 1000;
        try (PeerLinks links = new PeerLinks(server, dbname)) {
            while (!stopping) {
                long sessionStart = System.currentTimeMillis();
                try {
                    if (!manageUntilNoLongerANode(links)) {
                        return;
                    }
                } catch (SQLException e) {
                    if (System.currentTimeMillis() - sessionStart > MAX_BACKOFF_MILLIS) {
                        backoff = 1000; // it ran fine for a while: retry promptly
                    }
                    if (INVALID_CATALOG_NAME.equals(e.getSQLState())) {
                        log.info("database \"{}\" was dropped; no longer managing it", dbname);
                        return;
                    }
                    log.warn("node manager for database \"{}\" lost its connection: {}; retrying in {} ms",
                            dbname, e.getMessage(), backoff);
                    if (!Pause.sleep(backoff)) {
                        return;
                    }
                    backoff = Math.min(backoff * 2, MAX_BACKOFF_MILLIS);
                }
            }
        }
    }

    /** Returns false once the database is no longer a node, true when asked to stop. */
    private boolean manageUntilNoLongerANode(PeerLinks links) throws SQLException {
        try (Connection conn = server.connect(dbname, "pgactive:manager")) {
            NodeIdentity self = NodeIdentity.of(conn);
            try (Statement st = conn.createStatement()) {
                st.execute("SET application_name = '" + Names.applicationName(self, "perdb") + "'");
                st.execute("LISTEN pgactive");
                st.execute("LISTEN pgactive_ddl"); // local DDL (sql/: pgactive._local_ddl_done)
            }
            NodeCatalog catalog = new NodeCatalog(conn);
            LocalState state = new LocalState(conn);
            OwnSlots ownSlots = new OwnSlots(conn);
            try (GlobalLockPeer locks = new GlobalLockPeer(server, dbname, self, links::inSession).start()) {
                return manage(conn, self, catalog, state, ownSlots, links, locks);
            }
        }
    }

    private boolean manage(Connection conn, NodeIdentity self, NodeCatalog catalog, LocalState state, OwnSlots ownSlots,
                           PeerLinks links, GlobalLockPeer locks) throws SQLException {
        boolean firstLook = true;
        while (!stopping) {
            if (!catalog.extensionInstalled()) {
                log.info("pgactive was dropped from database \"{}\"", dbname);
                return false;
            }
            Optional<Node> node = catalog.localNode();
            if (node.isEmpty() || node.get().status() == NodeStatus.KILLED) {
                log.info("database \"{}\" is no longer a pgactive node{}", dbname,
                        node.isPresent() ? ": the group detached it" : "");
                links.forgetOrigins(conn, self);
                return false;
            }
            step(node.get(), conn, catalog, state, ownSlots, links, locks, firstLook);
            firstLook = false;
            PGNotification[] received = conn.unwrap(PGConnection.class).getNotifications(POLL_MILLIS);
            if (received != null && Arrays.stream(received).anyMatch(n -> n.getName().equals("pgactive_ddl"))) {
                links.localSchemaChanged();
            }
        }
        return true;
    }

    /** Their links are stopped by now: their slots and origins here go (see _forget_detached_nodes). */
    private void forgetDetachedNodes(Connection conn) throws SQLException {
        try (Statement st = conn.createStatement();
             ResultSet rs = st.executeQuery("SELECT pgactive._forget_detached_nodes()")) {
            rs.next();
            if (rs.getInt(1) > 0) {
                log.info("dropped {} slots and origins of nodes the group detached", rs.getInt(1));
            }
        }
    }

    private void step(Node node, Connection conn, NodeCatalog catalog, LocalState state, OwnSlots ownSlots,
                      PeerLinks links, GlobalLockPeer locks, boolean firstLook) throws SQLException {
        switch (node.status()) {
            case READY -> {
                heartbeat.beatIfDue(conn); // for this node's own stream: paused apply or not
                if (applyPause.paused(state, node.name())) {
                    // Each link resumes from its origin's progress, so stopping loses nothing.
                    links.stopAll();
                } else {
                    if (settings.changed(conn)) {
                        log.info("pgactive's settings were reloaded: the links restart to read them");
                        links.stopAll();
                    }
                    List<Node> nodes = catalog.allNodes();
                    if (!ownSlots.verify(node, nodes, state)) {
                        links.stopAll();
                        return;
                    }
                    links.reconcile(node, nodes, "on".equals(ServerSettings.current(conn, "pgactive.synchronous_commit")),
                            locks::received);
                    if (nodes.stream().anyMatch(n -> n.status() == NodeStatus.KILLED && !n.id().equals(node.id()))) {
                        forgetDetachedNodes(conn);
                    }
                }
            }
            case BEGINNING -> {
                OptionalInt attempt = state.currentAttempt();
                if (attempt.isEmpty() || state.hasFailed(attempt.getAsInt())) {
                    return; // the user has to fix something and call create/join again
                }
                if (node.createsGroup()) {
                    new GroupCreation(conn, catalog, state).run(node, attempt.getAsInt());
                } else {
                    new NodeJoin(server, dbname, binDir, conn, state, node, attempt.getAsInt()).run();
                }
            }
            default -> {
                // A join runs inside step(), so a half-done one found at start means the worker
                // restarted. (Later, the upstream's record of our own status changes may replay
                // through the link; those pass.)
                OptionalInt attempt = state.currentAttempt();
                if (firstLook && attempt.isPresent() && !state.hasFailed(attempt.getAsInt())) {
                    state.fail(attempt.getAsInt(), "the join of node \"" + node.name() + "\" was interrupted"
                            + " by a restart of the pgactive worker; call pgactive.pgactive_remove() and join again");
                }
            }
        }
    }
}
