package io.pgactive.apply;

import io.pgactive.pgoutput.PgOutputMessage.Relation;
import io.pgactive.pgoutput.RelationColumn;
import io.pgactive.pgoutput.TupleData;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * A row's key as pgactive's own tables keep it (tombstones, column versions): a JSON object of
 * the key columns' typed values, {@code to_jsonb} of each, built the same way here and in the
 * triggers of local writes (in UTC, ISO dates), so that both name a row alike.
 */
final class RowKeys {

    private RowKeys() {
    }

    /** SQL for the key, with four parameters: see {@link #bind}. */
    static String expression(Relation rel) {
        return "(SELECT pg_catalog.jsonb_object_agg(key_column.name, pg_catalog.to_jsonb(pgactive_row.*) -> key_column.name)"
                + " FROM pg_catalog.json_populate_record(NULL::" + TableStatements.qualifiedName(rel) + ", ?::json) pgactive_row,"
                + " unnest(?::text[]) AS key_column(name))";
    }

    /** Binds the table's schema and name, then the key's two parameters; returns the next parameter's index. */
    static int bind(PreparedStatement ps, int first, Relation rel, TupleData identity, List<String> keys)
            throws SQLException {
        int i = first;
        ps.setString(i++, rel.namespace());
        ps.setString(i++, rel.name());
        ps.setString(i++, TupleJson.of(rel, identity));
        ps.setArray(i++, ps.getConnection().createArrayOf("text", keys.toArray()));
        return i;
    }

    /** The key columns; none for a table without a key (REPLICA IDENTITY FULL). */
    static List<String> columns(Relation rel) {
        List<String> keys = new ArrayList<>();
        if (rel.replicaIdentity() == Relation.REPLICA_IDENTITY_FULL) {
            return keys; // no key to remember a row by
        }
        for (RelationColumn c : rel.columns()) {
            if (c.partOfKey()) {
                keys.add(c.name());
            }
        }
        return keys;
    }
}
