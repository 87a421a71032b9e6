package io.pgactive.link;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgactive.pg.Lsn;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class FeedbackTrackerTest {

    @Test
    void nothingToConfirmAtTheStart() {
        assertEquals(Optional.empty(), new FeedbackTracker(lsn(0x100)).toConfirm());
    }

    @Test
    void confirmsTheEndOfProcessedTransactionsOnlyBetweenTransactions() {
        FeedbackTracker feedback = new FeedbackTracker(lsn(0x100));
        feedback.begin();
        feedback.idle(lsn(0x500));
        assertEquals(Optional.empty(), feedback.toConfirm(), "inside a transaction");
        feedback.processed(lsn(0x200));
        assertEquals(Optional.of(lsn(0x200)), feedback.toConfirm(), "what arrived during it does not count");
        feedback.confirmed(lsn(0x200));
        assertEquals(Optional.empty(), feedback.toConfirm());
    }

    @Test
    void whatArrivesBetweenTransactionsIsProcessed() {
        FeedbackTracker feedback = new FeedbackTracker(lsn(0x100));
        feedback.idle(lsn(0x300));
        assertEquals(Optional.of(lsn(0x300)), feedback.toConfirm());
    }

    @Test
    void neverGoesBackwardsAndComparesUnsigned() {
        FeedbackTracker feedback = new FeedbackTracker(lsn(0x7FFF_FFFF_FFFF_FFF0L));
        feedback.idle(lsn(0x8000_0000_0000_0000L));
        feedback.idle(lsn(0x10));
        feedback.begin();
        feedback.processed(lsn(0x20));
        assertEquals(Optional.of(lsn(0x8000_0000_0000_0000L)), feedback.toConfirm());
    }

    private static Lsn lsn(long value) {
        return new Lsn(value);
    }
}
