package io.pgactive.pgoutput;

import io.pgactive.pg.Lsn;

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
import java.util.ArrayList;
import java.util.List;

/**
 * Decodes pgoutput messages of protocol version 1 ({@code proto_version '1'}, with {@code messages
 * 'true'} for logical messages), and of version 2 with {@code streaming 'on'} (no binary or
 * two-phase options).
 *
 * <p>Each call reads exactly one message: the payload of one XLogData, as pgjdbc's
 * {@code PGReplicationStream.read()} returns it. The decoder keeps no state, so one instance may be
 * shared; relation shapes are tracked separately by {@link RelationCache}, and whether a message
 * is inside a stream segment (between {@code StreamStart} and {@code StreamStop}, where messages
 * carry their transaction's id) by the caller.
 *
 * <p>Names and text values are decoded as UTF-8: the walsender converts them to the connection's
 * {@code client_encoding}, which pgjdbc always sets to UTF8.
 */
public final class PgOutputDecoder {

    /**
     * Decodes the message between {@code buffer}'s position and limit, and on success moves the
     * position to the limit. The buffer's byte order is ignored: the protocol is big-endian.
     *
     * @throws PgOutputFormatException if the bytes are not exactly one well-formed version 1 message
     */
    public PgOutputMessage decode(ByteBuffer buffer) {
        return decode(buffer, false);
    }

    /**
     * The same for a message that may be inside a stream segment ({@code inSegment}): there, the
     * messages that carry a transaction id come as {@link Streamed}.
     */
    public PgOutputMessage decode(ByteBuffer buffer, boolean inSegment) {
        Reader in = new Reader(buffer.slice().order(ByteOrder.BIG_ENDIAN), inSegment);
        PgOutputMessage message = in.message();
        buffer.position(buffer.limit());
        return message;
    }

    /** Decodes a whole array as one message. */
    public PgOutputMessage decode(byte[] payload) {
        return decode(ByteBuffer.wrap(payload));
    }

    /** Decodes a whole array as one message, inside a stream segment or not. */
    public PgOutputMessage decode(byte[] payload, boolean inSegment) {
        return decode(ByteBuffer.wrap(payload), inSegment);
    }

    /**
     * Reads one message with absolute gets; {@code pos} is relative to the message start, which is
     * what error messages report.
     */
    private static final class Reader {

        private final ByteBuffer buf;
        private final int limit;
        private final boolean inSegment;
        private int pos;
        /** Name of the message being read, for error messages. */
        private String messageName = "pgoutput";

        Reader(ByteBuffer buf, boolean inSegment) {
            this.buf = buf;
            this.limit = buf.limit();
            this.inSegment = inSegment;
        }

        PgOutputMessage message() {
            if (limit == 0) {
                throw new PgOutputFormatException("empty pgoutput message: no type byte");
            }
            char type = (char) (buf.get(pos++) & 0xFF);
            // Inside a segment, these carry their (sub)transaction's id first (protocol version 2).
            long xid = inSegment && "RYIUDTM".indexOf(type) >= 0 ? Integer.toUnsignedLong(int32("xid")) : -1;
            PgOutputMessage message = switch (type) {
                case 'B' -> begin();
                case 'C' -> commit();
                case 'O' -> origin();
                case 'R' -> relation();
                case 'Y' -> typeInfo();
                case 'I' -> insert();
                case 'U' -> update();
                case 'D' -> delete();
                case 'T' -> truncate();
                case 'M' -> logicalMessage();
                case 'S' -> streamStart();
                case 'E' -> streamStop();
                case 'c' -> streamCommit();
                case 'A' -> streamAbort();
                default -> throw unsupportedType(type);
            };
            if (pos != limit) {
                throw new PgOutputFormatException(messageName + " message has " + (limit - pos)
                        + " unexpected trailing byte(s) after offset " + pos + " (total length " + limit
                        + "); is the stream using another protocol version, or is it "
                        + (inSegment ? "not " : "") + "inside a stream segment?");
            }
            return xid >= 0 ? new Streamed(xid, message) : message;
        }

        private StreamStart streamStart() {
            messageName = "Stream Start";
            long xid = Integer.toUnsignedLong(int32("xid"));
            byte first = int8("first segment flag");
            return new StreamStart(xid, first == 1);
        }

        private StreamStop streamStop() {
            messageName = "Stream Stop";
            return new StreamStop();
        }

        private StreamCommit streamCommit() {
            messageName = "Stream Commit";
            long xid = Integer.toUnsignedLong(int32("xid"));
            byte flags = int8("flags");
            Lsn commitLsn = new Lsn(int64("commit LSN"));
            Lsn endLsn = new Lsn(int64("end LSN"));
            long commitTime = int64("commit timestamp");
            return new StreamCommit(xid, flags, commitLsn, endLsn, commitTime);
        }

