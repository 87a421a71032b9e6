package io.pgactive.pgoutput;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgactive.pgoutput.PgOutputMessage.Relation;
import java.util.List;
import org.junit.jupiter.api.Test;

class RelationCacheTest {

    private static Relation relation(int oid, String... columns) {
        return new Relation(oid, "public", "t" + oid, Relation.REPLICA_IDENTITY_DEFAULT,
                java.util.Arrays.stream(columns).map(c -> new RelationColumn(c.equals("id"), c, 23, -1)).toList());
    }

    @Test
    void unknownOidIsAClearError() {
        RelationCache cache = new RelationCache();
        UnknownRelationException e = assertThrows(UnknownRelationException.class, () -> cache.get(-2));
        assertEquals(-2, e.relationOid());
        assertEquals("no Relation message seen for relation oid 4294967294 on this replication stream", e.getMessage());
        assertTrue(cache.find(-2).isEmpty());
    }

    @Test
    void laterRelationMessagesReplaceEarlierOnes() {
        RelationCache cache = new RelationCache();
        Relation before = relation(16385, "id", "a");
        Relation after = relation(16385, "id", "a", "b");
        cache.observe(before);
        cache.observe(new PgOutputMessage.Begin(new io.pgactive.pg.Lsn(1), 2, 3));
        assertSame(before, cache.get(16385));
        assertSame(after, cache.observe(after));
        assertEquals(List.of("id", "a", "b"), cache.get(16385).columns().stream().map(RelationColumn::name).toList());
        assertEquals(1, cache.size());
        cache.put(relation(16390, "id"));
        assertEquals(2, cache.size());
        cache.clear();
        assertTrue(cache.find(16385).isEmpty());
    }
}
