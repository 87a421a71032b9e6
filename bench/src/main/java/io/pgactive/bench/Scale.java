package io.pgactive.bench;

/**
 * How big each workload is. The full sizes are the ones the issue names; the quick ones keep
 * every code path but finish in a couple of minutes, for a check before a commit. A full run
 * repeats each apply-capacity workload {@code rounds} times per system, alternating the two,
 * because a drain of a few seconds on a shared 2-core machine varies by tens of percent from one run
 * to the next.
 */
record Scale(
        String name,
        int bulkRows,
        int smallTransactions,
        int oltpSeconds,
        int bidirectionalSeconds,
        int joinPgbenchScale,
        int rounds) {

    /** pgbench scale of the OLTP tables and of each side's bidirectional tables: one branch per client. */
    static final int OLTP_SCALE = 4;
    static final int CLIENTS = 4;

    static Scale full() {
        return new Scale("full", 1_000_000, 100_000, 60, 30, 70, 3); // scale 70 ≈ 1.05 GB
    }

    static Scale quick() {
        return new Scale("quick", 200_000, 20_000, 10, 10, 10, 1);
    }

    /** The same sizes, each capacity workload run {@code n} times per system. */
    Scale withRounds(int n) {
        return new Scale(name, bulkRows, smallTransactions, oltpSeconds, bidirectionalSeconds, joinPgbenchScale, n);
    }
}
