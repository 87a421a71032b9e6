package io.pgactive.apply;

/**
 * How much a session sends per round trip, learned from how its round trips end. A transaction
 * that stops a round trip (it needs the careful path) sends everything queued behind it again,
 * so where transactions keep needing the careful path (rows written on several nodes at once),
 * full round trips would send the same values again and again:
 * <ul>
 *   <li>the {@linkplain #limit() limit} falls to what committed, at least one, and doubles after
 *       each round trip that committed in full, as TCP's slow start;</li>
 *   <li>while round trips of one transaction keep stopping at it, the next transactions go to
 *       the careful path directly instead of costing a round trip each to find out: one, then
 *       twice as many each time it goes on, up to {@value #MAX_BYPASS}, then one tries the
 *       pipeline again.</li>
 * </ul>
 * Plain arithmetic, unit-tested; {@link Pipeline} and {@link BufferedApplier} act on it.
 */
final class PipelinePacing {

    /** Transactions per round trip at most. */
    static final int MAX_TRANSACTIONS = 400;
    /** At most this many transactions in a row skip the pipeline while every one needs the careful path. */
    static final int MAX_BYPASS = 256;

    private int limit = MAX_TRANSACTIONS;
    private int bypassRun;
    private int bypassLeft;

    /** Transactions the next round trip may carry. */
    int limit() {
        return limit;
    }

    /** A round trip of {@code sent} transactions ended with the first {@code committed} of them committed. */
    void roundTripEnded(int sent, int committed) {
        if (committed == sent) {
            limit = Math.min(MAX_TRANSACTIONS, limit * 2);
            bypassRun = 0;
        } else {
            limit = Math.max(1, committed);
            if (committed == 0 && sent == 1) {
                bypassRun = Math.min(MAX_BYPASS, Math.max(1, bypassRun * 2));
                bypassLeft = bypassRun;
            }
        }
    }

    /** Whether the next transaction goes to the careful path without trying the pipeline; counts it. */
    boolean bypassNext() {
        boolean bypass = bypassLeft > 0;
        bypassLeft = Math.max(0, bypassLeft - 1);
        return bypass;
    }
}
