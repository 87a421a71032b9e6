package io.pgactive.link;

import io.pgactive.apply.ApplySession;
import io.pgactive.apply.ApplyStats;
import io.pgactive.apply.BufferedApplier;
import io.pgactive.apply.OriginSession;
import io.pgactive.catalog.LocalState;
import io.pgactive.catalog.Names;
import io.pgactive.catalog.NodeCatalog;
import io.pgactive.catalog.ServerSettings;
import io.pgactive.catalog.NodeIdentity;
import io.pgactive.catalog.NodeStatus;
import io.pgactive.conflict.ColumnChanges;
import io.pgactive.conflict.PriorVersion;
import io.pgactive.conflict.RemoteTransaction;
import io.pgactive.conflict.SeenVersions;
import io.pgactive.conn.ConnInfo;
import io.pgactive.conn.Connector;
import io.pgactive.conn.LocalServer;
import io.pgactive.conn.UserMappings;
import io.pgactive.pg.Lsn;
import io.pgactive.pg.PgTimestamps;
import io.pgactive.pg.ServerErrors;
import io.pgactive.pgoutput.PgOutputDecoder;
import io.pgactive.pgoutput.PgOutputMessage.Begin;
import io.pgactive.pgoutput.PgOutputMessage.Commit;
import io.pgactive.pgoutput.PgOutputMessage.Delete;
import io.pgactive.pgoutput.PgOutputMessage.Insert;
import io.pgactive.pgoutput.PgOutputMessage.LogicalMessage;
import io.pgactive.pgoutput.PgOutputMessage.Origin;
import io.pgactive.pgoutput.PgOutputMessage.Relation;
import io.pgactive.pgoutput.PgOutputMessage.StreamAbort;
import io.pgactive.pgoutput.PgOutputMessage.StreamCommit;
import io.pgactive.pgoutput.PgOutputMessage.StreamStart;
import io.pgactive.pgoutput.PgOutputMessage.StreamStop;
import io.pgactive.pgoutput.PgOutputMessage.Streamed;
import io.pgactive.pgoutput.PgOutputMessage.Truncate;
import io.pgactive.pgoutput.PgOutputMessage.Update;
import io.pgactive.pgoutput.PgOutputMessage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * One session of the link "this node ← upstream": streams the upstream's slot from where this
 * node's replication origin says it stopped, applies each transaction, and confirms to the
 * upstream only positions whose local commits are flushed. The model is PostgreSQL's own apply
 * worker ({@code worker.c}).
 */
final class LinkReceiver {

    private static final long CONFIRM_INTERVAL_MILLIS = 1000;
    /** Waits between polls of an idle stream: short right after data (more is likely), longer when quiet. */
    private static final long MIN_IDLE_POLL_MILLIS = 1;
    private static final long MAX_IDLE_POLL_MILLIS = 10;
    private static final long GARBAGE_COLLECTION_INTERVAL_MILLIS = 10_000;

    private final LocalServer local;
    private final String dbname;
    private final NodeIdentity self;
    private final NodeIdentity upstream;
    private final ConnInfo upstreamDsn;
    private final LinkMode mode;
    private final boolean synchronousCommit;
    private final Consumer<String> controlMessages;
    private final ApplyStats stats;
    private final LinkStatus status;
    private final PeerClock peerClock;

    private final OriginRouter router;
    /**
     * The upstream position up to which the last failed session had received transactions, if it
     * failed on a duplicate key: the next session applies those without COPY.
     */
    private Lsn copyAvoidedThrough = Lsn.ZERO;
    /** The apply session of the running session (see {@link #run}). */
    private ApplySession session;
    private long applyDelayMillis;
    private BooleanSupplier stopRequested;
    private Txn txn;
    private FeedbackTracker feedback;
    /** The transactions the running session's upstream is streaming in part (see {@link #run}). */
    private StreamedTransactions streams;
    private final PgOutputDecoder decoder = new PgOutputDecoder();
    private long lastConfirmTime;
    private long lastGarbageCollection;
    private final LongSupplier localDdl;

