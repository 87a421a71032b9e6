package io.pgactive.apply;

import io.pgactive.pgoutput.PgOutputMessage.Relation;
import io.pgactive.pgoutput.TupleData;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * DDL queued on another node by {@code pgactive_replicate_ddl_command}: a row of
 * {@code pgactive.pgactive_queued_commands} is a command to run here, where the row applies, as
 * the role that queued it and with its {@code search_path}. A command that fails fails the
 * transaction like any apply error (unhandled_tx_abort, the link waits until it can apply).
 */
final class QueuedCommands {

    private QueuedCommands() {
    }

    static boolean isQueue(Relation rel) {
        return rel.namespace().equals("pgactive") && rel.name().equals("pgactive_queued_commands");
    }

    /** Runs the command of {@code row}, in the apply transaction; returns as the worker, with its search_path. */
    static void run(Connection conn, Relation rel, TupleData row) throws SQLException {
        String perpetrator = column(rel, row, "perpetrator");
        String searchPath = column(rel, row, "search_path");
        String command = column(rel, row, "command");
        try (PreparedStatement ps = conn.prepareStatement(
                "SELECT pg_catalog.set_config('search_path', ?, true), pg_catalog.set_config('role', ?, true)")) {
            ps.setString(1, searchPath == null ? "" : searchPath);
            ps.setString(2, perpetrator);
            ps.execute();
        }
        try (Statement st = conn.createStatement()) {
            st.execute(command);
            st.execute("SET LOCAL ROLE NONE; SET LOCAL search_path TO DEFAULT");
        }
    }

    private static String column(Relation rel, TupleData row, String name) throws SQLException {
        for (int i = 0; i < rel.columns().size(); i++) {
            if (rel.columns().get(i).name().equals(name)) {
                return row.textOrNull(i);
            }
        }
        throw new SQLException("pgactive.pgactive_queued_commands has no column \"" + name + "\"");
    }
}
