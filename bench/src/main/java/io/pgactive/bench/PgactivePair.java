package io.pgactive.bench;

import io.pgactive.harness.PgCluster;
import java.util.OptionalLong;

/**
 * A two-node pgactive group in its real configuration (conflict detection on): the origin
 * creates it with all the data, the target joins through it.
 */
final class PgactivePair implements ReplicationPair {

    private final PgCluster origin;
    private final PgCluster target;

    private PgactivePair(PgCluster origin, PgCluster target) {
        this.origin = origin;
        this.target = target;
    }

    static PgactivePair start() {
        PgCluster origin = BenchClusters.start("pgactive-origin", true);
        PgCluster target = BenchClusters.start("pgactive-target", true);
        try {
            origin.createDatabase(DB);
            BenchSchema.createOnOrigin(origin);
            for (String side : BenchSchema.SIDES) {
                BenchSchema.fillSide(origin, side);
            }
            createGroup(origin, DB);
            target.createDatabase(DB);
            join(target, DB, origin, DB);
            return new PgactivePair(origin, target);
        } catch (RuntimeException e) {
            origin.close();
            target.close();
            throw e;
        }
    }

    static void createGroup(PgCluster node, String db) {
        node.execute(db, "CREATE EXTENSION pgactive");
        node.execute(db, "SELECT pgactive.pgactive_create_group(node_name := '" + node.name()
                + "', node_dsn := '" + node.dsn(db) + "')");
        waitReady(node, db);
    }

    /** Joins {@code db} on {@code joiner} to the group of {@code upstream}; returns once ready. */
    static void join(PgCluster joiner, String db, PgCluster upstream, String upstreamDb) {
        joiner.execute(db, "CREATE EXTENSION pgactive");
        joiner.execute(db, "SELECT pgactive.pgactive_join_group(node_name := '" + joiner.name() + "-" + db
                + "', node_dsn := '" + joiner.dsn(db) + "', join_using_dsn := '" + upstream.dsn(upstreamDb) + "')");
        waitReady(joiner, db);
    }

    private static void waitReady(PgCluster node, String db) {
        node.execute(db, "SELECT pgactive.pgactive_wait_for_node_ready(timeout := 1800)");
    }

    @Override
    public String system() {
        return "pgactive";
    }

    @Override
    public PgCluster origin() {
        return origin;
    }

    @Override
    public PgCluster target() {
        return target;
    }

    @Override
    public void pauseApply() {
        target.execute(DB, "SELECT pgactive.pgactive_apply_pause()");
        Slots.awaitInactive(origin, DB, origin.queryString(DB,
                "SELECT slot_name FROM pg_replication_slots WHERE slot_name LIKE 'pgactive%'"));
    }

    @Override
    public void resumeApply() {
        target.execute(DB, "SELECT pgactive.pgactive_apply_resume()");
    }

    @Override
    public OptionalLong applyProcess() {
        String pid = target.queryString(DB, "SELECT pgactive._worker_pid()");
        return pid == null ? OptionalLong.empty() : OptionalLong.of(Long.parseLong(pid));
    }

    @Override
    public void close() {
        origin.close();
        target.close();
    }
}
