package io.pgactive.node;

import io.pgactive.catalog.NodeCatalog;
import io.pgactive.catalog.NodeStatus;
import io.pgactive.conn.LocalServer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Finds the databases of the local instance in which pgactive has a (becoming) node. */
final class DatabaseScanner {

    private static final Logger log = LoggerFactory.getLogger(DatabaseScanner.class);
    private static final String UNDEFINED_DATABASE = "3D000";

    private final LocalServer server;
    private final List<String> onlyDatabases;

    /** {@code onlyDatabases} empty means every database that accepts connections. */
    DatabaseScanner(LocalServer server, List<String> onlyDatabases) {
        this.server = server;
        this.onlyDatabases = onlyDatabases;
    }

    /** Databases with a node, skipping those in {@code skip} (already managed). */
    Set<String> activeDatabases(Set<String> skip) throws SQLException {
        Set<String> active = new TreeSet<>();
        for (String db : candidates()) {
            if (!skip.contains(db) && hasNode(db)) {
                active.add(db);
            }
        }
        return active;
    }

    private List<String> candidates() throws SQLException {
        if (!onlyDatabases.isEmpty()) {
            return onlyDatabases;
        }
        // Not template1: a session there would make CREATE DATABASE fail for its users.
        try (Connection conn = server.connect("postgres", "pgactive:scanner")) {
            return listDatabases(conn);
        } catch (SQLException e) {
            if (!UNDEFINED_DATABASE.equals(e.getSQLState())) {
                throw e;
            }
            try (Connection conn = server.connect("template1", "pgactive:scanner")) {
                return listDatabases(conn);
            }
        }
    }

    private static List<String> listDatabases(Connection conn) throws SQLException {
        List<String> names = new ArrayList<>();
        try (Statement st = conn.createStatement();
             ResultSet rs = st.executeQuery(
                     "SELECT datname FROM pg_catalog.pg_database WHERE datallowconn AND NOT datistemplate")) {
            while (rs.next()) {
                names.add(rs.getString(1));
            }
        }
        return names;
    }

    private boolean hasNode(String db) {
        try (Connection conn = server.connect(db, "pgactive:scanner")) {
            NodeCatalog catalog = new NodeCatalog(conn);
            return catalog.extensionInstalled()
                    && catalog.localNode().filter(n -> n.status() != NodeStatus.KILLED).isPresent();
        } catch (SQLException e) {
            // A database being dropped or not accepting connections right now is simply not active.
            log.debug("skipping database \"{}\": {}", db, e.getMessage());
            return false;
        }
    }
}
