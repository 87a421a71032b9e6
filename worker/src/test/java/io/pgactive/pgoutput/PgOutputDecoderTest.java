package io.pgactive.pgoutput;

import io.pgactive.pg.PgTimestamps;
import io.pgactive.pg.Lsn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.pgactive.pgoutput.PgOutputMessage.Begin;
import io.pgactive.pgoutput.PgOutputMessage.Commit;
import io.pgactive.pgoutput.PgOutputMessage.Delete;
import io.pgactive.pgoutput.PgOutputMessage.Insert;
import io.pgactive.pgoutput.PgOutputMessage.LogicalMessage;
import io.pgactive.pgoutput.PgOutputMessage.Origin;
import io.pgactive.pgoutput.PgOutputMessage.Relation;
import io.pgactive.pgoutput.PgOutputMessage.StreamAbort;
import io.pgactive.pgoutput.PgOutputMessage.StreamCommit;
import io.pgactive.pgoutput.PgOutputMessage.StreamStart;
import io.pgactive.pgoutput.PgOutputMessage.StreamStop;
import io.pgactive.pgoutput.PgOutputMessage.Streamed;
import io.pgactive.pgoutput.PgOutputMessage.Truncate;
import io.pgactive.pgoutput.PgOutputMessage.TypeInfo;
import io.pgactive.pgoutput.PgOutputMessage.Update;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Decodes streams captured from a PostgreSQL 15 walsender by {@link CaptureFixtures}; the SQL that
 * produced each fixture is next to it in {@code src/test/resources/pgoutput/<name>.sql}.
 */
class PgOutputDecoderTest {

    private static final List<String> FIXTURES =
            List.of("dml_types", "identity_toast", "truncate_messages", "origin", "schema_change");

    private final PgOutputDecoder decoder = new PgOutputDecoder();

    // ---------------------------------------------------------------- dml_types

    @Test
    void dmlTypesMessageSequence() {
        assertEquals("BRIC BIC BUC BUC BDC BIIDC", shape(Fixtures.messages("dml_types")));
    }

    @Test
    void relationDescribesColumnsKeysAndTypeModifiers() {
        Relation items = (Relation) Fixtures.messages("dml_types").get(1);
        assertEquals("app", items.namespace());
        assertEquals("items", items.name());
        assertEquals(Relation.REPLICA_IDENTITY_DEFAULT, items.replicaIdentity());
        assertEquals(List.of("id", "label", "price", "created", "payload", "doc", "tags", "code"),
                items.columns().stream().map(RelationColumn::name).toList());
        assertEquals(List.of(true, false, false, false, false, false, false, false),
                items.columns().stream().map(RelationColumn::partOfKey).toList());
        // int4, text, numeric, timestamptz, bytea, jsonb, _int4, varchar
        assertEquals(List.of(23, 25, 1700, 1184, 17, 3802, 1007, 1043),
                items.columns().stream().map(RelationColumn::typeOid).toList());
        // numeric(12,4) is ((12 << 16) | 4) + VARHDRSZ, varchar(20) is 20 + VARHDRSZ, the rest have none.
        assertEquals(List.of(-1, -1, (12 << 16 | 4) + 4, -1, -1, -1, -1, 24),
                items.columns().stream().map(RelationColumn::typeModifier).toList());
        assertEquals(6, items.indexOf("tags"));
        assertEquals(-1, items.indexOf("nope"));
    }

    @Test
    void insertCarriesTextOutputOfEachType() {
        List<PgOutputMessage> messages = Fixtures.messages("dml_types");
        Relation items = (Relation) messages.get(1);
        Insert insert = (Insert) messages.get(2);
        assertEquals(items.relationOid(), insert.relationOid());
        TupleData row = insert.newTuple();
        assertEquals(8, row.size());
        assertEquals("1", row.text(0));
        assertEquals("héllo wörld ✓", row.text(1));
        assertEquals("12345.6789", row.text(2));
        // The walsender formats in the session TimeZone, which pgjdbc set from the capturing JVM (UTC).
        assertEquals("2024-02-29 13:14:15.123456+00", row.text(3));
        assertEquals("\\x00ff10", row.text(4));
        // jsonb output is normalized: keys sorted, one space after ':' and ','.
        assertEquals("{\"a\": 1, \"b\": [true, null]}", row.text(5));
        assertEquals("{1,2,NULL,4}", row.text(6));
        assertEquals("short", row.text(7));
        for (int i = 0; i < row.size(); i++) {
            assertEquals(TupleData.Kind.TEXT, row.kind(i));
        }
        assertEquals("héllo wörld ✓".getBytes(StandardCharsets.UTF_8).length, row.byteLength(1));
    }

