package io.pgactive.bench;

/** Workload (f): the apply process's peak memory, taken during another workload's drain. */
final class Memory {

    private Memory() {
    }

    static void record(Figures figures, String during, MemorySampler.Peak peak) {
        figures.put("mem." + during + ".rss_mib", peak.rssMib());
        figures.put("mem." + during + ".side_rss_mib", peak.withHelpersMib());
        if (peak.heapMib() != null) {
            figures.put("mem." + during + ".heap_mib", peak.heapMib());
        }
    }
}
