package io.pgactive.apply;

import io.pgactive.catalog.NodeIdentity;
import io.pgactive.conflict.ConflictLog;
import io.pgactive.conflict.ConflictType;
import io.pgactive.conflict.LastUpdateWins;
import io.pgactive.conflict.Resolution;
import io.pgactive.pg.SqlText;

/**
 * The part of a compiled procedure (see {@link TransactionProcedures}) that resolves an UPDATE
 * whose row another node wrote meanwhile, by last update wins, inside the procedure: under a
 * load where most remote updates meet concurrent ones, sending each such transaction to the
 * careful path cost several round trips apiece, and apply fell far behind the writers.
 *
 * <p>Only the plain case is resolved here, with the rule and the history row written by the
 * same classes as the careful path's ({@link LastUpdateWins}, {@link ConflictLog}): a row that
 * exists, whose last writer and commit time are known and honest (not a row a join copied or a
 * local rewrite wrote, see {@link CopiedRows}), on a table with no conflict handler. Anything
 * else stops the procedure, and {@link Applier} decides. Each resolved conflict is announced
 * after its transaction committed, by a notice with SQLSTATE {@value #RESOLVED} naming it,
 * which the worker counts in its statistics (and writes to its log when conflicts are logged
 * there).
 */
final class ContestedUpdates {

    /** SQLSTATE of the notice of a conflict a procedure resolved. */
    static final String RESOLVED = "PA002";
    /** The variables the blocks use, declared once per procedure. */
    static final String DECLARATIONS = " pgactive_ctid tid; pgactive_xmin xid; pgactive_writer oid;"
            + " pgactive_time timestamptz; pgactive_local json; pgactive_node text[]; pgactive_wins boolean;"
            + " pgactive_resolved text[] := '{}'; pgactive_m text;";
    /** After each COMMIT: the notices of what it resolved. */
    static final String ANNOUNCE = "  FOREACH pgactive_m IN ARRAY pgactive_resolved LOOP\n"
            + "    RAISE NOTICE USING ERRCODE = '" + RESOLVED + "', MESSAGE = pgactive_m;\n"
            + "  END LOOP;\n  pgactive_resolved := '{}';\n";

    private ContestedUpdates() {
    }

    /** What a block needs to know besides the statement. */
    record Context(NodeIdentity self, ConflictLog history, ConflictLog.RemoteSql remote, String owner) {
    }

    /**
     * The block following {@code UPDATE <update> WHERE <where> AND <uncontested>}, which left
     * {@code pgactive_n} to be read: if it changed no row, the row is locked and checked again
     * (a local write may have committed since), and if still contested the conflict resolved
     * and recorded. {@code stop} is the statement list that hands the transaction to the
     * careful path; {@code remoteTupleJson} SQL for the remote row as JSON.
     */
    static String block(String schema, String table, String update, String where, String uncontested,
                        String remoteTupleJson, Context context, String stop) {
        String qualified = SqlText.qualifiedName(schema, table);
        String localWriter = "pgactive_node";
        String self = "ARRAY[" + SqlText.literal(context.self().sysid()) + ", '" + context.self().timeline() + "', '"
                + context.self().dboid() + "']";
        String message = "pg_catalog.format('remote %s on %s from node %s, resolution %s', "
                + SqlText.literal(ConflictType.UPDATE_UPDATE.sqlName()) + ", " + SqlText.literal(qualified) + ", "
                + SqlText.literal(context.remote().origin().sysid()) + ", CASE WHEN pgactive_wins THEN "
                + SqlText.literal(Resolution.LAST_UPDATE_WINS_KEEP_REMOTE.sqlName()) + " ELSE "
                + SqlText.literal(Resolution.LAST_UPDATE_WINS_KEEP_LOCAL.sqlName()) + " END)";
        return "  GET DIAGNOSTICS pgactive_n = ROW_COUNT;\n"
                + "  IF pgactive_n <> 1 THEN\n"
                // Expressions, not a join: after waiting for the row lock they describe the version locked.
                + "    pgactive_ctid := NULL;\n"
                + "    SELECT pgactive_row.ctid, pgactive_row.xmin, (" + TableStatements.ROW_WRITER + ").roident, ("
                + TableStatements.ROW_WRITER
                + ").timestamp, pg_catalog.row_to_json(pgactive_row.*), (" + uncontested + ") IS TRUE"
                + " INTO pgactive_ctid, pgactive_xmin, pgactive_writer, pgactive_time, pgactive_local, pgactive_wins"
                + " FROM ONLY " + qualified + " pgactive_row WHERE " + where + " FOR UPDATE OF pgactive_row;\n"
                + "    IF pgactive_ctid IS NULL THEN\n" + indent(stop) + "    END IF;\n"
                + "    IF NOT pgactive_wins THEN\n"
                + "      " + TransactionProcedures.setRole(null) + "\n"
                + "      pgactive_node := CASE pgactive_writer WHEN 0 THEN " + self + " ELSE (SELECT"
                + " pg_catalog.regexp_match(o.roname, '^pgactive_([0-9]+)_([0-9]+)_([0-9]+)_[0-9]+_$')"
                + " FROM pg_catalog.pg_replication_origin o WHERE o.roident = pgactive_writer) END;\n"
                // Unknown writers and times, rows copied by a join or written by a local rewrite
                // this procedure was compiled before (both count as the oldest), handlers: the
                // careful path's.
                + "      IF pgactive_time IS NULL OR pgactive_node IS NULL"
                + " OR (pgactive_writer = 0 AND pgactive_time"
                + " < (SELECT s.ready_at FROM pgactive.pgactive_local_state s)) IS TRUE"
                + " OR EXISTS (SELECT 1 FROM pgactive.pgactive_rewritten_tables r WHERE r.relid = "
                + SqlText.literal(qualified) + "::regclass AND r.xid = pgactive_xmin)"
                + " OR EXISTS (SELECT 1 FROM pgactive.pgactive_conflict_handlers h"
                + " WHERE pg_catalog.to_regclass(h.ch_relname) = " + SqlText.literal(qualified) + "::regclass) THEN\n"
                + indent(indent(stop)) + "      END IF;\n"
                + "      pgactive_wins := " + LastUpdateWins.remoteWinsSql("pgactive_time", localWriter + "[1]",
                        context.remote().commitTime(), SqlText.literal(context.remote().origin().sysid())) + ";\n"
                + history(schema, table, "pgactive_wins", remoteTupleJson, localWriter, context)
                + "      pgactive_resolved := pgactive_resolved || " + message + ";\n"
                + "      " + TransactionProcedures.setRole(context.owner()) + "\n"
                + "    END IF;\n"
                + "    IF pgactive_wins THEN\n"
                + "      " + update + " WHERE pgactive_row.ctid = pgactive_ctid;\n"
                + "    END IF;\n"
                + "  END IF;\n";
    }

    private static String history(String schema, String table, String keptRemote, String remoteTupleJson,
                                  String localWriter, Context context) {
        String insert = context.history().lastUpdateWinsSql(ConflictType.UPDATE_UPDATE, schema, table,
                context.remote(), keptRemote, "pgactive_local", remoteTupleJson, "pgactive_xmin", localWriter,
                "pgactive_time");
        return insert.isEmpty() ? "" : "      " + insert + ";\n";
    }

    private static String indent(String lines) {
        return lines.replaceAll("(?m)^(?=.)", "  ");
    }
}
