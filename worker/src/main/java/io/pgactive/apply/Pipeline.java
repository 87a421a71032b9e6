package io.pgactive.apply;

import io.pgactive.pg.Lsn;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Future;

/**
 * Compiled transactions queued for the server and sent many per round trip (see
 * {@link ProcedureRoundTrip}), one round trip in flight at a time. The round trip runs on the
 * apply session's sender thread and returns at once, so that the link decodes and compiles the
 * next transactions while the server applies these.
 *
 * <p>A round trip ends with its first transactions committed, and, when one needed judgement or
 * failed, {@linkplain Settled#stoppedAt() stopped} at that one: the caller applies it the careful
 * way, and the ones after it, which the server skipped, go back to the head of the queue, so that
 * one contested row does not send a whole batch down the slow path. How round trips end paces the
 * next ones ({@link PipelinePacing}). No SQL here: the round trip is given, and a fake one tests
 * this bookkeeping.
 */
final class Pipeline {

    /** How long a transaction may wait for others to share its round trip: batching must not become lag. */
    static final long MAX_WAIT_NANOS = 5_000_000;

    record Queued(TransactionProcedures.Call call, PendingTransaction tx) {
    }

    /** Sends calls to the server; the future tells how many, from the first, committed. */
    interface RoundTrip {
        Future<Integer> start(List<Queued> calls);
    }

    /** How a round trip ended: what committed, in order, and the transaction it stopped at, or null. */
    record Settled(List<Queued> committed, Queued stoppedAt) {
    }

    private final RoundTrip roundTrip;
    private final PipelinePacing pacing = new PipelinePacing();
    private final List<Queued> queue = new ArrayList<>();
    private long firstQueuedAt;
    private List<Queued> inFlight;
    private Future<Integer> outcome;

    Pipeline(RoundTrip roundTrip) {
        this.roundTrip = roundTrip;
    }

    PipelinePacing pacing() {
        return pacing;
    }

    void add(TransactionProcedures.Call call, PendingTransaction tx) {
        if (queue.isEmpty()) {
            firstQueuedAt = System.nanoTime();
        }
        queue.add(new Queued(call, tx));
    }

    /** Time to send: enough transactions for one round trip, or the first has waited long enough. */
    boolean isDue() {
        return queue.size() >= pacing.limit()
                || (!queue.isEmpty() && System.nanoTime() - firstQueuedAt > MAX_WAIT_NANOS);
    }

    boolean isEmpty() {
        return queue.isEmpty();
    }

    boolean inFlight() {
        return inFlight != null;
    }

    /** Starts a round trip with what is queued, up to the current limit; the one before must be settled. */
    void send() {
        if (inFlight != null) {
            throw new IllegalStateException("a round trip is still in flight: settle it first");
        }
        List<Queued> sending = queue.subList(0, Math.min(pacing.limit(), queue.size()));
        inFlight = List.copyOf(sending);
        sending.clear();
        firstQueuedAt = System.nanoTime();
        outcome = roundTrip.start(inFlight);
    }

    /**
     * Waits for the round trip in flight and requeues what it skipped; null if none was in flight.
     * If it failed, its error is thrown and its transactions are forgotten: the link restarts from
     * the origin's progress.
     */
    Settled settle() throws SQLException {
        if (inFlight == null) {
            return null;
        }
        List<Queued> sent = inFlight;
        inFlight = null;
        int committed = ApplySession.await(outcome);
        pacing.roundTripEnded(sent.size(), committed);
        if (committed == sent.size()) {
            return new Settled(sent, null);
        }
        if (queue.isEmpty()) {
            firstQueuedAt = System.nanoTime();
        }
        queue.addAll(0, sent.subList(committed + 1, sent.size()));
        return new Settled(sent.subList(0, committed), sent.get(committed));
    }

    /** Forgets everything queued and waits out the round trip in flight: the connection must be idle before rolling back. */
    void abandon() {
        queue.clear();
        if (inFlight != null) {
            inFlight = null;
            try {
                ApplySession.await(outcome);
            } catch (SQLException | RuntimeException ignored) {
                // already failing; the link restarts from the origin's progress
            }
        }
    }

    /** How many of {@code batch}, from the first, the origin's {@code progress} covers. */
    static int committedThrough(List<Queued> batch, Lsn progress) {
        int committed = 0;
        while (committed < batch.size() && !batch.get(committed).tx().originLsn().isAfter(progress)) {
            committed++;
        }
        return committed;
    }
}