    @Test
    void nullColumnsAreMarkedNotOmitted() {
        TupleData row = ((Insert) Fixtures.messages("dml_types").get(5)).newTuple();
        assertEquals(8, row.size());
        assertEquals("2", row.text(0));
        for (int i = 1; i < 8; i++) {
            assertTrue(row.isNull(i), "column " + i);
            assertEquals(TupleData.Kind.NULL, row.kind(i));
            assertNull(row.textOrNull(i));
        }
        assertThrows(IllegalStateException.class, () -> row.text(1));
        assertThrows(IllegalStateException.class, () -> row.bytes(1));
    }

    @Test
    void updateOfNonKeyColumnsSendsNoOldTuple() {
        Update update = (Update) Fixtures.messages("dml_types").get(8);
        assertEquals(PgOutputMessage.NO_OLD_TUPLE, update.oldKind());
        assertNull(update.oldTuple());
        assertFalse(update.hasOldTuple());
        assertEquals("1", update.newTuple().text(0));
        assertEquals("updated", update.newTuple().text(1));
        assertEquals("-0.5000", update.newTuple().text(2), "numeric(12,4) keeps its scale");
        assertEquals("{1,2,NULL,4}", update.newTuple().text(6), "unchanged columns are sent in full");
    }

    @Test
    void updateChangingTheKeySendsTheOldKey() {
        Update update = (Update) Fixtures.messages("dml_types").get(11);
        assertEquals(PgOutputMessage.OLD_KEY, update.oldKind());
        TupleData oldKey = update.oldTuple();
        // The old key has every column: the key's value and NULL for all the others.
        assertEquals(8, oldKey.size());
        assertEquals("2", oldKey.text(0));
        for (int i = 1; i < 8; i++) {
            assertTrue(oldKey.isNull(i), "column " + i);
        }
        assertEquals("10", update.newTuple().text(0));
    }

    @Test
    void deleteSendsTheOldKey() {
        List<PgOutputMessage> messages = Fixtures.messages("dml_types");
        Delete delete = (Delete) messages.get(14);
        assertEquals(PgOutputMessage.OLD_KEY, delete.oldKind());
        assertEquals("10", delete.oldTuple().text(0));
        assertTrue(delete.oldTuple().isNull(1));
        assertEquals("1", ((Delete) messages.get(19)).oldTuple().text(0));
    }

    @Test
    void textIsSentUnescaped() {
        List<PgOutputMessage> messages = Fixtures.messages("dml_types");
        assertEquals("tab\there, quote ' and backslash \\ and\nnewline", ((Insert) messages.get(17)).newTuple().text(1));
        TupleData empty = ((Insert) messages.get(18)).newTuple();
        assertEquals("", empty.text(1));
        assertEquals(TupleData.Kind.TEXT, empty.kind(1), "an empty string is not NULL");
    }

    // ---------------------------------------------------------------- identity_toast

    @Test
    void identityToastMessageSequence() {
        assertEquals("BRIIC BUC BDC BRIC BUC BUC BUC BDC", shape(Fixtures.messages("identity_toast")));
    }

    @Test
    void replicaIdentityFullSendsWholeOldRows() {
        List<PgOutputMessage> messages = Fixtures.messages("identity_toast");
        Relation audit = (Relation) messages.get(1);
        assertEquals("public", audit.namespace());
        assertEquals("audit_full", audit.name());
        assertEquals(Relation.REPLICA_IDENTITY_FULL, audit.replicaIdentity());
        assertTrue(audit.columns().stream().allMatch(RelationColumn::partOfKey), "FULL marks every column as key");

        Update update = (Update) messages.get(6);
        assertEquals(PgOutputMessage.OLD_TUPLE, update.oldKind());
        assertEquals(TupleData.builder().addText("1").addText("first").addText("10.5").build(), update.oldTuple());
        assertEquals(TupleData.builder().addText("1").addText("changed").addText("10.5").build(), update.newTuple());

        Delete delete = (Delete) messages.get(9);
        assertEquals(PgOutputMessage.OLD_TUPLE, delete.oldKind());
        assertEquals(TupleData.builder().addText("2").addNull().addText("20").build(), delete.oldTuple());
    }

