package io.pgactive.bench;

import io.pgactive.harness.PgCluster;
import java.util.List;
import java.util.OptionalLong;

/**
 * A two-node pgactive group in its real configuration (conflict detection on): the origin
 * creates it with all the data, the target joins through it.
 */
final class PgactivePair extends ReplicationPair {

    private PgactivePair(PgCluster origin, PgCluster target) {
        super(origin, target);
    }

    static PgactivePair start() {
        return start("pgactive", true, PgactivePair::prepare, PgactivePair::new);
    }

    private static void prepare(PgCluster origin, PgCluster target) {
        origin.createDatabase(DB);
        BenchSchema.createOnOrigin(origin);
        for (String side : BenchSchema.SIDES) {
            BenchSchema.fillSide(origin, side);
        }
        createGroup(origin, DB);
        target.createDatabase(DB);
        join(target, DB, origin, DB);
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
    String system() {
        return "pgactive";
    }

    @Override
    void pauseApply() {
        target().execute(DB, "SELECT pgactive.pgactive_apply_pause()");
        Slots.awaitInactive(origin(), DB, origin().queryString(DB,
                "SELECT slot_name FROM pg_replication_slots WHERE slot_name LIKE 'pgactive%'"));
    }

    @Override
    void resumeApply() {
        target().execute(DB, "SELECT pgactive.pgactive_apply_resume()");
    }

    /** The apply sessions' backends (application name {@code pgactive:<peer>:apply}). */
    @Override
    List<Long> applyBackends() {
        return target().queryColumn(DB, "SELECT pid FROM pg_stat_activity WHERE application_name LIKE 'pgactive:%:apply'")
                .stream().map(Long::valueOf).toList();
    }

    @Override
    OptionalLong applyProcess() {
        String pid = target().queryString(DB, "SELECT pgactive._worker_pid()");
        return pid == null ? OptionalLong.empty() : OptionalLong.of(Long.parseLong(pid));
    }
}
