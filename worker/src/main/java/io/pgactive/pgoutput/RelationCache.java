package io.pgactive.pgoutput;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The latest {@link PgOutputMessage.Relation} per relation oid seen on one replication stream.
 *
 * <p>Tuples carry no column names or types, only values in the order of the last Relation message
 * for their oid; pgoutput re-sends that message after any change of the relation's definition, so
 * each new one must replace the old, or apply would read rows with a stale shape after an
 * {@code ALTER TABLE ... ADD COLUMN} upstream.
 *
 * <p>Belongs to one stream and is not thread-safe; a new walsender session starts with a new cache,
 * since the server re-sends every Relation it needs after reconnection.
 */
public final class RelationCache {

    private final Map<Integer, PgOutputMessage.Relation> byOid = new HashMap<>();

    /** Records {@code relation}, replacing any earlier description of the same oid. */
    public void put(PgOutputMessage.Relation relation) {
        byOid.put(relation.relationOid(), relation);
    }

    /** Feeds any decoded message; only Relation messages change the cache. Returns the message. */
    public PgOutputMessage observe(PgOutputMessage message) {
        if (message instanceof PgOutputMessage.Relation relation) {
            put(relation);
        }
        return message;
    }

    /**
     * The latest description of {@code relationOid}.
     *
     * @throws UnknownRelationException if no Relation message for it has been seen
     */
    public PgOutputMessage.Relation get(int relationOid) {
        PgOutputMessage.Relation relation = byOid.get(relationOid);
        if (relation == null) {
            throw new UnknownRelationException(relationOid);
        }
        return relation;
    }

    public Optional<PgOutputMessage.Relation> find(int relationOid) {
        return Optional.ofNullable(byOid.get(relationOid));
    }

    public int size() {
        return byOid.size();
    }

    public void clear() {
        byOid.clear();
    }
}
