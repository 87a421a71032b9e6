package io.pgactive.conflict;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Messages as pgactive._record_row_version and launcher/pgactive_causality.c write them. */
class SeenVersionsTest {

    @Test
    void readsTheKeyAndEachNodesLatestVersion() {
        SeenVersions v = SeenVersions.parse("16402 2 1\n2:4219:731234567890123456715:81812345678901219:731234567890123456815:818123456789999");
        assertEquals(new SeenVersions(16402, List.of("42"), Map.of("7312345678901234567", 818123456789012L,
                "7312345678901234568", 818123456789999L)), v);
    }

    @Test
    void aMessageWithMissingOrExtraVersionsIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> SeenVersions.parse("16402 2 1\n2:424:10012:10"));
        assertThrows(IllegalArgumentException.class, () -> SeenVersions.parse("16402 0 1\n2:424:1001"));
    }
}