    @Test
    void toastedValueIsSentOnInsertAndMarkedUnchangedOnUpdate() throws Exception {
        List<PgOutputMessage> messages = Fixtures.messages("identity_toast");
        Relation docs = (Relation) messages.get(12);
        assertEquals("docs", docs.name());

        TupleData inserted = ((Insert) messages.get(13)).newTuple();
        assertEquals(expectedBigBody(), inserted.text(2));
        assertEquals(102_400, inserted.byteLength(2));
        assertFalse(inserted.hasUnchangedToast());

        TupleData renamed = ((Update) messages.get(16)).newTuple();
        assertEquals("renamed", renamed.text(1));
        assertTrue(renamed.isUnchangedToast(2));
        assertEquals(TupleData.Kind.UNCHANGED_TOAST, renamed.kind(2));
        assertTrue(renamed.hasUnchangedToast());
        assertThrows(IllegalStateException.class, () -> renamed.text(2));
        assertEquals(0, renamed.byteLength(2));

        // "SET body = body" keeps the same TOAST pointer, so it is still reported as unchanged.
        TupleData selfAssigned = ((Update) messages.get(19)).newTuple();
        assertEquals("renamed again", selfAssigned.text(1));
        assertTrue(selfAssigned.isUnchangedToast(2));

        TupleData replaced = ((Update) messages.get(22)).newTuple();
        assertEquals("small now", replaced.text(2));

        Delete delete = (Delete) messages.get(25);
        assertEquals(TupleData.builder().addText("1").addNull().addNull().build(), delete.oldTuple());
    }

    /** What {@code string_agg(md5(i::text), '' ORDER BY i) FROM generate_series(1, 3200) i} produces. */
    private static String expectedBigBody() throws Exception {
        MessageDigest md5 = MessageDigest.getInstance("MD5");
        StringBuilder body = new StringBuilder();
        for (int i = 1; i <= 3200; i++) {
            body.append(HexFormat.of().formatHex(md5.digest(Integer.toString(i).getBytes(StandardCharsets.US_ASCII))));
        }
        return body.toString();
    }

    // ---------------------------------------------------------------- truncate_messages

    @Test
    void truncateMessagesSequence() {
        assertEquals("BRIC BRIC BRIC BRTC BRRTC BMC M M", shape(Fixtures.messages("truncate_messages")));
    }

    @Test
    void truncateListsTheRelationOidsAndOptions() {
        List<PgOutputMessage> messages = Fixtures.messages("truncate_messages");
        Relation parent = (Relation) messages.get(1);
        Relation child = (Relation) messages.get(5);
        Relation solo = (Relation) messages.get(9);
        assertEquals(List.of("parent", "child", "solo"), List.of(parent.name(), child.name(), solo.name()));

        // TRUNCATE gives the table a new relfilenode, which makes pgoutput send its Relation again.
        assertEquals(solo, messages.get(13));
        Truncate single = (Truncate) messages.get(14);
        assertFalse(single.cascade());
        assertFalse(single.restartIdentity());
        assertEquals(List.of(solo.relationOid()), single.relationOids());

        assertEquals(List.of(parent, child), messages.subList(17, 19));
        Truncate cascaded = (Truncate) messages.get(19);
        assertTrue(cascaded.cascade());
        assertTrue(cascaded.restartIdentity());
        assertEquals(List.of(parent.relationOid(), child.relationOid()), cascaded.relationOids());
        assertThrows(UnsupportedOperationException.class, () -> cascaded.relationOids().add(1));
    }

    @Test
    void logicalMessagesCarryPrefixContentAndTransactionalFlag() {
        List<PgOutputMessage> messages = Fixtures.messages("truncate_messages");
        Begin begin = (Begin) messages.get(21);
        LogicalMessage transactional = (LogicalMessage) messages.get(22);
        Commit commit = (Commit) messages.get(23);
        assertTrue(transactional.transactional());
        assertEquals("pgactive", transactional.prefix());
        assertEquals("hello", transactional.contentAsString());
        // The "LSN of the message" is where its WAL record ends; here the commit record starts there.
        assertEquals(commit.commitLsn(), transactional.lsn());
        assertEquals(begin.finalLsn(), commit.commitLsn());

        LogicalMessage binary = (LogicalMessage) messages.get(24);
        assertFalse(binary.transactional());
        assertEquals("pgactive", binary.prefix());
        assertArrayEquals(new byte[] {0x00, (byte) 0xff, 0x00}, binary.content());
        assertTrue(!commit.endLsn().isAfter(binary.lsn()));

        // The content cannot be changed through the accessor.
        binary.content()[0] = 42;
        assertEquals(0, binary.content()[0]);
    }

