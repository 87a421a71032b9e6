package io.pgactive.join;

import io.pgactive.apply.OriginSession;
import io.pgactive.catalog.LocalState;
import io.pgactive.catalog.Names;
import io.pgactive.catalog.Node;
import io.pgactive.catalog.NodeCatalog;
import io.pgactive.catalog.NodeIdentity;
import io.pgactive.catalog.NodeStatus;
import io.pgactive.catalog.ServerSettings;
import io.pgactive.conn.ConnInfo;
import io.pgactive.conn.Connector;
import io.pgactive.conn.LocalServer;
import io.pgactive.conn.UserMappings;
import io.pgactive.link.LinkMode;
import io.pgactive.link.PeerLink;
import io.pgactive.pg.Lsn;
import io.pgactive.pg.SqlText;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker's half of {@code pgactive_join_group}: a logical join from an upstream node U while
 * every node keeps writing (DESIGN.md, "Joining a node"). Statuses b → i → c → o → r.
 *
 * <ol>
 * <li>b: check the upstream and register this node N in its registry;</li>
 * <li>i: create N's slot on every other node X first (at s_X), then N's slot on U with an
 *     exported snapshot, and copy schema, data and registry from that snapshot;</li>
 * <li>c: replay U's stream from the snapshot, including what U applied from others, each under
 *     N's origin for the originator; stop once U has applied every X up to s_X and N has
 *     replayed U past that moment, then move N's origin for every X to at least s_X;</li>
 * <li>o: create the slots from which every peer will stream from N;</li>
 * <li>r: ready; the node manager starts direct links, each resuming at N's origin progress.</li>
 * </ol>
 */
public final class NodeJoin {

    private static final Logger log = LoggerFactory.getLogger(NodeJoin.class);
    private static final long CATCHUP_POLL_MILLIS = 200;
    private static final long DETACHED_WAIT_MILLIS = 60_000;
    /**
     * Catch-up sessions that may fail before the join gives up and says why. A passing network
     * problem gets over this many retries (with the link's back-off, some seconds); a setting or
     * a schema that makes every session fail would otherwise keep the join waiting for ever.
     */
    private static final int CATCHUP_MAX_FAILURES = 4;

    private final LocalServer local;
    private final String dbname;
    private final Path binDir;
    private final Connection conn;
    private final NodeCatalog catalog;
    private final LocalState state;
    private final Node self;
    private final int attempt;

    public NodeJoin(LocalServer local, String dbname, Path binDir, Connection conn, LocalState state, Node self,
                    int attempt) {
        this.local = local;
        this.dbname = dbname;
        this.binDir = binDir;
        this.conn = conn;
        this.catalog = new NodeCatalog(conn);
        this.state = state;
        this.self = self;
        this.attempt = attempt;
    }

    /** Runs the whole join; on failure reports it to the user and undoes what blocks a retry. */
    public void run() throws SQLException {
        ConnInfo upstreamDsn;
        try {
            upstreamDsn = UserMappings.resolve(ConnInfo.parse(self.initFromDsn()), conn);
        } catch (IllegalArgumentException e) {
            state.fail(attempt, "join_using_dsn is invalid: " + e.getMessage());
            return;
        } catch (SQLException e) {
            state.fail(attempt, "join_using_dsn cannot be used: " + e.getMessage());
            return;
        }
        log.info("node \"{}\" {} is joining the group", self.name(), self.id());
        try (UpstreamNode upstream = UpstreamNode.connect(upstreamDsn, Names.applicationName(self.id(), "init"))) {
            if (NodeIdentity.of(upstream.conn).equals(self.id())) {
                // Nothing to clean up, and what a failed join cleans up on its upstream is this node.
                state.fail(attempt, "join_using_dsn \"" + upstreamDsn + "\" leads to this very database;"
                        + " it must reach a node of the group to join");
                return;
            }
            try {
                join(upstream);
            } catch (JoinFailure | SQLException e) {
                log.warn("join of node \"{}\" failed: {}", self.name(), e.getMessage());
                state.fail(attempt, e.getMessage());
                cleanUpAfterFailure(upstream);
            } catch (RuntimeException e) {
                // A bug of ours: the join still fails cleanly, saying what happened.
                log.error("join of node \"{}\" failed", self.name(), e);
                state.fail(attempt, "the join failed unexpectedly: " + e);
                cleanUpAfterFailure(upstream);
            }
        } catch (JoinFailure e) {
            log.warn("join of node \"{}\" failed: {}", self.name(), e.getMessage());
            state.fail(attempt, e.getMessage());
        }
    }

