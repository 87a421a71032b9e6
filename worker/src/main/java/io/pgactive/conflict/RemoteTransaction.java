package io.pgactive.conflict;

import io.pgactive.catalog.NodeIdentity;
import io.pgactive.pg.Lsn;

/**
 * What conflict resolution and logging need to know of the remote transaction being applied.
 *
 * @param origin           the node where it was first committed
 * @param commitTimeMicros its commit time there (PostgreSQL epoch microseconds)
 * @param commitLsn        its commit LSN as the upstream sent it
 */
public record RemoteTransaction(NodeIdentity origin, long xid, long commitTimeMicros, Lsn commitLsn) {
}