        private StreamAbort streamAbort() {
            messageName = "Stream Abort";
            long xid = Integer.toUnsignedLong(int32("xid"));
            long subXid = Integer.toUnsignedLong(int32("subtransaction xid"));
            return new StreamAbort(xid, subXid);
        }

        private Begin begin() {
            messageName = "Begin";
            Lsn finalLsn = new Lsn(int64("final LSN"));
            long commitTime = int64("commit timestamp");
            long xid = Integer.toUnsignedLong(int32("xid"));
            return new Begin(finalLsn, commitTime, xid);
        }

        private Commit commit() {
            messageName = "Commit";
            byte flags = int8("flags");
            Lsn commitLsn = new Lsn(int64("commit LSN"));
            Lsn endLsn = new Lsn(int64("end LSN"));
            long commitTime = int64("commit timestamp");
            return new Commit(flags, commitLsn, endLsn, commitTime);
        }

        private Origin origin() {
            messageName = "Origin";
            Lsn commitLsn = new Lsn(int64("origin commit LSN"));
            return new Origin(commitLsn, string("origin name"));
        }

        private Relation relation() {
            messageName = "Relation";
            int oid = int32("relation oid");
            String namespace = string("namespace");
            String name = string("relation name");
            char replicaIdentity = (char) (int8("replica identity") & 0xFF);
            int count = uint16("column count");
            List<RelationColumn> columns = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                byte flags = int8("flags of column " + i);
                String columnName = string("name of column " + i);
                int typeOid = int32("type oid of column " + i);
                int typeModifier = int32("type modifier of column " + i);
                // Bit 0 is the only flag defined; other bits are ignored as the server's own reader does.
                columns.add(new RelationColumn((flags & 1) != 0, columnName, typeOid, typeModifier));
            }
            return new Relation(oid, namespace, name, replicaIdentity, columns);
        }

        private TypeInfo typeInfo() {
            messageName = "Type";
            int oid = int32("type oid");
            String namespace = string("type namespace");
            return new TypeInfo(oid, namespace, string("type name"));
        }

        private Insert insert() {
            messageName = "Insert";
            int oid = int32("relation oid");
            expectMarker('N', "new tuple marker");
            return new Insert(oid, tuple("new tuple"));
        }

        private Update update() {
            messageName = "Update";
            int oid = int32("relation oid");
            char marker = marker("tuple marker");
            char oldKind = PgOutputMessage.NO_OLD_TUPLE;
            TupleData oldTuple = null;
            if (marker == PgOutputMessage.OLD_KEY || marker == PgOutputMessage.OLD_TUPLE) {
                oldKind = marker;
                oldTuple = tuple(marker == PgOutputMessage.OLD_KEY ? "old key" : "old tuple");
                marker = marker("new tuple marker");
            }
            if (marker != 'N') {
                throw badMarker(marker, oldTuple == null ? "'K', 'O' or 'N'" : "'N'");
            }
            return new Update(oid, oldKind, oldTuple, tuple("new tuple"));
        }

        private Delete delete() {
            messageName = "Delete";
            int oid = int32("relation oid");
            char marker = marker("old tuple marker");
            if (marker != PgOutputMessage.OLD_KEY && marker != PgOutputMessage.OLD_TUPLE) {
                throw badMarker(marker, "'K' or 'O'");
            }
            return new Delete(oid, marker, tuple(marker == PgOutputMessage.OLD_KEY ? "old key" : "old tuple"));
        }