    private void join(UpstreamNode upstream) throws JoinFailure, SQLException {
        JoinOptions options = options();
        Node upstreamNode = checkUpstream(upstream, options);
        upstream.register(self, applyDelay(), replicationSets());
        progress(NodeStatus.COPYING_INITIAL_DATA, upstream, "registered with upstream node \"" + upstreamNode.name() + "\"");
        // After this join's own writes on U: on a quiet upstream nothing then commits before the
        // snapshot, and the scan for rows changed meanwhile is skipped. Before any slot on the
        // other nodes: what they send directly must be newer than the join's start.
        UpstreamNode.JoinStart joinStart = upstream.joinStart();

        // Slots on the other nodes come first: whatever they commit after s_X reaches N either
        // through U's stream (if U applied it before catch-up ends) or directly from X's slot.
        Map<Node, Lsn> others = new LinkedHashMap<>();
        for (Node x : upstream.nodes()) {
            if (x.status() == NodeStatus.READY && !x.id().equals(upstreamNode.id()) && !x.id().equals(self.id())) {
                others.put(x, createSlotOn(x));
            }
        }
        for (Node x : others.keySet()) {
            OriginSession.recreate(conn, Names.origin(x.id(), self.id()));
        }
        OriginSession.recreate(conn, Names.origin(upstreamNode.id(), self.id()));

        copyFromSnapshot(upstream, upstreamNode, options, joinStart);
        progress(NodeStatus.CATCHUP, upstream, "catching up with upstream node \"" + upstreamNode.name() + "\"");
        catchUp(upstream, upstreamNode, others);

        progress(NodeStatus.CREATING_OUTBOUND_SLOTS, upstream, "creating slots for the other nodes");
        for (Node peer : upstream.nodes()) {
            if (!peer.id().equals(self.id()) && peer.status() != NodeStatus.KILLED) {
                Slots.create(conn, Names.slot(self.id(), peer.id()), peer.id(), null);
            }
        }
        state.readyNow();
        progress(NodeStatus.READY, upstream, "ready");
        log.info("node \"{}\" {} joined the group through node \"{}\" and is ready", self.name(), self.id(),
                upstreamNode.name());
    }

    private Node checkUpstream(UpstreamNode upstream, JoinOptions options) throws SQLException, JoinFailure {
        Node upstreamNode = upstream.readyNode();
        List<Node> nodes = upstream.nodes();
        for (Node n : nodes) {
            if (n.name().equals(self.name()) && !n.id().equals(self.id()) && n.status() != NodeStatus.KILLED) {
                throw new JoinFailure("node name \"" + self.name() + "\" is already used in the group by node " + n.id());
            }
        }
        long members = nodes.stream()
                .filter(n -> n.status() != NodeStatus.KILLED && !n.id().equals(self.id())).count();
        int maxNodes = Integer.parseInt(ServerSettings.current(upstream.conn, "pgactive.max_nodes"));
        if (members >= maxNodes) {
            throw new JoinFailure("the group already has pgactive.max_nodes = " + maxNodes + " nodes");
        }
        String theirs = UpstreamNode.locale(upstream.conn);
        String ours = UpstreamNode.locale(conn);
        if (!theirs.equals(ours)) {
            if (!options.bypassCollationCheck()) {
                throw new JoinFailure("the upstream database has " + theirs + " but this database has " + ours
                        + "; create this database to match, or pass bypass_collation_check := true");
            }
            log.warn("joining despite different locales: upstream has {}, this database has {}", theirs, ours);
        }
        if (options.dataOnly()) {
            checkSameTables(upstream);
        }
        return upstreamNode;
    }

