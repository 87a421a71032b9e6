package io.pgactive.node;

import io.pgactive.catalog.LocalState;
import io.pgactive.catalog.Node;
import io.pgactive.catalog.NodeCatalog;
import io.pgactive.catalog.NodeIdentity;
import io.pgactive.catalog.NodeStatus;
import io.pgactive.conn.LocalServer;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Optional;
import java.util.OptionalInt;
import org.postgresql.PGConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one pgactive node (one database): drives it through its states and, once replication is
 * built, its peer links. Woken by NOTIFY from the SQL API; polls as a fallback.
 */
public final class NodeManager implements Runnable {

    private static final Logger log = LoggerFactory.getLogger(NodeManager.class);
    private static final int POLL_MILLIS = 1000;
    private static final long MAX_BACKOFF_MILLIS = 30_000;

    private final LocalServer server;
    private final String dbname;
    private volatile boolean stopping;

    public NodeManager(LocalServer server, String dbname) {
        this.server = server;
        this.dbname = dbname;
    }

    public String dbname() {
        return dbname;
    }

    public void stop() {
        stopping = true;
    }

    @Override
    public void run() {
        long backoff = 1000;
        while (!stopping) {
            try {
                if (!manageUntilNoLongerANode()) {
                    return;
                }
            } catch (SQLException e) {
                log.warn("node manager for database \"{}\" lost its connection: {}; retrying in {} ms",
                        dbname, e.getMessage(), backoff);
                if (!Pause.sleep(backoff)) {
                    return;
                }
                backoff = Math.min(backoff * 2, MAX_BACKOFF_MILLIS);
            }
        }
    }

    /** Returns false once the database is no longer a node, true when asked to stop. */
    private boolean manageUntilNoLongerANode() throws SQLException {
        try (Connection conn = server.connect(dbname, "pgactive:manager")) {
            NodeIdentity self = NodeIdentity.of(conn);
            try (Statement st = conn.createStatement()) {
                st.execute("SET application_name = 'pgactive:" + self.sysid() + ":perdb'");
                st.execute("LISTEN pgactive");
            }
            NodeCatalog catalog = new NodeCatalog(conn);
            LocalState state = new LocalState(conn);
            while (!stopping) {
                if (!catalog.extensionInstalled()) {
                    log.info("pgactive was dropped from database \"{}\"", dbname);
                    return false;
                }
                Optional<Node> node = catalog.localNode();
                if (node.isEmpty() || node.get().status() == NodeStatus.KILLED) {
                    log.info("database \"{}\" is no longer a pgactive node", dbname);
                    return false;
                }
                step(node.get(), catalog, state);
                conn.unwrap(PGConnection.class).getNotifications(POLL_MILLIS);
            }
            return true;
        }
    }

    private void step(Node node, NodeCatalog catalog, LocalState state) throws SQLException {
        if (node.status() != NodeStatus.BEGINNING) {
            return;
        }
        OptionalInt attempt = state.currentAttempt();
        if (attempt.isEmpty() || state.hasFailed(attempt.getAsInt())) {
            return; // the user has to fix something and call create/join again
        }
        if (node.createsGroup()) {
            new GroupCreation(catalog, state).run(node, attempt.getAsInt());
        } else {
            state.fail(attempt.getAsInt(),
                    "pgactive_join_group is not supported by this version of the pgactive worker yet");
        }
    }
}