        private Truncate truncate() {
            messageName = "Truncate";
            int count = int32("relation count");
            byte options = int8("options");
            // Checked before allocating so that a corrupt count cannot ask for gigabytes.
            if (count < 0 || (long) count * 4 > limit - pos) {
                throw truncated(count < 0 ? 0 : (long) count * 4, "relation oids (count " + Integer.toUnsignedString(count) + ")");
            }
            List<Integer> oids = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                oids.add(int32("relation oid " + i));
            }
            return new Truncate((options & 1) != 0, (options & 2) != 0, oids);
        }

        private LogicalMessage logicalMessage() {
            messageName = "Message";
            byte flags = int8("flags");
            Lsn lsn = new Lsn(int64("message LSN"));
            String prefix = string("prefix");
            int length = int32("content length");
            if (length < 0) {
                throw new PgOutputFormatException("Message message has negative content length " + length);
            }
            need(length, "content");
            byte[] content = new byte[length];
            buf.get(pos, content);
            pos += length;
            return new LogicalMessage((flags & 1) != 0, lsn, prefix, content);
        }

        /** Reads TupleData, copying its whole region once; see {@link TupleData}. */
        private TupleData tuple(String what) {
            int count = uint16(what + " column count");
            int start = pos;
            byte[] kinds = new byte[count];
            int[] offsets = new int[count];
            int[] lengths = new int[count];
            for (int i = 0; i < count; i++) {
                needForColumn(1, "kind", what, i);
                byte kind = buf.get(pos++);
                kinds[i] = kind;
                switch (kind) {
                    case 'n', 'u' -> {
                        // No value follows; offset and length stay 0.
                    }
                    case 't', 'b' -> {
                        needForColumn(4, "length", what, i);
                        int length = buf.getInt(pos);
                        pos += 4;
                        if (length < 0) {
                            throw new PgOutputFormatException(messageName + " message has negative length "
                                    + length + " for " + what + " column " + i + " at offset " + (pos - 4));
                        }
                        needForColumn(length, "value", what, i);
                        offsets[i] = pos - start;
                        lengths[i] = length;
                        pos += length;
                    }
                    default -> throw new PgOutputFormatException(messageName + " message has unknown value kind "
                            + describeByte(kind) + " for " + what + " column " + i + " at offset " + (pos - 1)
                            + " (expected 'n', 'u', 't' or 'b')");
                }
            }
            byte[] data = new byte[pos - start];
            buf.get(start, data);
            return new TupleData(kinds, data, offsets, lengths);
        }

        private void expectMarker(char expected, String what) {
            char marker = marker(what);
            if (marker != expected) {
                throw badMarker(marker, "'" + expected + "'");
            }
        }

        private char marker(String what) {
            return (char) (int8(what) & 0xFF);
        }

        private PgOutputFormatException badMarker(char marker, String expected) {
            return new PgOutputFormatException(messageName + " message has tuple marker " + describeByte((byte) marker)
                    + " at offset " + (pos - 1) + " where " + expected + " was expected");
        }

        private byte int8(String what) {
            need(1, what);
            return buf.get(pos++);
        }

        private int uint16(String what) {
            need(2, what);
            int value = buf.getShort(pos) & 0xFFFF;
            pos += 2;
            return value;
        }

        private int int32(String what) {
            need(4, what);
            int value = buf.getInt(pos);
            pos += 4;
            return value;
        }

        private long int64(String what) {
            need(8, what);
            long value = buf.getLong(pos);
            pos += 8;
            return value;
        }

        /** A NUL-terminated string. */
        private String string(String what) {
            for (int end = pos; end < limit; end++) {
                if (buf.get(end) == 0) {
                    byte[] bytes = new byte[end - pos];
                    buf.get(pos, bytes);
                    pos = end + 1;
                    return new String(bytes, StandardCharsets.UTF_8);
                }
            }
            throw new PgOutputFormatException("truncated " + messageName + " message: " + what + " at offset " + pos
                    + " has no terminating NUL byte before the end of the message (length " + limit + ")");
        }

        private void need(long count, String what) {
            if (limit - pos < count) {
                throw truncated(count, what);
            }
        }

        /** {@link #need} for one column of a tuple, which runs for every value: the label is built only on failure. */
        private void needForColumn(long count, String part, String what, int column) {
            if (limit - pos < count) {
                throw truncated(count, part + " of " + what + " column " + column);
            }
        }

        private PgOutputFormatException truncated(long count, String what) {
            return new PgOutputFormatException("truncated " + messageName + " message: needed " + count
                    + " byte(s) for " + what + " at offset " + pos + " but only " + (limit - pos)
                    + " remain (length " + limit + ")");
        }

        private static PgOutputFormatException unsupportedType(char type) {
            String known = switch (type) {
                case 'p' -> "Stream Prepare";
                case 'b' -> "Begin Prepare";
                case 'P' -> "Prepare";
                case 'K' -> "Commit Prepared";
                case 'r' -> "Rollback Prepared";
                default -> null;
            };
            if (known != null) {
                return new PgOutputFormatException("unsupported pgoutput message type '" + type + "' (" + known
                        + "), which needs two-phase options this decoder does not enable");
            }
            return new PgOutputFormatException("unknown pgoutput message type " + describeByte((byte) type));
        }

        private static String describeByte(byte b) {
            int unsigned = b & 0xFF;
            String hex = String.format("0x%02x", unsigned);
            return unsigned >= 0x20 && unsigned < 0x7F ? "'" + (char) unsigned + "' (" + hex + ")" : hex;
        }
    }
}