    /**
     * A data-only join copies rows into the tables this database has: every table of the
     * upstream must be here, with the same columns of the same types (in any order).
     */
    private void checkSameTables(UpstreamNode upstream) throws SQLException, JoinFailure {
        Map<String, String> theirs = UpstreamNode.tableShapes(upstream.conn);
        Map<String, String> ours = UpstreamNode.tableShapes(conn);
        for (Map.Entry<String, String> table : theirs.entrySet()) {
            String here = ours.get(table.getKey());
            if (here == null) {
                throw new JoinFailure("data_only_node_init: table " + table.getKey() + " of the upstream does not exist"
                        + " here; create it as on the upstream: (" + table.getValue() + ")");
            }
            if (!here.equals(table.getValue())) {
                throw new JoinFailure("data_only_node_init: table " + table.getKey() + " differs from the upstream's:"
                        + " the upstream has (" + table.getValue() + "), this database has (" + here + ")");
            }
        }
    }

    /**
     * Creates N's slot on X and returns s_X. Also commits an (empty) marker transaction on X
     * after s_X, so that U's link from X processes a commit past s_X even when X is idle.
     */
    private Lsn createSlotOn(Node x) throws JoinFailure, SQLException {
        try (Connection xc = Connector.connect(dsnOf(x), Names.applicationName(self.id(), "init"))) {
            awaitNotDetachedOn(x, xc);
            Lsn slotPoint = Slots.create(xc, Names.slot(x.id(), self.id()), self.id(), replicationSets());
            try (PreparedStatement ps = xc.prepareStatement("SELECT pg_logical_emit_message(true, ?, ?)::text")) {
                ps.setString(1, Names.MESSAGE_PREFIX);
                ps.setString(2, "join:" + self.id().sysid());
                ps.execute();
            }
            return slotPoint;
        } catch (SQLException e) {
            throw new JoinFailure("could not create a replication slot on node \"" + x.name() + "\"", e);
        }
    }

    /** Schema, data and registry, all from the snapshot of N's slot on U. */
    private void copyFromSnapshot(UpstreamNode upstream, Node upstreamNode, JoinOptions options,
                                  UpstreamNode.JoinStart joinStart)
            throws SQLException, JoinFailure {
        String slot = Names.slot(upstreamNode.id(), self.id());
        Slots.drop(upstream.conn, slot);
        Slots.prepareReceiver(upstream.conn, self.id(), replicationSets());
        long total = upstream.databaseSize();
        try (Connection repl = Connector.connectReplication(upstream.dsn, Names.applicationName(self.id(), "init"))) {
            String snapshot;
            try (Statement st = repl.createStatement();
                 ResultSet rs = st.executeQuery("CREATE_REPLICATION_SLOT " + SqlText.identifier(slot)
                         + " LOGICAL " + Slots.outputPlugin(upstream.conn) + " (SNAPSHOT 'export')")) {
                rs.next();
                snapshot = rs.getString("snapshot_name");
            }
            SnapshotCatalogCopy fromSnapshot = new SnapshotCatalogCopy(conn, self.id(), upstream.dsn, snapshot);
            fromSnapshot.copyRegistry();
            fromSnapshot.copyRecentRowTimes(joinStart, upstreamNode.id());
            String db = "database '" + dbname + "'";
            report("transferring " + db + " from node \"" + upstreamNode.name() + "\": 0 of about " + mb(total)
                    + " MB copied");
            new DataCopy(binDir, Integer.parseInt(ServerSettings.current(conn, "pgactive.init_node_parallel_jobs"))).copy(
                    upstream.dsn, snapshot, upstream.connectionServers(), fromSnapshot.tables(replicationSets()),
                    local.connInfo(dbname),
                    options.dataOnly() ? DataCopy.Schema.KEPT
                            : options.bypassUserTablesCheck() ? DataCopy.Schema.COPIED_OVER : DataCopy.Schema.COPIED,
                    bytes -> report("transferring " + db + " from node \"" + upstreamNode.name() + "\": "
                            + mb(bytes) + " of about " + mb(total) + " MB copied"),
                    () -> report("building indexes and constraints of " + db + " ("
                            + percent(localDatabaseSize(), total) + "% of " + mb(total) + " MB on disk)"));
        }
    }

