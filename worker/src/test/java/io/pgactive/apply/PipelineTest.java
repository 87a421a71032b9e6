package io.pgactive.apply;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgactive.catalog.NodeIdentity;
import io.pgactive.conflict.RemoteTransaction;
import io.pgactive.pg.Lsn;
import java.sql.SQLException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** The pipeline's bookkeeping over a fake round trip that commits what the test says. */
class PipelineTest {

    /** Records what each round trip carried and ends it as scripted: a committed count or an error. */
    private static final class FakeRoundTrip implements Pipeline.RoundTrip {
        final List<List<Long>> sent = new ArrayList<>();
        final Deque<Object> outcomes = new ArrayDeque<>();

        @Override
        public Future<Integer> start(List<Pipeline.Queued> calls) {
            sent.add(calls.stream().map(PipelineTest::id).toList());
            Object outcome = outcomes.removeFirst();
            if (outcome instanceof SQLException e) {
                return CompletableFuture.failedFuture(e);
            }
            int committed = outcome.equals("all") ? calls.size() : (Integer) outcome;
            return CompletableFuture.completedFuture(committed);
        }
    }

    private final FakeRoundTrip roundTrip = new FakeRoundTrip();
    private final Pipeline pipeline = new Pipeline(roundTrip);

    private void queue(long... ids) {
        for (long id : ids) {
            PendingTransaction tx = new PendingTransaction("pgactive_origin",
                    new RemoteTransaction(new NodeIdentity("1", 1, 1), id, 0, new Lsn(id * 100)));
            tx.committed(new Lsn(id * 100), 0);
            pipeline.add(new TransactionProcedures.Call("CALL p($1, $2, $3)", new String[] {"v" + id}), tx);
        }
    }

    private static long id(Pipeline.Queued q) {
        return q.tx().remote().xid();
    }

    private static List<Long> ids(List<Pipeline.Queued> calls) {
        return calls.stream().map(PipelineTest::id).toList();
    }

    @Test
    void aRoundTripThatCommitsEverythingLeavesNothingQueued() throws SQLException {
        queue(1, 2, 3);
        roundTrip.outcomes.add("all");
        pipeline.send();
        assertTrue(pipeline.inFlight());
        Pipeline.Settled settled = pipeline.settle();
        assertEquals(List.of(1L, 2L, 3L), ids(settled.committed()));
        assertNull(settled.stoppedAt());
        assertTrue(pipeline.isEmpty());
        assertFalse(pipeline.inFlight());
        assertNull(pipeline.settle(), "nothing in flight");
    }

    @Test
    void aStopHandsThatTransactionBackAndRequeuesTheRestAheadOfWhatCameSince() throws SQLException {
        queue(1, 2, 3, 4, 5);
        roundTrip.outcomes.add(2);
        pipeline.send();
        queue(6); // decoded while the round trip ran
        Pipeline.Settled settled = pipeline.settle();
        assertEquals(List.of(1L, 2L), ids(settled.committed()));
        assertEquals(3L, id(settled.stoppedAt()));

        roundTrip.outcomes.add("all");
        roundTrip.outcomes.add("all");
        pipeline.send(); // two at most: as many as committed last time
        pipeline.settle();
        pipeline.send();
        pipeline.settle();
        assertEquals(List.of(List.of(4L, 5L), List.of(6L)), roundTrip.sent.subList(1, 3),
                "skipped ones first, in order, then the newer");
        assertTrue(pipeline.isEmpty());
    }

    @Test
    void aStopAtTheFirstCommitsNothing() throws SQLException {
        queue(1, 2);
        roundTrip.outcomes.add(0);
        pipeline.send();
        Pipeline.Settled settled = pipeline.settle();
        assertTrue(settled.committed().isEmpty());
        assertEquals(1L, id(settled.stoppedAt()));
        assertFalse(pipeline.isEmpty());
    }

    @Test
    void aRoundTripCarriesNoMoreThanThePacingAllowsAndTheLimitFollowsHowTheLastEnded() throws SQLException {
        queue(1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
        roundTrip.outcomes.add(3);
        pipeline.send();
        pipeline.settle(); // committed 3: the next round trip carries 3
        roundTrip.outcomes.add("all");
        pipeline.send();
        assertEquals(List.of(5L, 6L, 7L), roundTrip.sent.get(1));
        pipeline.settle();
        assertEquals(6, pipeline.pacing().limit(), "doubled after a full one");
    }

    @Test
    void aFailedRoundTripThrowsItsErrorAndLeavesTheSessionIdle() {
        queue(1, 2);
        SQLException broken = new SQLException("connection lost", "08006");
        roundTrip.outcomes.add(broken);
        pipeline.send();
        SQLException thrown = assertThrows(SQLException.class, pipeline::settle);
        assertSame(broken, thrown, "the original error, not a wrapper");
        assertFalse(pipeline.inFlight());
    }

    @Test
    void oneRoundTripAtATime() {
        queue(1, 2);
        roundTrip.outcomes.add(1);
        pipeline.send();
        assertThrows(IllegalStateException.class, pipeline::send);
    }

    @Test
    void abandoningForgetsTheQueueAndWaitsOutTheRoundTripEvenIfItFailed() {
        queue(1, 2, 3);
        roundTrip.outcomes.add(new SQLException("boom"));
        pipeline.send();
        queue(4);
        pipeline.abandon();
        assertTrue(pipeline.isEmpty());
        assertFalse(pipeline.inFlight());
    }

    @Test
    void whatCommittedIsWhatTheOriginsProgressCovers() {
        queue(1, 2, 3);
        roundTrip.outcomes.add("all");
        pipeline.send();
        List<Pipeline.Queued> sent = new ArrayList<>();
        try {
            sent.addAll(pipeline.settle().committed());
        } catch (SQLException e) {
            throw new AssertionError(e);
        }
        assertEquals(0, Pipeline.committedThrough(sent, new Lsn(99)));
        assertEquals(2, Pipeline.committedThrough(sent, new Lsn(200)));
        assertEquals(2, Pipeline.committedThrough(sent, new Lsn(299)));
        assertEquals(3, Pipeline.committedThrough(sent, new Lsn(300)));
    }
}
