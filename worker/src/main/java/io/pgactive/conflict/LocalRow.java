package io.pgactive.conflict;

import io.pgactive.catalog.NodeIdentity;

/**
 * The local version of a row a remote change targets, and its last writer as PostgreSQL recorded
 * it ({@code pg_xact_commit_timestamp_origin(xmin)}). Not its values: a row can hold hundreds of
 * megabytes, and what needs them (the conflict history, a handler) reads them by {@code ctid}.
 *
 * @param ctid             where the row version is, while the transaction holds its lock; null for a tombstone
 * @param commitTimeMicros null when unknown (e.g. the xid is frozen): the row is older than anything
 * @param writer           the node whose transaction last wrote it (this node for local writes)
 */
public record LocalRow(String ctid, String xmin, Long commitTimeMicros, NodeIdentity writer) {

    /** This row judged as {@code version} (its last writer and commit time), e.g. a column's of a column-level table. */
    public LocalRow asVersion(LocalRow version) {
        return new LocalRow(ctid, xmin, version.commitTimeMicros(), version.writer());
    }
}
