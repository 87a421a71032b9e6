package io.pgactive.conflict;

import io.pgactive.pg.Lsn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.pgactive.catalog.NodeIdentity;
import io.pgactive.conflict.ConflictRules.Action;
import io.pgactive.conflict.ConflictRules.Change;
import io.pgactive.conflict.ConflictRules.Decision;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** docs/conflicts.md's table, row by row, and the rule that decides what is a conflict. */
class ConflictRulesTest {

    private static final NodeIdentity HERE = new NodeIdentity("100", 1, 5);
    private static final NodeIdentity SENDER = new NodeIdentity("200", 1, 5);
    private static final NodeIdentity THIRD = new NodeIdentity("300", 1, 5);
    private static final long T = 1_000_000_000L;

    private final ConflictRules rules = new ConflictRules(true);

    private static RemoteTransaction remoteAt(long micros) {
        return new RemoteTransaction(SENDER, 42, micros, new Lsn(0x100));
    }

    private static LocalRow rowBy(NodeIdentity writer, Long micros) {
        return new LocalRow("(0,1)", "7", micros, writer);
    }

    private static void assertDecision(ConflictType type, Resolution resolution, Action action, Decision decision) {
        assertEquals(new Decision(type, resolution, action), decision);
    }

    // ---- no conflict

    @Test
    void theNextChangeToARowFromTheSameNodeIsNoConflict() {
        for (Change change : Change.values()) {
            Decision d = rules.existingRow(change, rowBy(SENDER, T + 5), remoteAt(T));
            assertFalse(d.isConflict(), change + ": even an older change from the row's own writer");
            assertEquals(Action.APPLY, d.action());
        }
    }

    @Test
    void aRowOlderThanAnythingIsNoConflict() {
        assertFalse(rules.existingRow(Change.UPDATE, rowBy(HERE, null), remoteAt(T)).isConflict());
    }

    @Test
    void catchUpReplaysVerbatim() {
        ConflictRules catchUp = new ConflictRules(false);
        for (Change change : Change.values()) {
            assertEquals(Action.APPLY, catchUp.existingRow(change, rowBy(THIRD, T + 5), remoteAt(T)).action());
        }
    }

    // ---- INSERT | a row with the key exists | insert_insert | last update wins

    @Test
    void insertOverAnExistingRow() {
        assertDecision(ConflictType.INSERT_INSERT, Resolution.LAST_UPDATE_WINS_KEEP_REMOTE, Action.APPLY,
                rules.existingRow(Change.INSERT, rowBy(HERE, T - 1), remoteAt(T)));
        assertDecision(ConflictType.INSERT_INSERT, Resolution.LAST_UPDATE_WINS_KEEP_LOCAL, Action.SKIP,
                rules.existingRow(Change.INSERT, rowBy(HERE, T + 1), remoteAt(T)));
    }

    // ---- causality: a change whose author had seen the row's version is no conflict

    private static Optional<PriorVersion> replaced(NodeIdentity writer, long micros) {
        return Optional.of(new PriorVersion(16384, writer, micros, java.util.List.of("1")));
    }

    @Test
    void aChangeToTheVersionItsAuthorHadSeenIsTheNextChangeNotAConflict() {
        for (Change change : new Change[] {Change.UPDATE, Change.DELETE}) {
            // the author updated THIRD's version, which is this row's (or a later one of THIRD's)
            assertEquals(Decision.NO_CONFLICT,
                    rules.existingRow(change, rowBy(THIRD, T + 5), remoteAt(T), replaced(THIRD, T + 5)));
            assertEquals(Decision.NO_CONFLICT,
                    rules.existingRow(change, rowBy(THIRD, T + 5), remoteAt(T), replaced(THIRD, T + 9)));
            // this node's own write, which the author had applied before changing the row
            assertEquals(Decision.NO_CONFLICT,
                    rules.existingRow(change, rowBy(HERE, T + 5), remoteAt(T), replaced(HERE, T + 5)));
        }
    }

