package io.pgactive.pgoutput;

import java.util.Objects;

/**
 * One column of a {@link PgOutputMessage.Relation}, in the order the tuples of that relation carry
 * their values. Dropped and generated columns are never sent, so the index here is not attnum - 1.
 *
 * @param partOfKey    whether the column belongs to the replica identity (every column does under
 *                     REPLICA IDENTITY FULL)
 * @param name         the column name
 * @param typeOid      {@code pg_attribute.atttypid} on the upstream; user-defined types are
 *                     described by a preceding {@link PgOutputMessage.TypeInfo}
 * @param typeModifier {@code pg_attribute.atttypmod}, -1 when the type has none
 */
public record RelationColumn(boolean partOfKey, String name, int typeOid, int typeModifier) {

    public RelationColumn {
        Objects.requireNonNull(name, "name");
    }
}
