package io.pgactive.apply;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class PipelinePacingTest {

    @Test
    void aStoppedRoundTripShrinksTheNextToWhatCommittedThenFullOnesDoubleIt() {
        PipelinePacing pacing = new PipelinePacing();
        assertEquals(PipelinePacing.MAX_TRANSACTIONS, pacing.limit());
        pacing.roundTripEnded(400, 10);
        assertEquals(10, pacing.limit());
        pacing.roundTripEnded(10, 10);
        assertEquals(20, pacing.limit());
        for (int i = 0; i < 10; i++) {
            pacing.roundTripEnded(pacing.limit(), pacing.limit());
        }
        assertEquals(PipelinePacing.MAX_TRANSACTIONS, pacing.limit(), "capped");
        pacing.roundTripEnded(400, 0);
        assertEquals(1, pacing.limit(), "at least one");
    }

    @Test
    void singleTransactionsThatKeepStoppingSkipThePipelineForLongerAndLonger() {
        PipelinePacing pacing = new PipelinePacing();
        assertFalse(pacing.bypassNext());
        pacing.roundTripEnded(1, 0);
        assertEquals(1, bypasses(pacing));
        pacing.roundTripEnded(1, 0);
        assertEquals(2, bypasses(pacing));
        pacing.roundTripEnded(1, 0);
        assertEquals(4, bypasses(pacing));
        for (int i = 0; i < 20; i++) {
            pacing.roundTripEnded(1, 0);
        }
        assertEquals(PipelinePacing.MAX_BYPASS, bypasses(pacing), "capped");
        // A round trip of several that stopped part-way says nothing of single transactions.
        pacing.roundTripEnded(5, 2);
        assertFalse(pacing.bypassNext());
        // One that committed in full ends the streak: the next stop starts again at one.
        pacing.roundTripEnded(1, 1);
        pacing.roundTripEnded(1, 0);
        assertEquals(1, bypasses(pacing));
    }

    @Test
    void bypassesAreCountedOneByOne() {
        PipelinePacing pacing = new PipelinePacing();
        pacing.roundTripEnded(1, 0);
        pacing.roundTripEnded(1, 0);
        assertTrue(pacing.bypassNext());
        assertTrue(pacing.bypassNext());
        assertFalse(pacing.bypassNext());
    }

    /** How many transactions in a row now skip the pipeline. */
    private static int bypasses(PipelinePacing pacing) {
        int n = 0;
        while (pacing.bypassNext()) {
            n++;
        }
        return n;
    }
}