    @Test
    void aChangeMadeWithoutSeeingThisVersionIsStillAConflict() {
        // the author replaced an older version of THIRD's, or another node's: it had not seen this one
        assertDecision(ConflictType.UPDATE_UPDATE, Resolution.LAST_UPDATE_WINS_KEEP_LOCAL, Action.SKIP,
                rules.existingRow(Change.UPDATE, rowBy(THIRD, T + 5), remoteAt(T), replaced(THIRD, T + 4)));
        assertDecision(ConflictType.UPDATE_UPDATE, Resolution.LAST_UPDATE_WINS_KEEP_LOCAL, Action.SKIP,
                rules.existingRow(Change.UPDATE, rowBy(HERE, T + 5), remoteAt(T), replaced(THIRD, T + 5)));
        assertDecision(ConflictType.UPDATE_DELETE, Resolution.LAST_UPDATE_WINS_KEEP_LOCAL, Action.SKIP,
                rules.existingRow(Change.DELETE, rowBy(THIRD, T + 5), remoteAt(T), replaced(HERE, T + 9)));
        // a version without a known time (frozen) is older than anything: never "seen" by time
        assertEquals(Decision.NO_CONFLICT,
                rules.existingRow(Change.UPDATE, rowBy(THIRD, null), remoteAt(T), replaced(HERE, T)));
    }

    // ---- UPDATE | row last written by another node | update_update | last update wins

    @Test
    void updateOfARowAnotherNodeWroteLast() {
        assertDecision(ConflictType.UPDATE_UPDATE, Resolution.LAST_UPDATE_WINS_KEEP_REMOTE, Action.APPLY,
                rules.existingRow(Change.UPDATE, rowBy(THIRD, T - 1), remoteAt(T)));
        assertDecision(ConflictType.UPDATE_UPDATE, Resolution.LAST_UPDATE_WINS_KEEP_LOCAL, Action.SKIP,
                rules.existingRow(Change.UPDATE, rowBy(HERE, T + 1), remoteAt(T)));
    }

    @Test
    void equalCommitTimesGoToTheHigherNodeIdentifier() {
        // SENDER (200) is above HERE (100) and below THIRD (300): every node picks the same winner.
        assertEquals(Action.APPLY, rules.existingRow(Change.UPDATE, rowBy(HERE, T), remoteAt(T)).action());
        assertEquals(Action.SKIP, rules.existingRow(Change.UPDATE, rowBy(THIRD, T), remoteAt(T)).action());
    }

    // ---- UPDATE | row missing | update_delete | tombstone decides: skip_change or apply_change

    @Test
    void updateOfAMissingRow() {
        assertDecision(ConflictType.UPDATE_DELETE, Resolution.APPLY_CHANGE, Action.INSERT_ROW,
                rules.missingRowForUpdate(Optional.empty(), remoteAt(T), true)); // it overtook its INSERT
        assertDecision(ConflictType.UPDATE_DELETE, Resolution.APPLY_CHANGE, Action.INSERT_ROW,
                rules.missingRowForUpdate(Optional.of(rowBy(THIRD, T - 1)), remoteAt(T), true)); // an older DELETE
        assertDecision(ConflictType.UPDATE_DELETE, Resolution.SKIP_CHANGE, Action.SKIP,
                rules.missingRowForUpdate(Optional.of(rowBy(THIRD, T + 1)), remoteAt(T), true)); // a newer DELETE
        assertDecision(ConflictType.UPDATE_DELETE, Resolution.SKIP_CHANGE, Action.SKIP,
                rules.missingRowForUpdate(Optional.empty(), remoteAt(T), false)); // nothing to insert from
    }

    // ---- DELETE | row last written by another node | update_delete | last update wins

