package io.pgactive.apply;

import io.pgactive.conflict.RemoteTransaction;
import io.pgactive.decode.PgOutputMessage;
import io.pgactive.decode.PgOutputMessage.Relation;
import java.util.ArrayList;
import java.util.List;

/**
 * A small remote transaction held until its commit, each change with the table definition it
 * was decoded against (a later Relation message must not change how an earlier change reads).
 */
final class PendingTransaction {

    /** More changes than this and the transaction is applied as it streams, not held. */
    static final int MAX_CHANGES = 100;

    record Change(Relation relation, PgOutputMessage message) {
    }

    private final String origin;
    private final RemoteTransaction remote;
    private final List<Change> changes = new ArrayList<>();
    private long originLsn;
    private long commitTimeMicros;

    PendingTransaction(String origin, RemoteTransaction remote) {
        this.origin = origin;
        this.remote = remote;
    }

    /** Holds the change; false when the transaction has grown too big to hold (the change is not taken). */
    boolean add(Relation relation, PgOutputMessage change) {
        if (changes.size() >= MAX_CHANGES) {
            return false;
        }
        changes.add(new Change(relation, change));
        return true;
    }

    void committed(long lsn, long timeMicros) {
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

    long originLsn() {
        return originLsn;
    }

    long commitTimeMicros() {
        return commitTimeMicros;
    }
}
