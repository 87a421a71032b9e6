package io.pgactive.link;

import io.pgactive.pg.Lsn;
import java.util.Optional;

/**
 * What a link may confirm to its upstream, as PostgreSQL's apply worker decides it: the end of
 * the last transaction processed (applied or skipped), and between transactions everything
 * received, including what the upstream decoded and had nothing to send for (other nodes'
 * changes, its checkpoints): confirming that too lets the upstream move its slot's restart point
 * past transactions already applied, so a reconnect does not decode them again. Inside a
 * transaction nothing is confirmed. A session starts from its origin's progress: nothing an
 * earlier session processed counts, since it may never have committed.
 *
 * <p>Positions are unsigned. Used by the link's own thread only.
 */
final class FeedbackTracker {

    private Lsn processedEnd;
    private Lsn confirmed;
    private boolean inTransaction;

    FeedbackTracker(Lsn start) {
        this.processedEnd = start;
        this.confirmed = start;
    }

    void begin() {
        inTransaction = true;
    }

    /** A transaction ending at {@code endLsn} was processed (applied, or skipped). */
    void processed(Lsn endLsn) {
        inTransaction = false;
        advanceTo(endLsn);
    }

    /** Everything up to {@code receivedLsn} has arrived and nothing of it is in progress here. */
    void idle(Lsn receivedLsn) {
        if (!inTransaction) {
            advanceTo(receivedLsn);
        }
    }

    boolean inTransaction() {
        return inTransaction;
    }

    /** What to confirm now, if there is anything new and no transaction is in progress. */
    Optional<Lsn> toConfirm() {
        return inTransaction || processedEnd.equals(confirmed) ? Optional.empty() : Optional.of(processedEnd);
    }

    void confirmed(Lsn lsn) {
        confirmed = lsn;
    }

    private void advanceTo(Lsn lsn) {
        processedEnd = processedEnd.max(lsn);
    }
}
