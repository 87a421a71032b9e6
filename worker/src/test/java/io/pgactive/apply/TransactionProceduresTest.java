package io.pgactive.apply;

import io.pgactive.pg.Lsn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgactive.catalog.NodeIdentity;
import io.pgactive.conflict.ConflictLog;
import io.pgactive.conflict.PriorVersion;
import io.pgactive.conflict.RemoteTransaction;
import io.pgactive.pgoutput.PgOutputMessage;
import io.pgactive.pgoutput.PgOutputMessage.Delete;
import io.pgactive.pgoutput.PgOutputMessage.Insert;
import io.pgactive.pgoutput.PgOutputMessage.Relation;
import io.pgactive.pgoutput.PgOutputMessage.Update;
import io.pgactive.pgoutput.RelationColumn;
import io.pgactive.pgoutput.TupleData;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The procedure text and its values are written together; a known shape collects the same values alone. */
class TransactionProceduresTest {

    private static final Relation ACCOUNTS = new Relation(16384, "public", "accounts", 'd', List.of(
            new RelationColumn(true, "id", 23, -1),
            new RelationColumn(false, "balance", 23, -1),
            new RelationColumn(false, "note", 25, -1)));

    private static final NodeIdentity HERE = new NodeIdentity("5", 1, 1);

    private final TransactionProcedures procedures = new TransactionProcedures(null, true, facts());

    private static TransactionProcedures.TableFacts facts() {
        return new TransactionProcedures.TableFacts() {
            @Override
            public String rewrittenBy(Relation rel) {
                return null;
            }

            @Override
            public LocalColumns columns(Relation rel) {
                return new LocalColumns(Set.of(), Map.of("id", "integer", "balance", "integer", "note", "text"));
            }

            @Override
            public String copiedBefore(Relation rel) {
                return null;
            }

            @Override
            public String owner(Relation rel) {
                return "app's owner";
            }

            @Override
            public int originId(String origin) {
                return 7;
            }

            @Override
            public OptionalInt writerId(NodeIdentity writer) {
                return writer.equals(HERE) ? OptionalInt.of(0) : OptionalInt.empty();
            }

            @Override
            public NodeIdentity self() {
                return HERE;
            }

            @Override
            public ConflictLog history() {
                return new ConflictLog(null, HERE, true, false, true);
            }

            @Override
            public void beforeStatement() {
            }
        };
    }

    @Test
    void valuesOfAKnownShapeMatchThoseWrittenWithTheProcedure() throws Exception {
        PendingTransaction tx = transaction(
                new Insert(ACCOUNTS.relationOid(), TupleData.builder().addText("1").addText("10").addNull().build()),
                new Update(ACCOUNTS.relationOid(), PgOutputMessage.OLD_KEY,
                        TupleData.builder().addText("1").addNull().addNull().build(),
                        TupleData.builder().addText("2").addText("20").addUnchangedToast().build()));
        StringBuilder body = new StringBuilder();
        List<String> alone = valuesWrittenAndAlone(tx, body);
        assertEquals(Arrays.asList("0/16B3748", "2000-01-01T00:00:01.000000Z", "700", "0/16B3700", "1", "10", null, "2",
                "20", "1"), alone);
        String sql = body.toString();
        assertTrue(sql.contains("\"note\""), sql); // inserted
        assertFalse(sql.matches("(?s).*UPDATE.*\"note\" = .*"), sql); // unchanged TOAST: left as it is
        // An existing key or a contested row stops the procedure (a notice, not an error): the careful path decides.
        assertTrue(sql.contains("ON CONFLICT DO NOTHING"), sql);
        assertEquals(2, sql.split("GET DIAGNOSTICS").length - 1, sql); // the insert's and the update's row counts
        assertFalse(sql.contains("RAISE EXCEPTION"), sql);
        assertTrue(sql.contains("ROLLBACK;\n    RAISE NOTICE USING ERRCODE = 'PA001'"), sql);
        assertTrue(sql.indexOf("pg_replication_origin_xact_setup") > sql.lastIndexOf("GET DIAGNOSTICS"),
                "the origin position is set last: " + sql);
        // The tombstone check comes after every change, under the table's tombstone lock (DeleteRaces).
        assertTrue(sql.indexOf("pg_advisory_xact_lock_shared") > sql.indexOf("UPDATE ONLY"), sql);
        assertTrue(sql.indexOf("pgactive_tombstones") > sql.indexOf("pg_advisory_xact_lock_shared"), sql);
        // The table's statements run as its owner; the tombstone check and the origin as the worker.
        String asOwner = "set_config('role', 'app''s owner', true)";
        String asWorker = "set_config('role', 'none', true)";
        assertTrue(sql.indexOf(asOwner) < sql.indexOf("INSERT INTO"), sql);
        assertTrue(sql.lastIndexOf(asOwner) < sql.lastIndexOf("UPDATE ONLY"), sql);
        assertTrue(sql.indexOf(asWorker, sql.indexOf("FOR UPDATE OF")) < sql.indexOf("INSERT INTO pgactive.pgactive_conflict"),
                sql); // the history as the worker
        assertTrue(sql.lastIndexOf(asWorker) > sql.indexOf("UPDATE ONLY")
                && sql.lastIndexOf(asWorker) < sql.indexOf("pg_advisory_xact_lock_shared"), sql);
        assertTrue(sql.contains("WHEN 7 THEN true"), sql); // the origin's id, not a superuser-only lookup
        // A row another node wrote is judged here by last update wins, recorded, and announced after the commit.
        assertTrue(sql.contains("FOR UPDATE OF pgactive_row"), sql);
        assertTrue(sql.contains("pgactive_conflict_handlers"), sql); // a handler's table goes to the careful path
        assertTrue(sql.indexOf("INSERT INTO pgactive.pgactive_conflict_history") > sql.indexOf("pgactive_wins :="), sql);
        assertTrue(sql.indexOf("RAISE NOTICE USING ERRCODE = 'PA002'") > sql.indexOf("COMMIT;"), sql);
    }