    @Test
    void nonTransactionalMessageOfAnAbortedTransactionIsStillSent() {
        List<PgOutputMessage> messages = Fixtures.messages("truncate_messages");
        LogicalMessage fromAborted = (LogicalMessage) messages.get(25);
        assertFalse(fromAborted.transactional());
        assertEquals("pgactive.nontx", fromAborted.prefix());
        assertEquals("from aborted", fromAborted.contentAsString());
        // Neither the aborted insert nor its transactional message appear.
        assertEquals(26, messages.size());
        assertTrue(messages.stream().noneMatch(m -> m instanceof LogicalMessage l && l.prefix().equals("pgactive.tx")));
    }

    // ---------------------------------------------------------------- origin

    @Test
    void originMessagesFollowBeginOfReplayedTransactions() {
        List<PgOutputMessage> messages = Fixtures.messages("origin");
        assertEquals("BRIC BOIC BOIC BIC", shape(messages));
        Lsn declaredLsn = Lsn.parse("0/ABCDEF01");
        long declaredTime = PgTimestamps.fromInstant(Instant.parse("2020-01-02T03:04:05.678901Z"));

        Origin origin = (Origin) messages.get(5);
        assertEquals("pgactive_x", origin.name());
        assertEquals(declaredLsn, origin.commitLsn());
        // Decoding reports the origin's commit timestamp as the transaction's commit time.
        assertEquals(declaredTime, ((Begin) messages.get(4)).commitTimeMicros());
        assertEquals(declaredTime, ((Commit) messages.get(7)).commitTimeMicros());
        assertEquals("from x", ((Insert) messages.get(6)).newTuple().text(1));

        // The session keeps the values of the last pg_replication_origin_xact_setup, so a later
        // transaction that did not call it reports them again: apply must set them for every one.
        assertEquals(new Origin(declaredLsn, "pgactive_x"), messages.get(9));
        assertEquals(declaredTime, ((Begin) messages.get(8)).commitTimeMicros());

        // Local transactions have real commit times, later than the declared one.
        long localTime = ((Begin) messages.get(12)).commitTimeMicros();
        assertTrue(localTime > declaredTime);
        assertTrue(PgTimestamps.toInstant(localTime).isAfter(Instant.parse("2024-01-01T00:00:00Z")));
    }

    // ---------------------------------------------------------------- schema_change

    @Test
    void schemaChangeMessageSequence() {
        assertEquals("BYYRIC BYYRIC BYRIC BYRIC BUC", shape(Fixtures.messages("schema_change")));
    }

    @Test
    void typeMessagesNameUserDefinedTypes() {
        List<PgOutputMessage> messages = Fixtures.messages("schema_change");
        TypeInfo mood = (TypeInfo) messages.get(1);
        TypeInfo domain = (TypeInfo) messages.get(2);
        Relation people = (Relation) messages.get(3);
        assertEquals("public", mood.namespace());
        assertEquals("mood", mood.name());
        assertEquals(people.column(people.indexOf("feeling")).typeOid(), mood.typeOid());
        // A domain is sent with its own oid but the name of its base type; pg_catalog is "".
        assertEquals(people.column(people.indexOf("score")).typeOid(), domain.typeOid());
        assertEquals("", domain.namespace());
        assertEquals("int4", domain.name());
        assertEquals("happy", ((Insert) messages.get(4)).newTuple().text(2));
    }

