package io.pgactive.pgoutput;

import io.pgactive.pg.Lsn;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * One message of the pgoutput logical replication protocol, version 1, or version 2 with
 * streaming of in-progress transactions, as decoded by {@link PgOutputDecoder}.
 *
 * <p>LSNs are unsigned 64-bit values carried in a {@code long} (see {@link Lsn}); timestamps are
 * microseconds since 2000-01-01 00:00 UTC (see {@link PgTimestamps}); oids are unsigned 32-bit values
 * carried in an {@code int}, compared only for equality, so the sign never matters.
 */
public sealed interface PgOutputMessage {

    /** Update and Delete marker: the old tuple carries only the replica identity key columns. */
    char OLD_KEY = 'K';
    /** Update and Delete marker: the old tuple is the whole row (REPLICA IDENTITY FULL). */
    char OLD_TUPLE = 'O';
    /** {@link Update#oldKind()} when the update sent no old tuple (the key did not change). */
    char NO_OLD_TUPLE = 0;

    /**
     * 'B': a transaction starts. pgoutput sends it only once the transaction has something to send,
     * so empty transactions never reach us.
     *
     * @param finalLsn         the LSN of the commit record, equal to {@link Commit#commitLsn()}
     * @param commitTimeMicros the commit timestamp, or the origin's commit timestamp when the
     *                         transaction was replayed under a replication origin
     * @param xid              the upstream transaction id, unsigned 32-bit
     */
    record Begin(Lsn finalLsn, long commitTimeMicros, long xid) implements PgOutputMessage {
    }

    /**
     * 'C': the transaction begun by the last {@link Begin} committed.
     *
     * @param flags    unused by protocol version 1 (always 0), kept to notice if that changes
     * @param endLsn   the LSN just past the commit record: the position to confirm once applied
     */
    record Commit(byte flags, Lsn commitLsn, Lsn endLsn, long commitTimeMicros) implements PgOutputMessage {
    }

    /**
     * 'O': the current transaction was written by a session that had a replication origin set up;
     * this is how loops are broken in active-active replication.
     *
     * @param commitLsn the LSN the origin session declared with {@code pg_replication_origin_xact_setup},
     *                  {@link Lsn#ZERO} when it declared none
     * @param name      the replication origin's name ({@code pg_replication_origin.roname})
     */
    record Origin(Lsn commitLsn, String name) implements PgOutputMessage {
        public Origin {
            Objects.requireNonNull(name, "name");
        }
    }

    /**
     * 'R': the shape of a relation. Sent before the first change of the relation in a walsender
     * session and again whenever the relation's definition changed since.
     *
     * @param namespace       schema name; pgoutput sends the empty string for {@code pg_catalog}
     * @param replicaIdentity {@code pg_class.relreplident}: 'd' default, 'n' nothing, 'f' full, 'i' index
     * @param columns         live, non-generated columns in tuple order
     */
    record Relation(int relationOid, String namespace, String name, char replicaIdentity,
                    List<RelationColumn> columns) implements PgOutputMessage {

        public static final char REPLICA_IDENTITY_DEFAULT = 'd';
        public static final char REPLICA_IDENTITY_NOTHING = 'n';
        public static final char REPLICA_IDENTITY_FULL = 'f';
        public static final char REPLICA_IDENTITY_INDEX = 'i';

        public Relation {
            Objects.requireNonNull(namespace, "namespace");
            Objects.requireNonNull(name, "name");
            columns = List.copyOf(columns);
        }

        public int columnCount() {
            return columns.size();
        }

        public RelationColumn column(int index) {
            return columns.get(index);
        }

        /** The index of the named column in this relation's tuples, or -1. */
        public int indexOf(String columnName) {
            for (int i = 0; i < columns.size(); i++) {
                if (columns.get(i).name().equals(columnName)) {
                    return i;
                }
            }
            return -1;
        }
    }

    /**
     * 'Y': names a non-built-in type used by the next Relation. For a domain, {@code typeOid} is the
     * domain's oid while {@code namespace} and {@code name} are those of its base type.
     *
     * @param namespace schema name; the empty string for {@code pg_catalog}
     */
    record TypeInfo(int typeOid, String namespace, String name) implements PgOutputMessage {
        public TypeInfo {
            Objects.requireNonNull(namespace, "namespace");
            Objects.requireNonNull(name, "name");
        }
    }

    /** 'I': a row was inserted. */
    record Insert(int relationOid, TupleData newTuple) implements PgOutputMessage {
        public Insert {
            Objects.requireNonNull(newTuple, "newTuple");
        }
    }

