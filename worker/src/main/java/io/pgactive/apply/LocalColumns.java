package io.pgactive.apply;

import io.pgactive.decode.PgOutputMessage.Relation;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HashSet;
import java.util.Set;

/**
 * What the local table's definition demands of apply beyond the replicated columns: identity
 * columns GENERATED ALWAYS accept the remote value only with OVERRIDING SYSTEM VALUE on INSERT,
 * and cannot be set by UPDATE at all.
 */
record LocalColumns(Set<String> alwaysIdentity) {

    static final LocalColumns NONE = new LocalColumns(Set.of());

    static LocalColumns of(Connection conn, Relation rel) throws SQLException {
        Set<String> always = new HashSet<>();
        try (PreparedStatement ps = conn.prepareStatement(
                "SELECT attname FROM pg_catalog.pg_attribute WHERE attrelid = to_regclass(?) AND attidentity = 'a'"
                + " AND NOT attisdropped")) {
            ps.setString(1, TableStatements.qualifiedName(rel));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    always.add(rs.getString(1));
                }
            }
        }
        return always.isEmpty() ? NONE : new LocalColumns(Set.copyOf(always));
    }

    String overriding() {
        return alwaysIdentity.isEmpty() ? "" : " OVERRIDING SYSTEM VALUE";
    }

    boolean updatable(String column) {
        return !alwaysIdentity.contains(column);
    }
}