    @Test
    void deleteOfARowAnotherNodeWroteLast() {
        assertDecision(ConflictType.UPDATE_DELETE, Resolution.LAST_UPDATE_WINS_KEEP_REMOTE, Action.APPLY,
                rules.existingRow(Change.DELETE, rowBy(HERE, T - 1), remoteAt(T)));
        assertDecision(ConflictType.UPDATE_DELETE, Resolution.LAST_UPDATE_WINS_KEEP_LOCAL, Action.SKIP,
                rules.existingRow(Change.DELETE, rowBy(HERE, T + 1), remoteAt(T)));
    }

    // ---- DELETE | row missing | delete_delete | skip_change

    @Test
    void deleteOfAMissingRow() {
        assertDecision(ConflictType.DELETE_DELETE, Resolution.SKIP_CHANGE, Action.SKIP, rules.missingRowForDelete());
    }

    // ---- INSERT | key missing, deleted here by a newer DELETE | update_delete | skip_change

    @Test
    void insertOfAKeyANewerDeleteRemoved() {
        assertDecision(ConflictType.UPDATE_DELETE, Resolution.SKIP_CHANGE, Action.SKIP,
                rules.insertOfMissingKey(Optional.of(rowBy(THIRD, T + 1)), remoteAt(T)));
        assertFalse(rules.insertOfMissingKey(Optional.of(rowBy(THIRD, T - 1)), remoteAt(T)).isConflict(),
                "an older delete does not stop it");
        assertFalse(rules.insertOfMissingKey(Optional.empty(), remoteAt(T)).isConflict());
    }

    // ---- column-level tables: ColumnMerge

    private static ColumnChanges.Column plain(String name) {
        return new ColumnChanges.Column(name, false, null);
    }

    @Test
    void updatesOfDifferentColumnsMergeWithoutAConflict() {
        // Here: column a was written at T + 5 by this node; the remote change, at T, set b and a counter.
        ColumnMerge m = rules.mergeColumns(rowBy(HERE, T + 5), java.util.Map.of("a", rowBy(HERE, T + 5)),
                java.util.List.of(plain("b"), new ColumnChanges.Column("n", true, "3")), remoteAt(T), Optional.empty());
        assertEquals(java.util.Set.of("b"), m.taken());
        assertEquals(java.util.Map.of("n", "3"), m.counters());
        assertEquals(null, m.conflict());
    }

    @Test
    void aColumnBothChangedGoesToTheLaterWriterAndIsAConflict() {
        java.util.Map<String, LocalRow> versions = java.util.Map.of("a", rowBy(HERE, T + 5), "b", rowBy(THIRD, T - 5));
        ColumnMerge older = rules.mergeColumns(rowBy(HERE, T + 5), versions, java.util.List.of(plain("a"), plain("b")),
                remoteAt(T), Optional.empty());
        assertEquals(java.util.Set.of("b"), older.taken(), "a keeps its later local value");
        assertEquals(Resolution.LAST_UPDATE_WINS_KEEP_LOCAL, older.conflict().resolution());
        assertEquals(T + 5, older.local().commitTimeMicros());
        ColumnMerge newer = rules.mergeColumns(rowBy(HERE, T + 5), versions, java.util.List.of(plain("a")),
                remoteAt(T + 9), Optional.empty());
        assertEquals(java.util.Set.of("a"), newer.taken());
        assertEquals(Resolution.LAST_UPDATE_WINS_KEEP_REMOTE, newer.conflict().resolution());
    }

    @Test
    void anUpdateMadeAfterSeeingTheRowTakesEveryColumnItChanged() {
        // The author named the row's latest version (this node's, at T + 5) as the one it replaced.
        PriorVersion seen = new PriorVersion(1, HERE, T + 5, java.util.List.of("1"));
        ColumnMerge m = rules.mergeColumns(rowBy(THIRD, T), java.util.Map.of("a", rowBy(HERE, T + 5)),
                java.util.List.of(plain("a")), remoteAt(T + 1), Optional.of(seen));
        assertEquals(java.util.Set.of("a"), m.taken());
        assertEquals(null, m.conflict());
    }
}
