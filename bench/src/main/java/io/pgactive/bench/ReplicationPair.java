package io.pgactive.bench;

import io.pgactive.harness.PgCluster;
import java.util.OptionalLong;

/**
 * Two nodes replicating database {@value #DB} both ways: every workload writes on the origin and
 * measures the target, except the bidirectional one, which writes on both. Apply can be held back
 * on the target, which is how apply capacity is measured: the backlog's drain time.
 */
interface ReplicationPair extends AutoCloseable {

    String DB = "bench";

    /** "native" or "pgactive", as shown in the results. */
    String system();

    PgCluster origin();

    PgCluster target();

    /** Stops applying the origin's changes on the target; returns once nothing is being applied. */
    void pauseApply();

    void resumeApply();

    /** The process applying the origin's changes on the target (apply worker or JVM), if one runs. */
    OptionalLong applyProcess();

    /** Stops both servers. */
    @Override
    void close();
}
