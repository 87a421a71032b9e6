package io.pgactive.conflict;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.pgactive.catalog.NodeIdentity;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Messages as launcher/pgactive_causality.c writes them. */
class PriorVersionTest {

    private static final String ORIGIN = "pgactive_7312345678901234567_1_16385_16390_";

    @Test
    void readsTheWriterTheTimeAndTheKey() {
        PriorVersion v = PriorVersion.parse("16402 818123456789012 " + ORIGIN + " 1\n2:42");
        assertEquals(new PriorVersion(16402, new NodeIdentity("7312345678901234567", 1, 16385), 818123456789012L,
                java.util.List.of("42")), v);
    }

    @Test
    void keysWithSeparatorsNonAsciiAndNullsReadBackWhole() {
        // "ö" is two bytes: lengths count bytes, as the server writes them
        PriorVersion v = PriorVersion.parse("16402 5 " + ORIGIN + " 3\n8:a b:ö 1-1:4:\n:x\n");
        assertEquals(Arrays.asList("a b:ö 1", null, "\n:x\n"), v.key());
    }

    @Test
    void aRelationOidAboveTwoToThe31IsRead() {
        assertEquals((int) 3_000_000_000L, PriorVersion.parse("3000000000 5 " + ORIGIN + " 0\n").relationOid());
    }

    @Test
    void malformedOrUnknownOriginsAreErrors() {
        assertThrows(IllegalArgumentException.class, () -> PriorVersion.parse("16402 5 " + ORIGIN + " 1"));
        assertThrows(IllegalArgumentException.class, () -> PriorVersion.parse("16402 5 some_other_origin 0\n"));
    }
}
