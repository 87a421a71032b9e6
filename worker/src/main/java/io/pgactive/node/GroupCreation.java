package io.pgactive.node;

import io.pgactive.catalog.LocalState;
import io.pgactive.catalog.Node;
import io.pgactive.catalog.NodeCatalog;
import io.pgactive.catalog.NodeIdentity;
import io.pgactive.catalog.NodeStatus;
import io.pgactive.conn.ConnInfo;
import io.pgactive.conn.Connector;
import io.pgactive.conn.UserMappings;
import java.sql.Connection;
import java.sql.SQLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker's half of {@code pgactive_create_group}: prove that the node's DSN, which every
 * future peer will use to reach this node, really leads back to this database, then declare the
 * node ready. A DSN that reaches another server would silently split the group later.
 */
final class GroupCreation {

    private static final Logger log = LoggerFactory.getLogger(GroupCreation.class);

    private final Connection conn;
    private final NodeCatalog catalog;
    private final LocalState state;

    GroupCreation(Connection conn, NodeCatalog catalog, LocalState state) {
        this.conn = conn;
        this.catalog = catalog;
        this.state = state;
    }

    void run(Node node, int attempt) throws SQLException {
        state.progress(attempt, "checking that node_dsn reaches this database");
        String problem = checkDsnReachesSelf(node);
        if (problem != null) {
            log.warn("pgactive_create_group of node \"{}\" failed: {}", node.name(), problem);
            state.fail(attempt, problem);
            return;
        }
        state.readyNow();
        if (catalog.advanceStatus(node, NodeStatus.READY)) {
            state.progress(attempt, "ready");
            log.info("node \"{}\" {} created a new pgactive group and is ready", node.name(), node.id());
        }
    }

    /** Returns null when the DSN is fine, else a message for the user. */
    private String checkDsnReachesSelf(Node node) {
        ConnInfo info;
        try {
            info = UserMappings.resolve(ConnInfo.parse(node.dsn()), conn);
        } catch (IllegalArgumentException e) {
            return "node_dsn of node \"" + node.name() + "\" is invalid: " + e.getMessage();
        } catch (SQLException e) {
            return "node_dsn of node \"" + node.name() + "\" cannot be used: " + e.getMessage();
        }
        NodeIdentity reached;
        try (Connection conn = Connector.connect(info, "pgactive:" + node.id().sysid() + ":init")) {
            reached = NodeIdentity.of(conn);
        } catch (SQLException e) {
            return "could not connect to node_dsn \"" + info + "\" of node \"" + node.name() + "\": "
                    + e.getMessage();
        }
        if (!reached.equals(node.id())) {
            return "node_dsn \"" + info + "\" of node \"" + node.name() + "\" reaches database " + reached
                    + ", not this database " + node.id();
        }
        return null;
    }
}