    /** A change whose author named the version it replaced is uncontested on that version, in the procedure too. */
    @Test
    void aNamedPriorVersionIsPartOfTheUncontestedCondition() throws Exception {
        PendingTransaction tx = new PendingTransaction("pgactive_1_1_1_",
                new RemoteTransaction(new NodeIdentity("1", 1, 1), 700, 1_000_000, new Lsn(0x16B3700L)));
        tx.replaced(new PriorVersion(ACCOUNTS.relationOid(), HERE, 900_000, List.of("1")));
        tx.add(ACCOUNTS, new Update(ACCOUNTS.relationOid(), PgOutputMessage.OLD_KEY,
                TupleData.builder().addText("1").addNull().addNull().build(),
                TupleData.builder().addText("1").addText("20").addNull().build()));
        tx.committed(new Lsn(0x16B3748L), 1_000_000);
        StringBuilder body = new StringBuilder();
        List<String> alone = valuesWrittenAndAlone(tx, body);
        // the writer's origin id here (0: this node) and the version's commit time follow the key
        assertEquals(List.of("0", "2000-01-01T00:00:00.900000Z"), alone.subList(alone.size() - 2, alone.size()));
        assertTrue(body.toString().contains(").timestamp <= pgactive_v[pgactive_o + " + alone.size() + "]::timestamptz"),
                body.toString());
    }

    /** A join's catch-up replays what its upstream did: no uncontested condition, no tombstone check. */
    @Test
    void catchUpProceduresApplyVerbatim() throws Exception {
        TransactionProcedures catchUp = new TransactionProcedures(null, false, facts());
        PendingTransaction tx = transaction(
                new Insert(ACCOUNTS.relationOid(), TupleData.builder().addText("1").addText("10").addNull().build()),
                new Update(ACCOUNTS.relationOid(), PgOutputMessage.OLD_KEY,
                        TupleData.builder().addText("1").addNull().addNull().build(),
                        TupleData.builder().addText("1").addText("20").addNull().build()));
        StringBuilder body = new StringBuilder();
        assertTrue(catchUp.build(tx, body, new ArrayList<>()));
        String sql = body.toString();
        assertFalse(sql.contains("pg_xact_commit_timestamp_origin"), sql);
        assertFalse(sql.contains("pgactive_tombstones"), sql);
        assertFalse(sql.contains("pg_advisory_xact_lock"), sql);
        assertEquals(2, sql.split("GET DIAGNOSTICS").length - 1, sql); // a missing row still goes to the careful path
    }

    /** Only a procedure that may resolve an UPDATE carries what the history needs; inserts keep their values lean. */
    @Test
    void insertsAloneCarryNoConflictValues() throws Exception {
        PendingTransaction tx = transaction(
                new Insert(ACCOUNTS.relationOid(), TupleData.builder().addText("1").addText("10").addNull().build()));
        StringBuilder body = new StringBuilder();
        List<String> values = new ArrayList<>();
        assertTrue(procedures.build(tx, body, values));
        assertEquals(Arrays.asList("0/16B3748", "2000-01-01T00:00:01.000000Z", "1", "10", null), values);
        assertFalse(body.toString().contains("pgactive_resolved"), body.toString());
    }

    @Test
    void deletesTakeTheCarefulPath() throws Exception {
        PendingTransaction tx = transaction(new Delete(ACCOUNTS.relationOid(), PgOutputMessage.OLD_KEY,
                TupleData.builder().addText("1").addNull().addNull().build()));
        assertFalse(procedures.build(tx, new StringBuilder(), new ArrayList<>()));
    }

    /** The values of {@code tx} collected with its procedure's text (into {@code body}) and alone: the same. */
    private List<String> valuesWrittenAndAlone(PendingTransaction tx, StringBuilder body) throws Exception {
        List<String> written = new ArrayList<>();
        assertTrue(procedures.build(tx, body, written));
        List<String> alone = new ArrayList<>();
        assertTrue(procedures.build(tx, null, alone));
        assertEquals(written, alone);
        return alone;
    }

    private static PendingTransaction transaction(PgOutputMessage... changes) {
        PendingTransaction tx = new PendingTransaction("pgactive_1_1_1_",
                new RemoteTransaction(new NodeIdentity("1", 1, 1), 700, 1_000_000, new Lsn(0x16B3700L)));
        for (PgOutputMessage change : changes) {
            tx.add(ACCOUNTS, change);
        }
        tx.committed(new Lsn(0x16B3748L), 1_000_000);
        return tx;
    }
}