    @Test
    void relationIsSentAgainAfterEachAlterTable() {
        List<PgOutputMessage> messages = Fixtures.messages("schema_change");
        List<Relation> versions = messages.stream()
                .filter(m -> m instanceof Relation).map(m -> (Relation) m).toList();
        assertEquals(4, versions.size());
        int oid = versions.get(0).relationOid();
        assertTrue(versions.stream().allMatch(r -> r.relationOid() == oid));
        assertEquals(List.of("id", "name", "feeling", "score"), names(versions.get(0)));
        // ADD COLUMN: one more column.
        assertEquals(versions.get(0).columnCount() + 1, versions.get(1).columnCount());
        assertEquals(List.of("id", "name", "feeling", "score", "nickname"), names(versions.get(1)));
        // DROP COLUMN: dropped columns are not sent, so tuple positions shift.
        assertEquals(List.of("id", "name", "feeling", "nickname"), names(versions.get(2)));
        // Generated columns are not sent either.
        assertEquals(List.of("id", "name", "feeling", "nickname"), names(versions.get(3)));

        TupleData dee = ((Insert) messages.get(20)).newTuple();
        assertEquals(TupleData.builder().addText("4").addText("dee").addNull().addText("none").build(), dee);
    }

    @Test
    void relationCacheFollowsTheLatestShape() {
        List<PgOutputMessage> messages = Fixtures.messages("schema_change");
        RelationCache cache = new RelationCache();
        List<Integer> widths = new ArrayList<>();
        for (PgOutputMessage message : messages) {
            cache.observe(message);
            if (message instanceof Insert insert) {
                Relation relation = cache.get(insert.relationOid());
                assertEquals(relation.columnCount(), insert.newTuple().size());
                widths.add(relation.columnCount());
            }
        }
        assertEquals(List.of(4, 5, 4, 4), widths);
        assertEquals(1, cache.size());
        assertEquals("nickname", cache.get(((Insert) messages.get(4)).relationOid()).column(3).name());
    }

    // ---------------------------------------------------------------- all fixtures

    @ParameterizedTest
    @ValueSource(strings = {"dml_types", "identity_toast", "truncate_messages", "origin", "schema_change"})
    void transactionsAreWellFormed(String fixture) {
        List<PgOutputMessage> messages = Fixtures.messages(fixture);
        Begin open = null;
        Lsn previousCommitLsn = Lsn.ZERO;
        long previousXid = -1;
        for (PgOutputMessage message : messages) {
            if (message instanceof Begin begin) {
                assertNull(open, "Begin inside a transaction");
                assertTrue(begin.finalLsn().isAfter(previousCommitLsn), "commit LSNs increase");
                assertTrue(begin.xid() > previousXid, "xids increase in this workload");
                open = begin;
            } else if (message instanceof Commit commit) {
                assertTrue(open != null, "Commit outside a transaction");
                assertEquals(open.finalLsn(), commit.commitLsn(), "Begin's final LSN is the commit LSN");
                assertEquals(open.commitTimeMicros(), commit.commitTimeMicros());
                assertTrue(commit.endLsn().isAfter(commit.commitLsn()), "end LSN is past the commit record");
                assertEquals(0, commit.flags());
                previousCommitLsn = commit.commitLsn();
                previousXid = open.xid();
                open = null;
            } else if (message instanceof LogicalMessage logical) {
                assertEquals(logical.transactional(), open != null, "transactional messages are inside transactions");
            } else {
                assertTrue(open != null, message + " outside a transaction");
            }
        }
        assertNull(open, "stream ends inside a transaction");
    }

    @ParameterizedTest
    @ValueSource(strings = {"dml_types", "identity_toast", "truncate_messages", "origin", "schema_change"})
    void everyChangeFollowsARelationOfItsWidth(String fixture) {
        RelationCache cache = new RelationCache();
        for (PgOutputMessage message : Fixtures.messages(fixture)) {
            cache.observe(message);
            if (message instanceof Insert insert) {
                assertEquals(cache.get(insert.relationOid()).columnCount(), insert.newTuple().size());
            } else if (message instanceof Update update) {
                int width = cache.get(update.relationOid()).columnCount();
                assertEquals(width, update.newTuple().size());
                if (update.hasOldTuple()) {
                    assertEquals(width, update.oldTuple().size());
                }
            } else if (message instanceof Delete delete) {
                assertEquals(cache.get(delete.relationOid()).columnCount(), delete.oldTuple().size());
            } else if (message instanceof Truncate truncate) {
                truncate.relationOids().forEach(cache::get);
            }
        }
    }

    // ---------------------------------------------------------------- buffers

