package io.pgactive.metrics;

import io.pgactive.conn.LocalServer;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * pgactive's metrics, read at scrape time from the SQL views a DBA would query (pgactive_links,
 * pgactive_stats, the conflict history, the slots, the nodes' statuses) of every database the
 * worker manages: the numbers Prometheus sees are the numbers psql shows.
 */
final class NodeMetrics implements MultiCollector {

    private static final Logger log = LoggerFactory.getLogger(NodeMetrics.class);

    private final LocalServer server;
    private final Supplier<? extends Iterable<String>> databases;

    NodeMetrics(LocalServer server, Supplier<? extends Iterable<String>> databases) {
        this.server = server;
        this.databases = databases;
    }

    /** The data points of one metric family, gathered across databases. */
    private static final class Family {
        final String name;
        final String help;
        final boolean counter;
        final List<Object> points = new ArrayList<>();

        Family(String name, String help, boolean counter) {
            this.name = name;
            this.help = help;
            this.counter = counter;
        }

        void add(double value, String... labels) {
            points.add(counter
                    ? CounterDataPointSnapshot.builder().value(value).labels(Labels.of(labels)).build()
                    : GaugeDataPointSnapshot.builder().value(value).labels(Labels.of(labels)).build());
        }

        MetricSnapshot snapshot() {
            if (counter) {
                CounterSnapshot.Builder b = CounterSnapshot.builder().name(name).help(help);
                points.forEach(p -> b.dataPoint((CounterDataPointSnapshot) p));
                return b.build();
            }
            GaugeSnapshot.Builder b = GaugeSnapshot.builder().name(name).help(help);
            points.forEach(p -> b.dataPoint((GaugeDataPointSnapshot) p));
            return b.build();
        }
    }

    @Override
    public MetricSnapshots collect() {
        Map<String, Family> families = new LinkedHashMap<>();
        for (Family f : List.of(
                new Family("pgactive_link_state", "State of the link from a peer (1 for its current state)", false),
                new Family("pgactive_link_lag_bytes", "Changes received from the peer and not applied yet", false),
                new Family("pgactive_link_lag_seconds", "Age of the last commit or heartbeat applied while changes wait", false),
                new Family("pgactive_link_retries", "Failed sessions of the link since it last ran", false),
                new Family("pgactive_peer_clock_ahead_seconds", "How far the peer's clock was seen ahead of this node's", false),
                new Family("pgactive_applied_transactions", "Transactions applied from the peer", true),
                new Family("pgactive_applied_rows", "Rows applied from the peer, by kind", true),
                new Family("pgactive_conflicts", "Conflicts met applying the peer's changes, by kind", true),
                new Family("pgactive_link_restarts", "Sessions of the link that ended in an error", true),
                new Family("pgactive_conflict_history_rows", "Rows of the conflict history, by type and resolution", false),
                new Family("pgactive_slot_retained_wal_bytes", "WAL a peer's slot keeps on this node", false),
                new Family("pgactive_node_status", "Status of each node of the group as this node sees it (1)", false))) {
            families.put(f.name, f);
        }
        for (String db : databases.get()) {
            try (Connection conn = server.connect(db, "pgactive:metrics")) {
                collect(conn, db, families);
            } catch (SQLException e) {
                log.warn("could not read the metrics of database \"{}\": {}", db, e.getMessage());
            }
        }
        return new MetricSnapshots(families.values().stream().map(Family::snapshot).toList());
    }

    private static void collect(Connection conn, String db, Map<String, Family> f) throws SQLException {
        try (Statement st = conn.createStatement()) {
            try (ResultSet rs = st.executeQuery("SELECT peer_name, state, lag_bytes, lag_seconds, retries,"
                    + " peer_clock_ahead_seconds FROM pgactive.pgactive_links")) {
                while (rs.next()) {
                    String peer = rs.getString(1);
                    f.get("pgactive_link_state").add(1, "database", db, "peer", peer, "state", rs.getString(2));
                    f.get("pgactive_link_lag_bytes").add(rs.getDouble(3), "database", db, "peer", peer);
                    f.get("pgactive_link_lag_seconds").add(rs.getDouble(4), "database", db, "peer", peer);
                    f.get("pgactive_link_retries").add(rs.getDouble(5), "database", db, "peer", peer);
                    f.get("pgactive_peer_clock_ahead_seconds").add(rs.getDouble(6), "database", db, "peer", peer);
                }
            }
            try (ResultSet rs = st.executeQuery("SELECT n.node_name, s.nr_commit, s.nr_insert, s.nr_update, s.nr_delete,"
                    + " s.nr_insert_conflict, s.nr_update_conflict, s.nr_delete_conflict, s.nr_disconnect"
                    + " FROM pgactive.pgactive_apply_stats s, pgactive.pgactive_nodes n,"
                    + "      pgactive.pgactive_get_local_nodeid() l"
                    + " WHERE s.riremoteid = pgactive.pgactive_format_replident_name(n.node_sysid, n.node_timeline,"
                    + "       n.node_dboid, l.dboid, '')")) {
                while (rs.next()) {
                    String peer = rs.getString(1);
                    f.get("pgactive_applied_transactions").add(rs.getDouble(2), "database", db, "peer", peer);
                    f.get("pgactive_applied_rows").add(rs.getDouble(3), "database", db, "peer", peer, "kind", "insert");
                    f.get("pgactive_applied_rows").add(rs.getDouble(4), "database", db, "peer", peer, "kind", "update");
                    f.get("pgactive_applied_rows").add(rs.getDouble(5), "database", db, "peer", peer, "kind", "delete");
                    f.get("pgactive_conflicts").add(rs.getDouble(6), "database", db, "peer", peer, "kind", "insert");
                    f.get("pgactive_conflicts").add(rs.getDouble(7), "database", db, "peer", peer, "kind", "update");
                    f.get("pgactive_conflicts").add(rs.getDouble(8), "database", db, "peer", peer, "kind", "delete");
                    f.get("pgactive_link_restarts").add(rs.getDouble(9), "database", db, "peer", peer);
                }
            }
            try (ResultSet rs = st.executeQuery("SELECT conflict_type::text, conflict_resolution::text, count(*)"
                    + " FROM pgactive.pgactive_conflict_history GROUP BY 1, 2")) {
                while (rs.next()) {
                    f.get("pgactive_conflict_history_rows").add(rs.getDouble(3), "database", db,
                            "type", rs.getString(1), "resolution", rs.getString(2));
                }
            }
            try (ResultSet rs = st.executeQuery("SELECT node_name, retained_wal"
                    + " FROM pgactive._local_replication_lag_info()")) {
                while (rs.next()) {
                    f.get("pgactive_slot_retained_wal_bytes").add(rs.getDouble(2), "database", db, "peer", rs.getString(1));
                }
            }
            try (ResultSet rs = st.executeQuery("SELECT node_name, pgactive.pgactive_node_status_from_char(node_status)"
                    + " FROM pgactive.pgactive_nodes")) {
                while (rs.next()) {
                    f.get("pgactive_node_status").add(1, "database", db, "node", rs.getString(1), "status", rs.getString(2));
                }
            }
        }
    }
}
