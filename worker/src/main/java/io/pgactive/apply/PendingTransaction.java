package io.pgactive.apply;

import io.pgactive.conflict.PriorVersion;
import io.pgactive.conflict.RemoteTransaction;
import io.pgactive.pg.Lsn;
import io.pgactive.pgoutput.PgOutputMessage.Relation;
import io.pgactive.pgoutput.PgOutputMessage;
import io.pgactive.pgoutput.TupleData;
import java.util.ArrayList;
import java.util.List;

/**
 * A small remote transaction held until its commit, each change with the table definition it
 * was decoded against (a later Relation message must not change how an earlier change reads).
 */
final class PendingTransaction {

    /** More changes than this and the transaction is applied as it streams, not held. */
    static final int MAX_CHANGES = 100;
    /**
     * More bytes of values than this, likewise: a held transaction's values are copied into a
     * procedure call's text array, and large values (megabytes each, out-of-line columns) are
     * better bound to the careful path's statements one by one.
     */
    static final long MAX_BYTES = 256 * 1024;

    /**
     * @param replaced the version of the row this change replaced, as its author named it (see
     *                 {@link PriorVersion}), or null
     */
    record Change(Relation relation, PgOutputMessage message, PriorVersion replaced) {
    }

    private final String origin;
    private final RemoteTransaction remote;
    private final List<Change> changes = new ArrayList<>();
    private final RowMessages<PriorVersion> replaced = new RowMessages<>();
    private long bytes;
    private Lsn originLsn;
    private long commitTimeMicros;

    PendingTransaction(String origin, RemoteTransaction remote) {
        this.origin = origin;
        this.remote = remote;
    }

    /** Holds the change; false when the transaction has grown too big to hold (the change is not taken). */
    boolean add(Relation relation, PgOutputMessage change) {
        long size = bytes + bytesOf(change);
        if (changes.size() >= MAX_CHANGES || size > MAX_BYTES) {
            return false;
        }
        PriorVersion prior = null;
        if (change instanceof PgOutputMessage.Update u) {
            prior = replaced.take(relation, u.hasOldTuple() ? u.oldTuple() : u.newTuple()).orElse(null);
        } else if (change instanceof PgOutputMessage.Delete d) {
            prior = replaced.take(relation, d.oldTuple()).orElse(null);
        }
        changes.add(new Change(relation, change, prior));
        bytes = size;
        return true;
    }

    /** The author names the version its next change to a row replaced; see {@link RowMessages}. */
    void replaced(PriorVersion version) {
        replaced.add(version);
    }

    /** The versions named for changes not held (yet), for the careful path to take over. */
    List<PriorVersion> unmatchedVersions() {
        return replaced.takeAll();
    }

    private static long bytesOf(PgOutputMessage change) {
        if (change instanceof PgOutputMessage.Insert i) {
            return bytesOf(i.newTuple());
        } else if (change instanceof PgOutputMessage.Update u) {
            return bytesOf(u.newTuple()) + (u.hasOldTuple() ? bytesOf(u.oldTuple()) : 0);
        } else if (change instanceof PgOutputMessage.Delete d) {
            return bytesOf(d.oldTuple());
        }
        return 0;
    }

    private static long bytesOf(TupleData tuple) {
        long sum = 0;
        for (int i = 0; i < tuple.size(); i++) {
            sum += tuple.byteLength(i);
        }
        return sum;
    }

    void committed(Lsn lsn, long timeMicros) {
        this.originLsn = lsn;
        this.commitTimeMicros = timeMicros;
    }

    String origin() {
        return origin;
    }

    RemoteTransaction remote() {
        return remote;
    }

    List<Change> changes() {
        return changes;
    }

    Lsn originLsn() {
        return originLsn;
    }

    long commitTimeMicros() {
        return commitTimeMicros;
    }
}
