package io.pgactive.bench;

import io.pgactive.harness.PgCluster;
import java.util.List;
import java.util.OptionalLong;
import java.util.function.BiFunction;

/**
 * Two nodes replicating database {@value #DB} both ways: every workload writes on the origin and
 * measures the target, except the bidirectional one, which writes on both. Apply can be held back
 * on the target, which is how apply capacity is measured: the backlog's drain time.
 */
abstract class ReplicationPair implements AutoCloseable {

    static final String DB = "bench";

    /** Prepares freshly started servers: schema, data, replication. */
    interface Setup {
        void prepare(PgCluster origin, PgCluster target);
    }

    private final PgCluster origin;
    private final PgCluster target;

    ReplicationPair(PgCluster origin, PgCluster target) {
        this.origin = origin;
        this.target = target;
    }

    /** Starts {@code <system>-origin} and {@code <system>-target} and prepares them; stops both if that fails. */
    static <P extends ReplicationPair> P start(String system, boolean pgactive, Setup setup,
                                               BiFunction<PgCluster, PgCluster, P> pair) {
        PgCluster origin = BenchClusters.start(system + "-origin", pgactive);
        PgCluster target = BenchClusters.start(system + "-target", pgactive);
        try {
            setup.prepare(origin, target);
            return pair.apply(origin, target);
        } catch (RuntimeException e) {
            origin.close();
            target.close();
            throw e;
        }
    }

    /** "native" or "pgactive", as shown in the results. */
    abstract String system();

    /** Stops applying the origin's changes on the target; returns once nothing is being applied. */
    abstract void pauseApply();

    abstract void resumeApply();

    /** The process applying the origin's changes on the target (apply worker or JVM), if one runs. */
    abstract OptionalLong applyProcess();

    /** The server backends the apply process applies through, if it is a client (pgactive's JVM). */
    List<Long> applyBackends() {
        return List.of();
    }

    final PgCluster origin() {
        return origin;
    }

    final PgCluster target() {
        return target;
    }

    /** Stops both servers and deletes their files; see {@link BenchClusters#discard}. */
    final void discard() {
        BenchClusters.discard(origin, target);
    }

    /** Stops both servers. */
    @Override
    public final void close() {
        origin.close();
        target.close();
    }
}
