package io.pgactive.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class FeedbackTrackerTest {

    @Test
    void nothingToConfirmAtTheStart() {
        assertEquals(OptionalLong.empty(), new FeedbackTracker(0x100).toConfirm());
    }

    @Test
    void confirmsTheEndOfProcessedTransactionsOnlyBetweenTransactions() {
        FeedbackTracker feedback = new FeedbackTracker(0x100);
        feedback.begin();
        feedback.idle(0x500);
        assertEquals(OptionalLong.empty(), feedback.toConfirm(), "inside a transaction");
        feedback.processed(0x200);
        assertEquals(OptionalLong.of(0x200), feedback.toConfirm(), "what arrived during it does not count");
        feedback.confirmed(0x200);
        assertEquals(OptionalLong.empty(), feedback.toConfirm());
    }

    @Test
    void whatArrivesBetweenTransactionsIsProcessed() {
        FeedbackTracker feedback = new FeedbackTracker(0x100);
        feedback.idle(0x300);
        assertEquals(OptionalLong.of(0x300), feedback.toConfirm());
    }

    @Test
    void neverGoesBackwardsAndComparesUnsigned() {
        FeedbackTracker feedback = new FeedbackTracker(0x7FFF_FFFF_FFFF_FFF0L);
        feedback.idle(0x8000_0000_0000_0000L);
        feedback.idle(0x10);
        feedback.begin();
        feedback.processed(0x20);
        assertEquals(OptionalLong.of(0x8000_0000_0000_0000L), feedback.toConfirm());
    }
}