    /** What starting a stream from a slot that does not exist fails with. */
    private static final String UNDEFINED_OBJECT = "42704";

    LinkReceiver(LocalServer local, String dbname, NodeIdentity self, NodeIdentity upstream, ConnInfo upstreamDsn,
                 LinkMode mode, boolean synchronousCommit, Consumer<String> controlMessages, LinkStatus status,
                 LongSupplier localDdl) {
        this.localDdl = localDdl;
        this.local = local;
        this.dbname = dbname;
        this.self = self;
        this.upstream = upstream;
        this.upstreamDsn = upstreamDsn;
        this.mode = mode;
        this.synchronousCommit = synchronousCommit;
        this.controlMessages = controlMessages;
        this.status = status;
        this.peerClock = new PeerClock(upstream.toString());
        this.stats = new ApplyStats(Names.origin(upstream, self));
        this.router = new OriginRouter(self, upstream, mode == LinkMode.CATCHUP);
    }

    /** Counts a lost connection or failed session, shown as nr_disconnect. */
    void countDisconnect() {
        stats.count(ApplyStats.Counter.DISCONNECT);
    }

    /** A transaction being received; applied lazily, at its first change, once we know whose it is. */
    private static final class Txn {
        final Begin begin;
        Origin origin;
        OriginRouter.Route route;

        Txn(Begin begin) {
            this.begin = begin;
        }
    }

    /** Runs until {@code stopRequested} or an error. */
    void run(BooleanSupplier stopRequested) throws SQLException, InterruptedException {
        String upstreamOrigin = router.upstreamOrigin();
        this.stopRequested = stopRequested;
        try (ApplySession session = ApplySession.open(local, dbname, Names.applicationName(upstream, "apply"))) {
            this.session = session;
            BufferedApplier applier = openApplier(upstreamOrigin);
            applier.avoidCopyThrough(copyAvoidedThrough);
            Lsn start = router.progress(upstreamOrigin);
            txn = null;
            feedback = new FeedbackTracker(start);
            try (ChangeStream stream = openStream(UserMappings.resolve(upstreamDsn, session.connection()), start);
                 StreamedTransactions streamed = new StreamedTransactions(Path.of(System.getProperty("java.io.tmpdir")),
                         "pgactive-" + Names.slot(upstream, self) + "-")) {
                this.streams = streamed;
                long idlePoll = MIN_IDLE_POLL_MILLIS;
                while (!stopRequested.getAsBoolean()) {
                    ByteBuffer data = stream.poll();
                    try {
                        if (data == null) {
                            applier.send(); // nothing more to pipeline with
                            caughtUp(stream);
                            confirmIfDue(stream, applier);
                            Thread.sleep(idlePoll);
                            idlePoll = Math.min(idlePoll * 2, MAX_IDLE_POLL_MILLIS);
                            continue;
                        }
                        idlePoll = MIN_IDLE_POLL_MILLIS;
                        PgOutputMessage message = decoder.decode(data.duplicate(), streams.inSegment());
                        if (message instanceof Streamed change) {
                            byte[] payload = new byte[data.remaining()]; // kept as it came, decoded again at commit
                            data.get(payload);
                            streams.append(change.xid(), payload);
                        } else {
                            handle(message, applier);
                        }
                        confirmIfDue(stream, applier);
                    } catch (SQLException | RuntimeException e) {
                        applier.abort(e);
                        if (ServerErrors.isUniqueViolation(e)) {
                            // Most likely a COPY lost a race with a local insert of one of its
                            // keys. Whatever else raised it, doing without COPY does no harm.
                            Lsn received = stream.lastReceived();
                            copyAvoidedThrough = txn != null ? txn.begin.finalLsn().max(received) : received;
                        }
                        txn = null;
                        throw e;
                    }
                }
                // A pause or shutdown keeps what was applied from being decoded and sent again.
                caughtUp(stream);
                confirm(stream, applier);
            }
        }
    }