    @Test
    void decodesBetweenPositionAndLimitOfALargerBufferInAnyByteOrder() {
        byte[] payload = Fixtures.payloads("dml_types").get(2);
        byte[] framed = new byte[payload.length + 20];
        Arrays.fill(framed, (byte) 'Z');
        System.arraycopy(payload, 0, framed, 7, payload.length);
        ByteBuffer buffer = ByteBuffer.wrap(framed, 7, payload.length).order(ByteOrder.LITTLE_ENDIAN);

        PgOutputMessage message = decoder.decode(buffer);

        assertEquals(decoder.decode(payload), message);
        assertEquals(7 + payload.length, buffer.position(), "position moves to the limit");
        // The decoded values do not share the caller's array.
        Arrays.fill(framed, (byte) 0);
        assertEquals("héllo wörld ✓", ((Insert) message).newTuple().text(1));
    }

    @Test
    void decodesReadOnlyAndDirectBuffers() {
        byte[] payload = Fixtures.payloads("dml_types").get(1);
        ByteBuffer direct = ByteBuffer.allocateDirect(payload.length).put(payload).flip();
        assertEquals(decoder.decode(payload), decoder.decode(direct));
        assertEquals(decoder.decode(payload), decoder.decode(ByteBuffer.wrap(payload).asReadOnlyBuffer()));
    }

    // ---------------------------------------------------------------- malformed input

    @Test
    void everyProperPrefixOfEveryMessageIsReportedAsTruncated() {
        int checked = 0;
        for (String fixture : FIXTURES) {
            for (byte[] payload : Fixtures.payloads(fixture)) {
                // Every cut, except in the middle of the 100 kB value, which is sampled to keep the test fast.
                int length = payload.length;
                for (int cut = 1; cut < length; cut += length > 4096 && cut > 64 && cut < length - 997 ? 997 : 1) {
                    byte[] prefix = Arrays.copyOf(payload, cut);
                    PgOutputFormatException e = assertThrows(PgOutputFormatException.class,
                            () -> decoder.decode(prefix), fixture + " cut at " + cut(cut, payload));
                    assertTrue(e.getMessage().startsWith("truncated "), e.getMessage());
                    checked++;
                }
            }
        }
        assertTrue(checked > 2000, "checked " + checked);
    }

    private static String cut(int cut, byte[] payload) {
        return cut + " of " + payload.length + " bytes of a '" + (char) payload[0] + "' message";
    }

    @Test
    void truncatedMessageNamesTheMissingField() {
        byte[] begin = Arrays.copyOf(Fixtures.payloads("dml_types").get(0), 10);
        PgOutputFormatException e = assertThrows(PgOutputFormatException.class, () -> decoder.decode(begin));
        assertEquals("truncated Begin message: needed 8 byte(s) for commit timestamp at offset 9 but only 1 remain"
                + " (length 10)", e.getMessage());

        byte[] relation = Fixtures.payloads("dml_types").get(1);
        byte[] cutInName = Arrays.copyOf(relation, 8); // 'R', oid, then "ap" of "app"
        e = assertThrows(PgOutputFormatException.class, () -> decoder.decode(cutInName));
        assertEquals("truncated Relation message: namespace at offset 5 has no terminating NUL byte before the end"
                + " of the message (length 8)", e.getMessage());
    }

    @Test
    void emptyBufferIsRejected() {
        PgOutputFormatException e = assertThrows(PgOutputFormatException.class, () -> decoder.decode(new byte[0]));
        assertTrue(e.getMessage().contains("empty"), e.getMessage());
    }

    @Test
    void unknownMessageTypeIsRejected() {
        PgOutputFormatException e = assertThrows(PgOutputFormatException.class,
                () -> decoder.decode(new byte[] {'Z', 0, 0, 0, 1}));
        assertEquals("unknown pgoutput message type 'Z' (0x5a)", e.getMessage());

        e = assertThrows(PgOutputFormatException.class, () -> decoder.decode(new byte[] {(byte) 0xC3}));
        assertEquals("unknown pgoutput message type 0xc3", e.getMessage());
    }

    @Test
    void messagesOfOptionsNotEnabledAreNamed() {
        PgOutputFormatException e = assertThrows(PgOutputFormatException.class,
                () -> decoder.decode(new byte[] {'P', 0, 0, 2, (byte) 0xD7, 1}));
        assertTrue(e.getMessage().startsWith("unsupported pgoutput message type 'P' (Prepare)"), e.getMessage());
    }

    // ------------------------------------------------------------------ protocol version 2, streaming

