package io.pgactive.bench;

import io.pgactive.harness.PgCluster;
import java.util.function.UnaryOperator;

/**
 * Servers configured alike for both systems, so that only the replication differs. Checkpoints
 * are pushed out of the way: a checkpoint landing in one run and not the other would be the
 * biggest source of noise in a short measurement.
 */
final class BenchClusters {

    private BenchClusters() {
    }

    static PgCluster start(String name, boolean pgactive) {
        return start(name, pgactive, UnaryOperator.identity());
    }

    /**
     * As {@link #start(String, boolean)}, with settings of a workload's own added by {@code extra}.
     * System property {@code pgactive.jvm_options}, when given, becomes the pgactive worker's JVM
     * options (e.g. {@code java -Dpgactive.jvm_options='-Xmx128m' -jar pgactive-bench.jar}), to
     * measure a setting's effect on speed and memory.
     */
    static PgCluster start(String name, boolean pgactive, UnaryOperator<PgCluster.Builder> extra) {
        PgCluster.Builder builder = PgCluster.builder(name);
        String jvmOptions = System.getProperty("pgactive.jvm_options");
        if (pgactive && jvmOptions != null) {
            builder.setting("pgactive.jvm_options", jvmOptions);
        }
        return extra.apply(builder
                .preloadPgactive(pgactive)
                .setting("shared_buffers", "512MB")
                .setting("max_wal_size", "16GB")
                .setting("checkpoint_timeout", "1h")
                .setting("wal_sender_timeout", "60s")
                // Native's launcher waits this long before starting an apply worker again; at the
                // default (5 s) a re-enabled subscription's drain would time the wait, not apply.
                .setting("wal_retrieve_retry_interval", "100ms")
                .setting("log_min_messages", "warning"))
                .start();
    }

    /**
     * Stops the servers and deletes their directories, once a workload went well: a full run
     * leaves gigabytes behind otherwise. After a failure they stay, with their logs.
     */
    static void discard(PgCluster... clusters) {
        for (PgCluster cluster : clusters) {
            cluster.close();
            cluster.deleteFiles();
        }
    }
}