    /**
     * The stream of the upstream's changes from {@code start}. A slot that is gone may mean that
     * the group detached this node while it was away (pgactive_detach_nodes): then this node
     * records that in its own status, which stops it, rather than retrying for ever. A slot the
     * upstream invalidated is recorded in the local state, for pgactive_wait_for_node_ready.
     */
    private ChangeStream openStream(ConnInfo upstreamInfo, Lsn start) throws SQLException {
        try {
            return ChangeStream.open(upstreamInfo, Names.applicationName(self, "send"), Names.slot(upstream, self),
                    start, mode == LinkMode.DIRECT_ONLY,
                    mode == LinkMode.DIRECT_ONLY ? ServerSettings.current(session.connection(), "pgactive.skip_ddl_replication") : null,
                    mode == LinkMode.DIRECT_ONLY);
        } catch (SQLException e) {
            if (SlotLostException.isSlotLost(e)) {
                String message = "node " + upstream + " invalidated this node's slot (it held more WAL than its"
                        + " max_slot_wal_keep_size): the changes it dropped are lost to this node, which must be"
                        + " removed and join the group again";
                try (Connection c = local.connect(dbname, Names.applicationName(self, "perdb"))) {
                    new LocalState(c).reportLostLink(message);
                }
                throw new SlotLostException(message, e);
            }
            if (UNDEFINED_OBJECT.equals(e.getSQLState()) && detachedByUpstream(upstreamInfo)) {
                try (Connection c = local.connect(dbname, Names.applicationName(self, "perdb"))) {
                    new NodeCatalog(c).setStatus(self, NodeStatus.KILLED);
                }
                throw new SQLException("the group has detached this node (its slot on node " + upstream
                        + " is gone and that node lists it as detached)", "55000", e);
            }
            throw e;
        }
    }

    private boolean detachedByUpstream(ConnInfo upstreamInfo) {
        try (Connection uc = Connector.connect(upstreamInfo, Names.applicationName(self, "init"))) {
            return new NodeCatalog(uc).allNodes().stream()
                    .anyMatch(n -> n.id().equals(self) && n.status() == NodeStatus.KILLED);
        } catch (SQLException e) {
            return false; // cannot tell: retry as for any other failure
        }
    }

