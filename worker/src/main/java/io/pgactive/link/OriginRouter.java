package io.pgactive.link;

import io.pgactive.catalog.Names;
import io.pgactive.catalog.NodeIdentity;
import io.pgactive.pg.Lsn;
import io.pgactive.pgoutput.PgOutputMessage.Origin;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Decides, for each transaction a link receives, whether and under which local replication
 * origin it is applied, and keeps each origin's progress. A transaction the upstream wrote
 * itself goes under the upstream's origin. One it applied from another node (it carries an
 * Origin message) is applied only by a join's catch-up, under that node's origin; otherwise it
 * reaches this node directly from its originator and is skipped here. A transaction at or before
 * its origin's progress was applied before the session restarted, and is skipped too.
 *
 * <p>Used by the link's own thread only.
 */
final class OriginRouter {

    /** Where a transaction's progress lives: the local replication origin (made if missing). */
    interface ProgressSource {
        Lsn progress(String origin) throws SQLException;
    }

    /** What to do with a transaction. */
    sealed interface Route permits Apply, Skip {
    }

    /**
     * Apply under {@code localOrigin}. {@code forwardedLsn} is the commit LSN on the originator of
     * a transaction the upstream forwarded; empty for the upstream's own, whose position is its
     * commit's end LSN on the upstream.
     */
    record Apply(String localOrigin, NodeIdentity originator, Optional<Lsn> forwardedLsn) implements Route {
        /** The origin position that committing this transaction records. */
        Lsn originLsn(Lsn commitEndLsn) {
            return forwardedLsn.orElse(commitEndLsn);
        }
    }

    enum Skip implements Route {
        /** Forwarded by the upstream from another node, from which this node receives it directly. */
        FORWARDED,
        /** At or before its origin's progress: applied by an earlier session. */
        APPLIED_BEFORE
    }

    private final NodeIdentity self;
    private final NodeIdentity upstream;
    private final boolean catchUp;
    private final Map<String, Lsn> progress = new HashMap<>();

    OriginRouter(NodeIdentity self, NodeIdentity upstream, boolean catchUp) {
        this.self = self;
        this.upstream = upstream;
        this.catchUp = catchUp;
        progress.put(upstreamOrigin(), Lsn.ZERO);
    }

    String upstreamOrigin() {
        return Names.origin(upstream, self);
    }

    /**
     * At a session's start, every origin's progress as the database has it: what an earlier
     * session processed may not have committed.
     */
    void reload(ProgressSource source) throws SQLException {
        for (String origin : progress.keySet()) {
            progress.put(origin, source.progress(origin));
        }
    }

    Lsn progress(String origin) {
        return progress.getOrDefault(origin, Lsn.ZERO);
    }

    Set<String> origins() {
        return progress.keySet();
    }

    /** The route of a transaction; {@code origin} is its Origin message, null if it had none. */
    Route route(Origin origin, ProgressSource source) throws SQLException {
        if (origin == null) {
            return new Apply(upstreamOrigin(), upstream, Optional.empty());
        }
        NodeIdentity originator = catchUp ? Names.originNode(origin.name()).orElse(null) : null;
        if (originator == null) {
            return Skip.FORWARDED;
        }
        // The upstream's origin name holds the upstream's database oid; ours holds ours.
        String localOrigin = Names.origin(originator, self);
        if (!progress.containsKey(localOrigin)) {
            progress.put(localOrigin, source.progress(localOrigin));
        }
        if (!origin.commitLsn().isAfter(progress.get(localOrigin))) {
            return Skip.APPLIED_BEFORE;
        }
        return new Apply(localOrigin, originator, Optional.of(origin.commitLsn()));
    }

    /** A transaction routed so has committed here at {@code originLsn}. */
    void committed(Apply route, Lsn originLsn) {
        progress.put(route.localOrigin(), originLsn);
    }
}