    /**
     * Replays U's stream, including what U applied from the other nodes, until U has applied
     * every other node X at least up to s_X and N has replayed U past that moment.
     */
    private void catchUp(UpstreamNode upstream, Node upstreamNode, Map<Node, Lsn> others)
            throws SQLException, JoinFailure {
        String token = "catchup:" + self.id().sysid() + ":" + UUID.randomUUID();
        CountDownLatch markerSeen = new CountDownLatch(1);
        PeerLink link = new PeerLink(local, dbname, self.id(), upstreamNode.id(), upstreamNode.name(), upstream.dsn,
                LinkMode.CATCHUP, false, message -> {
                    if (message.equals(token)) {
                        markerSeen.countDown();
                    }
                }).start();
        try {
            for (Map.Entry<Node, Lsn> x : others.entrySet()) {
                while (!confirmedTo(x.getKey(), upstreamNode).isAfter(x.getValue())) {
                    report("catching up: waiting for node \"" + upstreamNode.name() + "\" to apply node \""
                            + x.getKey().name() + "\" past " + x.getValue());
                    pause(CATCHUP_POLL_MILLIS);
                }
            }
            upstream.emitMarker(token);
            while (!markerSeen.await(CATCHUP_POLL_MILLIS, TimeUnit.MILLISECONDS)) {
                if (!link.isAlive()) {
                    throw new JoinFailure("catch-up from node \"" + upstreamNode.name() + "\" stopped");
                }
                if (link.failures() >= CATCHUP_MAX_FAILURES) {
                    throw new JoinFailure("catch-up from node \"" + upstreamNode.name() + "\" failed "
                            + link.failures() + " times, last: " + link.lastFailure());
                }
                report("catching up with node \"" + upstreamNode.name() + "\""
                        + (link.lastFailure() == null ? "" : " (retrying after: " + link.lastFailure() + ")"));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new JoinFailure("catch-up was interrupted");
        } finally {
            link.stop();
        }
        for (Map.Entry<Node, Lsn> x : others.entrySet()) {
            advanceOrigin(Names.origin(x.getKey().id(), self.id()), x.getValue());
        }
    }

    /**
     * A node the group detached that joins again keeps its identity, and X drops the slots of
     * nodes it lists as detached: the slot is created once X has learnt, from U's stream, that
     * this node is joining.
     */
    private void awaitNotDetachedOn(Node x, Connection xc) throws JoinFailure, SQLException {
        long deadline = System.currentTimeMillis() + DETACHED_WAIT_MILLIS;
        NodeCatalog xCatalog = new NodeCatalog(xc);
        while (xCatalog.allNodes().stream().anyMatch(n -> n.id().equals(self.id()) && n.status() == NodeStatus.KILLED)) {
            if (System.currentTimeMillis() > deadline) {
                throw new JoinFailure("node \"" + x.name() + "\" still lists this node as detached after "
                        + DETACHED_WAIT_MILLIS / 1000 + " s; is it replicating from the upstream?");
            }
            report("waiting for node \"" + x.name() + "\" to learn that this node joins again");
            pause(CATCHUP_POLL_MILLIS);
        }
    }

    /**
     * How far U has durably processed X's changes: what U confirmed on its slot on X. U confirms
     * only what it has committed (or skipped), so everything X committed before is on U.
     */
    private Lsn confirmedTo(Node x, Node upstreamNode) throws JoinFailure {
        try (Connection xc = Connector.connect(dsnOf(x), Names.applicationName(self.id(), "init"));
             PreparedStatement ps = xc.prepareStatement(
                     "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = ?")) {
            ps.setString(1, Names.slot(x.id(), upstreamNode.id()));
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() && rs.getString(1) != null ? Lsn.parse(rs.getString(1)) : Lsn.ZERO;
            }
        } catch (SQLException e) {
            throw new JoinFailure("could not read the progress of node \"" + upstreamNode.name()
                    + "\" on node \"" + x.name() + "\"", e);
        }
    }

