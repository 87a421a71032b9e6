package io.pgactive.conflict;

import io.pgactive.catalog.NodeIdentity;

/**
 * The local version of a row a remote change targets, and its last writer as PostgreSQL recorded
 * it ({@code pg_xact_commit_timestamp_origin(xmin)}).
 *
 * @param commitTimeMicros null when unknown (e.g. the xid is frozen): the row is older than anything
 * @param writer           the node whose transaction last wrote it (this node for local writes)
 * @param json             the row as {@code row_to_json}, for the conflict history
 */
public record LocalRow(String ctid, String xmin, Long commitTimeMicros, NodeIdentity writer, String json) {
}