    /**
     * {@code conn_apply_delay} of the upstream's connection row, else {@code pgactive.debug_apply_delay}:
     * changes from that node are applied no sooner than that long after they committed. A setting
     * with a unit reads as text with that unit ("2500ms"); pg_settings has it in its base unit.
     */
    private long applyDelay(Connection c) throws SQLException {
        try (var ps = c.prepareStatement("SELECT coalesce((SELECT conn_apply_delay FROM pgactive.pgactive_connections"
                + " WHERE conn_sysid = ? AND conn_timeline = ? AND conn_dboid = ?),"
                + " (SELECT setting::integer FROM pg_settings WHERE name = 'pgactive.debug_apply_delay'))")) {
            ps.setString(1, upstream.sysid());
            ps.setLong(2, upstream.timeline());
            ps.setLong(3, upstream.dboid());
            try (var rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    private void delayApply(Begin begin) throws InterruptedException {
        if (applyDelayMillis <= 0) {
            return;
        }
        long due = PgTimestamps.toInstant(begin.commitTimeMicros()).toEpochMilli() + applyDelayMillis;
        for (long now = System.currentTimeMillis(); now < due && !stopRequested.getAsBoolean();
             now = System.currentTimeMillis()) {
            Thread.sleep(Math.min(100, due - now));
        }
    }

    /** The applier of this session; the session, closed by {@link #run} whatever happens, owns its connection. */
    private BufferedApplier openApplier(String upstreamOrigin) throws SQLException {
        applyDelayMillis = applyDelay(session.connection());
        OriginSession.ensureExists(session.connection(), upstreamOrigin);
        router.reload(this::originProgress);
        return new BufferedApplier(session, self, synchronousCommit, mode == LinkMode.DIRECT_ONLY, stats, localDdl);
    }

    /**
     * Dispatches one message, as worker.c's apply_dispatch: changes belong inside a transaction,
     * a transaction does not begin inside another; anything else is the stream and this link
     * disagreeing (an {@link UnexpectedMessageException}).
     */
    private void handle(PgOutputMessage message, BufferedApplier applier) throws SQLException, InterruptedException {
        if (message instanceof Begin b) {
            if (txn != null) {
                throw new UnexpectedMessageException("BEGIN of remote transaction " + b.xid() + " inside transaction "
                        + txn.begin.xid());
            }
            if (applyDelayMillis > 0) {
                applier.send(); // what is queued must not wait for this one's delay
            }
            peerClock.observe(b.commitTimeMicros());
            delayApply(b);
            txn = new Txn(b);
            feedback.begin();
        } else if (message instanceof Origin o) {
            if (streams.inSegment()) {
                streams.segment("ORIGIN").origin = o;
            } else {
                inTransaction("ORIGIN").origin = o;
            }
        } else if (message instanceof Relation r) {
            applier.relation(r);
        } else if (message instanceof Insert i) {
            if (start(applier, "INSERT")) {
                applier.insert(i);
            }
        } else if (message instanceof Update u) {
            if (start(applier, "UPDATE")) {
                applier.update(u);
            }
        } else if (message instanceof Delete d) {
            if (start(applier, "DELETE")) {
                applier.delete(d);
            }
        } else if (message instanceof Truncate t) {
            if (start(applier, "TRUNCATE")) {
                applier.truncate(t);
            }
        } else if (message instanceof LogicalMessage m) {
            if (m.transactional() && m.prefix().equals(PriorVersion.PREFIX)) {
                if (start(applier, "MESSAGE")) {
                    applier.replaced(PriorVersion.parse(m.content()));
                }
            } else if (m.transactional() && m.prefix().equals(ColumnChanges.PREFIX)) {
                if (start(applier, "MESSAGE")) {
                    applier.columnChanges(ColumnChanges.parse(m.content()));
                }
            } else if (m.transactional() && m.prefix().equals(SeenVersions.PREFIX)) {
                if (start(applier, "MESSAGE")) {
                    applier.seenVersions(SeenVersions.parse(m.content()));
                }
            } else if (!m.transactional() && m.prefix().equals(Names.MESSAGE_PREFIX)) {
                String content = m.contentAsString();
                if (content.startsWith(Names.HEARTBEAT)) {
                    // Everything the upstream committed before it has been received; see Heartbeat.
                    long beat = Long.parseLong(content.substring(Names.HEARTBEAT.length()));
                    peerClock.observe(beat);
                    stats.caughtUp(PeerClock.notAfterNow(beat));
                } else {
                    // What came before it has committed here first: a lock's release must not
                    // overtake the DDL it protected.
                    applier.flush();
                    controlMessages.accept(content);
                }
            }
        } else if (message instanceof Commit c) {
            commit(c, applier);
        } else if (message instanceof StreamStart s) {
            if (txn != null) {
                throw new UnexpectedMessageException("STREAM START of transaction " + s.xid() + " inside transaction "
                        + txn.begin.xid());
            }
            streams.start(s);
        } else if (message instanceof StreamStop s) {
            streams.stop(s);
        } else if (message instanceof StreamAbort a) {
            streams.aborted(a);
        } else if (message instanceof StreamCommit c) {
            applyStreamed(c, applier);
        }
        // TypeInfo: values travel as text and the server knows its own types.
    }

    /**
     * A streamed transaction committed: its spooled changes are applied as one transaction that
     * had come whole, from its Begin to its Commit, as worker.c's apply_handle_stream_commit.
     */
    private void applyStreamed(StreamCommit c, BufferedApplier applier) throws SQLException, InterruptedException {
        StreamedTransactions.InProgress streamed = streams.committed(c.xid());
        try (SpooledTransaction spool = streamed.spool; SpooledTransaction.Reader changes = spool.read()) {
            handle(new Begin(c.commitLsn(), c.commitTimeMicros(), c.xid()), applier);
            if (streamed.origin != null) {
                handle(streamed.origin, applier);
            }
            for (byte[] payload = changes.next(); payload != null; payload = changes.next()) {
                handle(((Streamed) decoder.decode(payload, true)).message(), applier);
            }
            handle(new Commit(c.flags(), c.commitLsn(), c.endLsn(), c.commitTimeMicros()), applier);
        } catch (IOException e) {
            throw new UncheckedIOException("reading the spooled changes of streamed transaction " + c.xid()
                    + " failed: " + e.getMessage(), e);
        }
    }

    private Txn inTransaction(String what) {
        if (txn == null) {
            throw new UnexpectedMessageException(what + " outside a transaction");
        }
        return txn;
    }

    /**
     * Routes the transaction at its first change (see {@link OriginRouter}) and begins applying
     * it. Returns false when it is skipped.
     */
    private boolean start(BufferedApplier applier, String what) throws SQLException {
        Txn t = inTransaction(what);
        if (t.route == null) {
            t.route = router.route(t.origin, this::originProgress);
            if (t.route instanceof OriginRouter.Apply apply) {
                applier.begin(apply.localOrigin(), new RemoteTransaction(apply.originator(), t.begin.xid(),
                        t.begin.commitTimeMicros(), t.begin.finalLsn()));
            }
        }
        return t.route instanceof OriginRouter.Apply;
    }

    private Lsn originProgress(String origin) throws SQLException {
        OriginSession.ensureExists(session.connection(), origin);
        return OriginSession.progress(session.connection(), origin, false);
    }

    private void commit(Commit c, BufferedApplier applier) throws SQLException {
        Txn t = inTransaction("COMMIT");
        if (t.route instanceof OriginRouter.Apply apply) {
            Lsn originLsn = apply.originLsn(c.endLsn());
            applier.commit(originLsn, t.begin.commitTimeMicros());
            router.committed(apply, originLsn);
        }
        txn = null;
        feedback.processed(c.endLsn());
    }

    /**
     * Everything the upstream has sent is processed, unless a transaction is in progress or one
     * has been streamed in part: then what was received is not confirmed, only the commits
     * applied (as worker.c does); the upstream keeps decoding from before the unfinished one.
     */
    private void caughtUp(ChangeStream stream) {
        if (!streams.anyInProgress()) {
            feedback.idle(stream.lastReceived());
        }
    }

    /**
     * Confirms to the upstream what is durable here. Asking for an origin's progress with
     * flush = true makes PostgreSQL flush our commits first, so apply can commit asynchronously
     * and still never confirm a transaction a crash could lose.
     */
    private void confirmIfDue(ChangeStream stream, BufferedApplier applier) throws SQLException {
        if (System.currentTimeMillis() - lastConfirmTime >= CONFIRM_INTERVAL_MILLIS) {
            confirm(stream, applier);
        }
    }

    /**
     * Does nothing inside a transaction: the careful path may have that transaction's local one
     * open on the connection this commits.
     */
    private void confirm(ChangeStream stream, BufferedApplier applier) throws SQLException {
        long now = System.currentTimeMillis();
        Optional<Lsn> due = feedback.toConfirm();
        if (due.isEmpty()) {
            return;
        }
        applier.flush(); // only what has committed here may be confirmed
        applier.flushStats();
        if (now - lastGarbageCollection > GARBAGE_COLLECTION_INTERVAL_MILLIS) {
            applier.collectGarbage();
            lastGarbageCollection = now;
        }
        for (String origin : router.origins()) {
            OriginSession.progress(session.connection(), origin, true);
        }
        status.positions(session.connection(), stream.lastReceived(), due.get(), peerClock.aheadMillis());
        session.connection().commit();
        applier.statsCommitted();
        // Only a link that got somewhere is running again: a stalled one fails before this.
        status.enter(mode == LinkMode.CATCHUP ? LinkStatus.State.CATCHING_UP : LinkStatus.State.STREAMING);
        stream.confirm(due.get());
        feedback.confirmed(due.get());
        lastConfirmTime = now;
    }
}