    /** Direct streaming from X starts at N's origin progress for X, which must not be below s_X. */
    private void advanceOrigin(String origin, Lsn atLeast) throws SQLException {
        if (OriginSession.progress(conn, origin, false).isBefore(atLeast)) {
            try (PreparedStatement ps = conn.prepareStatement("SELECT pg_replication_origin_advance(?, ?::pg_lsn)")) {
                ps.setString(1, origin);
                ps.setString(2, atLeast.toString());
                ps.execute();
            }
        }
    }

    /** How this node reaches X: its DSN, with a user mapping it names looked up here. */
    private ConnInfo dsnOf(Node x) throws SQLException {
        return UserMappings.resolve(ConnInfo.parse(x.dsn()), conn);
    }

    /** Records a status here and on the upstream, from where the whole group learns it. */
    private void progress(NodeStatus status, UpstreamNode upstream, String text) throws SQLException {
        upstream.catalog.setStatus(self.id(), status);
        catalog.setStatus(self.id(), status);
        state.progress(attempt, text);
    }

    private void report(String text) {
        try {
            state.progress(attempt, text);
        } catch (SQLException e) {
            log.debug("could not report progress: {}", e.getMessage());
        }
    }

    /** Leaves nothing that blocks a retry: N out of the registry, its slots gone, status 'b'. */
    private void cleanUpAfterFailure(UpstreamNode upstream) {
        try {
            for (Node x : upstream.nodes()) {
                if (x.id().equals(self.id())) {
                    continue;
                }
                try (Connection xc = Connector.connect(dsnOf(x), Names.applicationName(self.id(), "init"))) {
                    Slots.drop(xc, Names.slot(x.id(), self.id()));
                } catch (SQLException | IllegalArgumentException e) {
                    log.warn("could not drop the slot of failed node \"{}\" on node \"{}\": {}", self.name(), x.name(),
                            e.getMessage());
                }
            }
            upstream.unregister(self.id());
            catalog.setStatus(self.id(), NodeStatus.BEGINNING);
        } catch (SQLException e) {
            log.warn("cleaning up after the failed join of node \"{}\": {}", self.name(), e.getMessage());
        }
    }

    private JoinOptions options() throws SQLException {
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT coalesce((join_options->>'bypass_collation_check')::boolean, false),"
                + " coalesce((join_options->>'bypass_user_tables_check')::boolean, false),"
                + " coalesce((join_options->>'data_only_node_init')::boolean, false)"
                + " FROM pgactive.pgactive_local_state")) {
            return rs.next() ? new JoinOptions(rs.getBoolean(1), rs.getBoolean(2), rs.getBoolean(3))
                    : new JoinOptions(false, false, false);
        }
    }

    private Integer applyDelay() throws SQLException {
        String v = connectionColumn("conn_apply_delay::text");
        return v == null ? null : Integer.valueOf(v);
    }

    private String replicationSets() throws SQLException {
        return connectionColumn("conn_replication_sets::text");
    }

    private String connectionColumn(String expression) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement("SELECT " + expression
                + " FROM pgactive.pgactive_connections WHERE conn_sysid = ? AND conn_timeline = ? AND conn_dboid = ?")) {
            UpstreamNode.setIdentity(ps, 1, self.id());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    private long localDatabaseSize() {
        try (Statement st = conn.createStatement();
             ResultSet rs = st.executeQuery("SELECT pg_database_size(current_database())")) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            return 0;
        }
    }

    private static long mb(long bytes) {
        return bytes / (1024 * 1024);
    }

    private static long percent(long part, long total) {
        return total <= 0 ? 0 : Math.min(100, part * 100 / total);
    }


    private static void pause(long millis) throws JoinFailure {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new JoinFailure("the join was interrupted");
        }
    }
}
