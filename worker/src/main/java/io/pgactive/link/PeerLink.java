package io.pgactive.link;

import io.pgactive.catalog.NodeIdentity;
import io.pgactive.conn.ConnInfo;
import io.pgactive.conn.LocalServer;
import io.pgactive.pg.ServerErrors;
import java.sql.SQLException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The thread that keeps one link "this node ← upstream" running: it (re)starts receiver sessions
 * and backs off while the upstream is unreachable or apply fails, so one broken peer never stalls
 * the others. The model is PostgreSQL's launcher ({@code launcher.c}) for one worker.
 */
public final class PeerLink implements Runnable {

    private static final Logger log = LoggerFactory.getLogger(PeerLink.class);
    private static final long MIN_BACKOFF_MILLIS = 500;
    private static final long MAX_BACKOFF_MILLIS = 30_000;

    private final String description;
    private final LinkReceiver receiver;
    private final LinkStatus status;
    private final Thread thread;
    private volatile boolean stopping;
    /** Whether a receiver session runs (connecting, streaming or applying) rather than the link backing off. */
    private volatile boolean inSession;
    /** Sessions that failed since the start, and why the last one did: for whoever waits on the link. */
    private volatile int failures;
    private volatile String lastFailure;
    /**
     * Counts local DDL: a link that failed waits out its back-off unless DDL commits after the
     * failure (a table or column it waits for may exist now), and a running session reads the
     * definitions of local tables again when it changes (BufferedApplier).
     */
    private final AtomicLong localDdl = new AtomicLong();

    public PeerLink(LocalServer local, String dbname, NodeIdentity self, NodeIdentity upstream, String upstreamName,
                    ConnInfo upstreamDsn, LinkMode mode, boolean synchronousCommit, Consumer<String> controlMessages) {
        this.description = "link from node \"" + upstreamName + "\"" + (mode == LinkMode.CATCHUP ? " (catch-up)" : "");
        this.status = new LinkStatus(local, dbname, self, upstream);
        this.receiver = new LinkReceiver(local, dbname, self, upstream, upstreamDsn, mode, synchronousCommit,
                controlMessages, status, localDdl::get);
        this.thread = new Thread(this, dbname + " <- " + upstreamName);
        this.thread.setDaemon(true);
    }

    public PeerLink start() {
        thread.start();
        return this;
    }

    public void stop() {
        stopping = true;
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Local DDL committed: a link stalled on the local schema retries at once instead of after its back-off. */
    public void localSchemaChanged() {
        localDdl.incrementAndGet();
    }

    public boolean isAlive() {
        return thread.isAlive();
    }

    /** Whether a session with the upstream runs now: false while the link backs off after a failure. */
    public boolean inSession() {
        return inSession;
    }

    /** Only this link's thread writes these. */
    private void recordFailure(String why) {
        failures++;
        lastFailure = why;
    }

    public int failures() {
        return failures;
    }

    /** Why the last failed session failed; null if none has. */
    public String lastFailure() {
        return lastFailure;
    }

    @Override
    public void run() {
        long backoff = MIN_BACKOFF_MILLIS;
        log.info("{} starting", description);
        while (!stopping) {
            long started = System.currentTimeMillis();
            try {
                inSession = true;
                receiver.run(() -> stopping);
            } catch (SlotLostException e) {
                inSession = false;
                // Retrying cannot bring back what the upstream dropped: say it once, then idle
                // (a dead link would be restarted) until the node is removed and joins again.
                log.error("{} failed for good: {}", description, e.getMessage());
                recordFailure(e.getMessage());
                status.failed(LinkStatus.State.LOST, e.getMessage());
                while (!stopping && sleep(MAX_BACKOFF_MILLIS, localDdl.get())) {
                    // idle
                }
            } catch (SQLException | RuntimeException e) {
                inSession = false;
                if (stopping) {
                    break;
                }
                if (System.currentTimeMillis() - started > MAX_BACKOFF_MILLIS) {
                    backoff = MIN_BACKOFF_MILLIS; // it ran fine for a while: retry promptly
                }
                receiver.countDisconnect();
                recordFailure(ServerErrors.summary(e));
                // A failed connection passes; a transaction that cannot be applied waits for someone.
                status.failed(ServerErrors.isConnectionProblem(e) ? LinkStatus.State.RETRYING : LinkStatus.State.STALLED,
                        ServerErrors.summary(e));
                log.warn("{} failed: {}; retrying in {} ms", description, ServerErrors.summary(e), backoff);
                long ddlBefore = localDdl.get();
                if (!sleep(backoff, ddlBefore)) {
                    break;
                }
                backoff = localDdl.get() != ddlBefore ? MIN_BACKOFF_MILLIS : Math.min(backoff * 2, MAX_BACKOFF_MILLIS);
            } catch (InterruptedException e) {
                break;
            }
        }
        inSession = false;
        log.info("{} stopped", description);
    }

    /** Sleeps {@code millis}, less if local DDL commits meanwhile (its count moves from {@code ddlBefore}). */
    private boolean sleep(long millis, long ddlBefore) {
        long end = System.currentTimeMillis() + millis;
        while (!stopping && localDdl.get() == ddlBefore && System.currentTimeMillis() < end) {
            try {
                Thread.sleep(Math.min(100, Math.max(1, end - System.currentTimeMillis())));
            } catch (InterruptedException e) {
                return false;
            }
        }
        return !stopping;
    }
}