    /**
     * 'U': a row was updated.
     *
     * @param oldKind  {@link #OLD_KEY} when the replica identity key changed, {@link #OLD_TUPLE} under
     *                 REPLICA IDENTITY FULL, {@link #NO_OLD_TUPLE} otherwise (then the key is read
     *                 from {@code newTuple})
     * @param oldTuple null exactly when {@code oldKind} is {@link #NO_OLD_TUPLE}
     */
    record Update(int relationOid, char oldKind, TupleData oldTuple, TupleData newTuple)
            implements PgOutputMessage {
        public Update {
            Objects.requireNonNull(newTuple, "newTuple");
            if (oldKind == NO_OLD_TUPLE ? oldTuple != null : !isOldKind(oldKind) || oldTuple == null) {
                throw new IllegalArgumentException("oldKind " + (int) oldKind + " does not match oldTuple " + oldTuple);
            }
        }

        public boolean hasOldTuple() {
            return oldTuple != null;
        }
    }

    /**
     * 'D': a row was deleted; only the old key (or, under REPLICA IDENTITY FULL, the old row) is sent.
     *
     * @param oldKind {@link #OLD_KEY} or {@link #OLD_TUPLE}
     */
    record Delete(int relationOid, char oldKind, TupleData oldTuple) implements PgOutputMessage {
        public Delete {
            Objects.requireNonNull(oldTuple, "oldTuple");
            if (!isOldKind(oldKind)) {
                throw new IllegalArgumentException("oldKind must be 'K' or 'O', not " + (int) oldKind);
            }
        }
    }

    /**
     * 'T': one TRUNCATE statement, listing every published relation it emptied (including those
     * reached through CASCADE or partitioning).
     */
    record Truncate(boolean cascade, boolean restartIdentity, List<Integer> relationOids)
            implements PgOutputMessage {
        public Truncate {
            relationOids = List.copyOf(relationOids);
        }
    }

    /**
     * 'M': a message from {@code pg_logical_emit_message}. A transactional one arrives between the
     * Begin and Commit of its transaction; a non-transactional one arrives on its own, as soon as it
     * is decoded, even if the transaction that emitted it later aborted.
     *
     * @param lsn the end of the message's WAL record (not its start: decoding passes the record's end
     *            position), so a transactional message followed directly by its commit has the
     *            commit LSN
     */
    record LogicalMessage(boolean transactional, Lsn lsn, String prefix, byte[] content)
            implements PgOutputMessage {

        public LogicalMessage {
            Objects.requireNonNull(prefix, "prefix");
            content = content.clone();
        }

        /** A copy, so that the record stays immutable. */
        @Override
        public byte[] content() {
            return content.clone();
        }

        /** The content read as UTF-8, for messages that carry text. */
        public String contentAsString() {
            return new String(content, StandardCharsets.UTF_8);
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof LogicalMessage that
                    && transactional == that.transactional
                    && lsn.equals(that.lsn)
                    && prefix.equals(that.prefix)
                    && Arrays.equals(content, that.content);
        }

        @Override
        public int hashCode() {
            return Objects.hash(transactional, lsn, prefix) * 31 + Arrays.hashCode(content);
        }

        @Override
        public String toString() {
            return "LogicalMessage[transactional=" + transactional + ", lsn=" + lsn
                    + ", prefix=" + prefix + ", content=" + HexFormat.of().formatHex(content) + "]";
        }
    }

    // ---- protocol version 2: large transactions streamed while in progress

    /**
     * 'S': a segment of the in-progress transaction {@code xid} follows, until {@link StreamStop}.
     * Segments of several transactions may interleave; each change in one comes as {@link Streamed}.
     *
     * @param firstSegment whether it is the transaction's first segment
     */
    record StreamStart(long xid, boolean firstSegment) implements PgOutputMessage {
    }

    /** 'E': the current segment ends. */
    record StreamStop() implements PgOutputMessage {
    }

    /**
     * 'c': the streamed transaction {@code xid} committed; its changes are all in segments before.
     *
     * @param flags unused by protocol version 2 (always 0), kept to notice if that changes
     */
    record StreamCommit(long xid, byte flags, Lsn commitLsn, Lsn endLsn, long commitTimeMicros)
            implements PgOutputMessage {
    }

    /**
     * 'A': the streamed transaction {@code xid} aborted ({@code subXid == xid}), or only its
     * subtransaction {@code subXid} did: that subtransaction's changes are void.
     */
    record StreamAbort(long xid, long subXid) implements PgOutputMessage {

        public boolean wholeTransaction() {
            return xid == subXid;
        }
    }

    /**
     * A message inside a stream segment (Relation, Type, Insert, Update, Delete, Truncate or a
     * transactional logical message), with the (sub)transaction it belongs to, which protocol
     * version 2 puts before the message's own fields.
     *
     * @param xid the top-level transaction's id, or the subtransaction's that made the change
     */
    record Streamed(long xid, PgOutputMessage message) implements PgOutputMessage {
        public Streamed {
            Objects.requireNonNull(message, "message");
        }
    }

    private static boolean isOldKind(char kind) {
        return kind == OLD_KEY || kind == OLD_TUPLE;
    }
}
