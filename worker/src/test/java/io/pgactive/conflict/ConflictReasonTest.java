package io.pgactive.conflict;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgactive.catalog.NodeIdentity;
import io.pgactive.pg.Lsn;
import io.pgactive.pg.ServerError;
import org.junit.jupiter.api.Test;

class ConflictReasonTest {

    private static final NodeIdentity HERE = new NodeIdentity("100", 1, 5);
    private static final NodeIdentity SENDER = new NodeIdentity("200", 1, 5);
    private static final long T = 818_000_000_000_000L; // 2025-12-02 14:13:20 UTC

    private static Conflict conflict(ConflictType type, Resolution resolution, LocalRow local) {
        return new Conflict(type, resolution, "s", "t", local, "{}", new RemoteTransaction(SENDER, 7, T, new Lsn(16)), null);
    }

    @Test
    void lastUpdateWinsSaysWhichVersionWasLaterAndByWhom() {
        String reason = ConflictReason.of(conflict(ConflictType.UPDATE_UPDATE, Resolution.LAST_UPDATE_WINS_KEEP_REMOTE,
                new LocalRow("(0,1)", "9", T - 1_000_000, HERE)));
        assertEquals("last update wins: the remote change (committed 2025-12-02T14:13:20.000000Z on node 200) is later than"
                + " the local version (committed 2025-12-02T14:13:19.000000Z on node 100)", reason);
        assertTrue(ConflictReason.of(conflict(ConflictType.UPDATE_UPDATE, Resolution.LAST_UPDATE_WINS_KEEP_LOCAL,
                new LocalRow("(0,1)", "9", T, HERE))).contains("higher system identifier wins, so the local version was kept"));
    }

    @Test
    void tombstonesHandlersAndFailuresSayWhatDecided() {
        assertTrue(ConflictReason.of(conflict(ConflictType.UPDATE_DELETE, Resolution.SKIP_CHANGE,
                new LocalRow(null, null, T + 5, HERE))).startsWith("a DELETE (committed"));
        assertTrue(ConflictReason.of(conflict(ConflictType.UPDATE_DELETE, Resolution.APPLY_CHANGE, null))
                .endsWith("is later than any DELETE of it: the row was inserted"));
        assertTrue(ConflictReason.of(conflict(ConflictType.UPDATE_UPDATE, Resolution.CONFLICT_TRIGGER_RETURNED_TUPLE,
                new LocalRow("(0,1)", "9", T, HERE))).startsWith("a conflict handler returned"));
        Conflict failed = new Conflict(ConflictType.UNHANDLED_TX_ABORT, Resolution.UNHANDLED_TX_ABORT, null, null, null,
                null, new RemoteTransaction(SENDER, 7, T, new Lsn(16)),
                new ServerError("relation \"x\" does not exist", "42P01", null, null, null));
        assertEquals("the transaction could not be applied: relation \"x\" does not exist", ConflictReason.of(failed));
    }
}
