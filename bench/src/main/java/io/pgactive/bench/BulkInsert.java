package io.pgactive.bench;

/**
 * Workload (a): one transaction inserting many rows, applied from a backlog; memory of (f)
 * alongside. Each round inserts keys after the last round's.
 */
final class BulkInsert {

    private BulkInsert() {
    }

    static void run(ReplicationPair pair, Backlog backlog, Scale scale, Figures figures) {
        MemorySampler memory = new MemorySampler(pair);
        long after = pair.origin().queryLong(ReplicationPair.DB, "SELECT coalesce(max(id), 0) FROM bulk");
        Backlog.Drain drain = backlog.measure(() -> pair.origin().execute(ReplicationPair.DB,
                "INSERT INTO bulk SELECT g, md5(g::text) FROM generate_series(" + (after + 1) + ", "
                        + (after + scale.bulkRows()) + ") g"),
                memory);
        figures.put("bulk.write_s", drain.writeSeconds());
        figures.put("bulk.drain_s", drain.drainSeconds());
        figures.put("bulk.rate", scale.bulkRows() / drain.drainSeconds());
        Memory.record(figures, "bulk", memory.peak());
    }
}