    /** The fixture's messages, each decoded inside or outside a segment as Stream Start and Stop say. */
    private List<PgOutputMessage> streamed() {
        List<PgOutputMessage> messages = new ArrayList<>();
        boolean inSegment = false;
        for (byte[] payload : Fixtures.payloads("streamed")) {
            PgOutputMessage m = decoder.decode(payload, inSegment);
            inSegment = m instanceof StreamStart || inSegment && !(m instanceof StreamStop);
            messages.add(m);
        }
        return messages;
    }

    @Test
    void aStreamedTransactionComesInSegmentsWithItsSubtransactionsAndEndsInACommitOrAnAbort() {
        List<PgOutputMessage> messages = streamed();
        List<String> frame = new ArrayList<>();
        for (PgOutputMessage m : messages) {
            if (!(m instanceof Streamed)) {
                frame.add(m.getClass().getSimpleName());
            }
        }
        assertEquals(List.of("StreamStart", "StreamStop", "StreamStart", "StreamStop", "StreamStart", "StreamStop",
                "StreamAbort", "StreamStart", "StreamStop", "StreamCommit",
                "StreamStart", "StreamStop", "StreamStart", "StreamStop", "StreamAbort"), frame);

        StreamStart first = (StreamStart) messages.get(0);
        assertTrue(first.firstSegment());
        long top = first.xid();
        StreamAbort subAbort = messages.stream().filter(StreamAbort.class::isInstance).map(StreamAbort.class::cast)
                .findFirst().orElseThrow();
        assertEquals(top, subAbort.xid());
        assertTrue(subAbort.subXid() != top && !subAbort.wholeTransaction(), subAbort.toString());
        StreamCommit commit = messages.stream().filter(StreamCommit.class::isInstance).map(StreamCommit.class::cast)
                .findFirst().orElseThrow();
        assertEquals(top, commit.xid());
        assertEquals(0, commit.flags());
        assertTrue(commit.endLsn().isAfter(commit.commitLsn()));
        StreamAbort last = (StreamAbort) messages.get(messages.size() - 1);
        assertTrue(last.wholeTransaction() && last.xid() != top, last.toString());

        // What each (sub)transaction streamed: 400 rows of the top level, the rolled-back
        // subtransaction's rows up to its abort, then a message and an update in a later subtransaction.
        Map<Long, Integer> inserts = new TreeMap<>();
        for (PgOutputMessage m : messages) {
            if (m instanceof Streamed s && s.message() instanceof Insert) {
                inserts.merge(s.xid(), 1, Integer::sum);
            }
        }
        assertEquals(400, inserts.get(top));
        assertEquals(581, inserts.get(subAbort.subXid()));
        Streamed message = messages.stream().filter(m -> m instanceof Streamed s && s.message() instanceof LogicalMessage)
                .map(Streamed.class::cast).findFirst().orElseThrow();
        assertEquals(top, message.xid());
        assertEquals("in a stream", ((LogicalMessage) message.message()).contentAsString());
        Streamed update = messages.stream().filter(m -> m instanceof Streamed s && s.message() instanceof Update)
                .map(Streamed.class::cast).findFirst().orElseThrow();
        assertTrue(update.xid() != top && update.xid() != subAbort.subXid(), "the update's subtransaction");
        assertEquals("last", ((Update) update.message()).newTuple().textOrNull(1));
    }

    @Test
    void aMessageOfASegmentReadAsIfOutsideOneIsAnError() {
        byte[] relation = Fixtures.payloads("streamed").get(1);
        assertThrows(PgOutputFormatException.class, () -> decoder.decode(relation, false));
    }

    @Test
    void trailingBytesAreRejected() {
        byte[] commit = Fixtures.payloads("dml_types").get(3);
        byte[] longer = Arrays.copyOf(commit, commit.length + 1);
        PgOutputFormatException e = assertThrows(PgOutputFormatException.class, () -> decoder.decode(longer));
        assertTrue(e.getMessage().startsWith("Commit message has 1 unexpected trailing byte(s) after offset 26"),
                e.getMessage());
    }

