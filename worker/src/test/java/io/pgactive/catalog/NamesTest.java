package io.pgactive.catalog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class NamesTest {

    private static final NodeIdentity UPSTREAM = new NodeIdentity("7716309076917239194", 1, 16385);
    private static final NodeIdentity SELF = new NodeIdentity("7716309076917239000", 2, 16999);

    @Test
    void originNamesHoldTheRemoteNodeAndTheLocalDatabase() {
        String origin = Names.origin(UPSTREAM, SELF);
        assertEquals("pgactive_7716309076917239194_1_16385_16999_", origin);
        assertEquals(Optional.of(UPSTREAM), Names.originNode(origin), "what a commit's origin says of its writer");
        assertTrue(Names.originNode("pgactive_7716309076917239194_1_16385_").isEmpty(), "not one of ours");
        assertTrue(Names.originNode("pg_16401").isEmpty(), "a native subscription's origin");
    }

    @Test
    void slotNamesHoldTheLocalDatabaseAndTheDownstreamNode() {
        assertEquals("pgactive_16385_7716309076917239000_2_16999__", Names.slot(UPSTREAM, SELF));
    }
}
