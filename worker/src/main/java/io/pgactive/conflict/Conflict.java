package io.pgactive.conflict;

import io.pgactive.pg.ServerError;

/**
 * One detected conflict and how it was resolved, as it goes into the conflict history.
 *
 * @param schema          schema of the table, null if the error was not about one table
 * @param local           the local row involved, null if there was none
 * @param remoteTupleJson the remote row as a JSON object of text values, null if none
 * @param error           the error that aborted apply, for {@link ConflictType#UNHANDLED_TX_ABORT}
 */
public record Conflict(ConflictType type, Resolution resolution, String schema, String table, LocalRow local,
                       String remoteTupleJson, RemoteTransaction remote, ServerError error) {
}
