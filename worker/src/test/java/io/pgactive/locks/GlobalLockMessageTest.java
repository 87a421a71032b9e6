package io.pgactive.locks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgactive.catalog.NodeIdentity;
import java.util.List;
import org.junit.jupiter.api.Test;

class GlobalLockMessageTest {

    private static final String A = GlobalLockMessage.nodeId(new NodeIdentity("7312345678901234567", 1, 16384));

    @Test
    void everyMessageReadsBackAsWritten() {
        for (GlobalLockMessage m : List.of(new GlobalLockMessage.Acquire("write_lock", A, 786543210123L),
                new GlobalLockMessage.Confirm(A, 786543210123L, "7312345678901234999:1:16390"),
                new GlobalLockMessage.Decline(A, 1, "7312345678901234999:1:16390"),
                new GlobalLockMessage.Release(A, 786543210123L))) {
            assertEquals(m, GlobalLockMessage.parse(m.text()).orElseThrow(), m.text());
        }
    }

    @Test
    void readsWhatTheServerWrites() {
        // as launcher/pgactive_locks.c formats them
        assertEquals(new GlobalLockMessage.Acquire("ddl_lock", "7312345678901234567:1:16384", 42),
                GlobalLockMessage.parse("global_lock acquire ddl_lock 7312345678901234567:1:16384 42").orElseThrow());
        assertEquals(new GlobalLockMessage.Release("7312345678901234567:1:16384", 42),
                GlobalLockMessage.parse("global_lock release 7312345678901234567:1:16384 42").orElseThrow());
    }

    @Test
    void otherControlMessagesAreNotLockMessages() {
        assertTrue(GlobalLockMessage.parse("catchup:123:abc").isEmpty());
    }

    @Test
    void malformedLockMessagesAreErrorsNamingThem() {
        for (String bad : List.of("global_lock acquire ddl_lock " + A, "global_lock confirm " + A + " x peer",
                "global_lock grab " + A + " 1", "global_lock acquire table_lock " + A + " 1")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GlobalLockMessage.parse(bad));
            assertTrue(e.getMessage().contains("lock"), e.getMessage());
        }
    }
}
