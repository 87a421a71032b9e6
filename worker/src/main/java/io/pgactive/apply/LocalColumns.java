package io.pgactive.apply;

import java.util.Map;
import java.util.Set;

/**
 * What the local table's definition demands of apply beyond the replicated columns: identity
 * columns GENERATED ALWAYS accept the remote value only with OVERRIDING SYSTEM VALUE on INSERT,
 * and cannot be set by UPDATE at all; and each column's type, for statements that carry values
 * in text arrays and must cast them explicitly. Read by {@link LocalTable}.
 */
record LocalColumns(Set<String> alwaysIdentity, Map<String, String> types) {

    static final LocalColumns NONE = new LocalColumns(Set.of(), Map.of());

    String overriding() {
        return alwaysIdentity.isEmpty() ? "" : " OVERRIDING SYSTEM VALUE";
    }

    boolean updatable(String column) {
        return !alwaysIdentity.contains(column);
    }

    /** The local column's type as SQL without its modifier, e.g. {@code character varying}. */
    String type(String column) {
        return types.get(column);
    }
}