    @Test
    void unknownTupleValueKindIsRejected() {
        byte[] insert = Fixtures.payloads("dml_types").get(2).clone();
        // 'I', oid (4), 'N', column count (2), then the first column's kind at offset 8.
        assertEquals('t', insert[8]);
        insert[8] = 'x';
        PgOutputFormatException e = assertThrows(PgOutputFormatException.class, () -> decoder.decode(insert));
        assertEquals("Insert message has unknown value kind 'x' (0x78) for new tuple column 0 at offset 8"
                + " (expected 'n', 'u', 't' or 'b')", e.getMessage());
    }

    @Test
    void wrongTupleMarkersAreRejected() {
        byte[] insert = Fixtures.payloads("dml_types").get(2).clone();
        insert[5] = 'K';
        PgOutputFormatException e = assertThrows(PgOutputFormatException.class, () -> decoder.decode(insert));
        assertEquals("Insert message has tuple marker 'K' (0x4b) at offset 5 where 'N' was expected", e.getMessage());

        byte[] update = Fixtures.payloads("dml_types").get(8).clone();
        assertEquals('N', update[5]);
        update[5] = 'X';
        e = assertThrows(PgOutputFormatException.class, () -> decoder.decode(update));
        assertEquals("Update message has tuple marker 'X' (0x58) at offset 5 where 'K', 'O' or 'N' was expected",
                e.getMessage());

        byte[] delete = Fixtures.payloads("dml_types").get(14).clone();
        delete[5] = 'N';
        e = assertThrows(PgOutputFormatException.class, () -> decoder.decode(delete));
        assertEquals("Delete message has tuple marker 'N' (0x4e) at offset 5 where 'K' or 'O' was expected",
                e.getMessage());
    }

    @Test
    void negativeAndOversizedLengthsAreRejected() {
        // Insert into oid 1 of one text column of length -1.
        byte[] negative = {'I', 0, 0, 0, 1, 'N', 0, 1, 't', (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff};
        PgOutputFormatException e = assertThrows(PgOutputFormatException.class, () -> decoder.decode(negative));
        assertEquals("Insert message has negative length -1 for new tuple column 0 at offset 9", e.getMessage());

        // A Truncate claiming a billion relations must fail before allocating for them.
        byte[] huge = {'T', 0x40, 0, 0, 0, 0, 0, 0, 0, 1};
        e = assertThrows(PgOutputFormatException.class, () -> decoder.decode(huge));
        assertTrue(e.getMessage().startsWith("truncated Truncate message: needed 4294967296 byte(s) for relation oids"),
                e.getMessage());
    }

    @Test
    void decodingTheSameBytesTwiceGivesEqualMessages() {
        for (String fixture : FIXTURES) {
            List<byte[]> payloads = Fixtures.payloads(fixture);
            for (byte[] payload : payloads) {
                PgOutputMessage first = decoder.decode(payload);
                PgOutputMessage second = decoder.decode(payload.clone());
                assertEquals(first, second);
                assertEquals(first.hashCode(), second.hashCode());
                assertNotEquals(null, first.toString());
            }
        }
    }

    // ---------------------------------------------------------------- helpers

    /**
     * One letter per message, as on the wire ('Y' for TypeInfo, 'M' for LogicalMessage), with a
     * space before each Begin and before each message outside a transaction, to make the
     * transaction structure readable.
     */
    private static String shape(List<PgOutputMessage> messages) {
        StringBuilder out = new StringBuilder();
        boolean inTransaction = false;
        for (PgOutputMessage message : messages) {
            char code = code(message);
            if (!inTransaction && out.length() > 0) {
                out.append(' ');
            }
            out.append(code);
            if (code == 'B') {
                inTransaction = true;
            } else if (code == 'C') {
                inTransaction = false;
            }
        }
        return out.toString();
    }

    private static char code(PgOutputMessage message) {
        if (message instanceof Begin) {
            return 'B';
        } else if (message instanceof Commit) {
            return 'C';
        } else if (message instanceof Origin) {
            return 'O';
        } else if (message instanceof Relation) {
            return 'R';
        } else if (message instanceof TypeInfo) {
            return 'Y';
        } else if (message instanceof Insert) {
            return 'I';
        } else if (message instanceof Update) {
            return 'U';
        } else if (message instanceof Delete) {
            return 'D';
        } else if (message instanceof Truncate) {
            return 'T';
        } else if (message instanceof LogicalMessage) {
            return 'M';
        }
        return fail("unexpected message " + message);
    }

    private static List<String> names(Relation relation) {
        return relation.columns().stream().map(RelationColumn::name).toList();
    }
}
