package io.pgactive.apply;

import io.pgactive.decode.PgOutputMessage.Relation;
import io.pgactive.decode.RelationColumn;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * What the local table's definition demands of apply beyond the replicated columns: identity
 * columns GENERATED ALWAYS accept the remote value only with OVERRIDING SYSTEM VALUE on INSERT,
 * and cannot be set by UPDATE at all; and each column's type, for statements that carry values
 * in text arrays and must cast them explicitly.
 */
record LocalColumns(Set<String> alwaysIdentity, Map<String, String> types) {

    static final LocalColumns NONE = new LocalColumns(Set.of(), Map.of());
    private static final String UNDEFINED_TABLE = "42P01";
    private static final String UNDEFINED_COLUMN = "42703";

    static LocalColumns of(Connection conn, Relation rel) throws SQLException {
        Set<String> always = new HashSet<>();
        Map<String, String> types = new HashMap<>();
        try (PreparedStatement ps = conn.prepareStatement(
                "SELECT attname, attidentity = 'a', pg_catalog.format_type(atttypid, atttypmod)"
                + " FROM pg_catalog.pg_attribute WHERE attrelid = to_regclass(?) AND attnum > 0 AND NOT attisdropped")) {
            ps.setString(1, TableStatements.qualifiedName(rel));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    if (rs.getBoolean(2)) {
                        always.add(rs.getString(1));
                    }
                    types.put(rs.getString(1), rs.getString(3));
                }
            }
        }
        // What is missing here, in the server's own words and SQLSTATEs: the apply error is then
        // recorded like any other (unhandled_tx_abort) and names a table or a column as such.
        String table = "\"" + rel.namespace() + "." + rel.name() + "\"";
        if (types.isEmpty()) {
            throw new SQLException("relation " + table + " does not exist", UNDEFINED_TABLE);
        }
        for (RelationColumn column : rel.columns()) {
            if (!types.containsKey(column.name())) {
                throw new SQLException("column \"" + column.name() + "\" of relation " + table + " does not exist",
                        UNDEFINED_COLUMN);
            }
        }
        return new LocalColumns(Set.copyOf(always), Map.copyOf(types));
    }

    String overriding() {
        return alwaysIdentity.isEmpty() ? "" : " OVERRIDING SYSTEM VALUE";
    }

    boolean updatable(String column) {
        return !alwaysIdentity.contains(column);
    }

    /** The local column's type as SQL, e.g. {@code character varying(10)}; {@link #of} checked it exists. */
    String type(String column) {
        return types.get(column);
    }
}
