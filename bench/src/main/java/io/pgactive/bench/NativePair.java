package io.pgactive.bench;

import io.pgactive.harness.Await;
import io.pgactive.harness.PgCluster;
import java.time.Duration;
import java.util.OptionalLong;

/**
 * PostgreSQL's own logical replication between two fresh clusters: each side publishes the
 * tables it writes and subscribes to the other's, with the schema copied first and the data by
 * the subscription's initial sync, as the documentation sets it up.
 */
final class NativePair extends ReplicationPair {

    private static final Duration SYNC_TIMEOUT = Duration.ofMinutes(10);

    private NativePair(PgCluster origin, PgCluster target) {
        super(origin, target);
    }

    static NativePair start() {
        return start("native", false, NativePair::prepare, NativePair::new);
    }

    private static void prepare(PgCluster origin, PgCluster target) {
        origin.createDatabase(DB);
        BenchSchema.createOnOrigin(origin);
        BenchSchema.fillSide(origin, "a");
        target.createDatabase(DB);
        PgTools.copySchema(origin, DB, target, DB);
        BenchSchema.fillSide(target, "b");
        origin.execute(DB, "CREATE PUBLICATION pub_origin FOR TABLE " + BenchSchema.originTables());
        target.execute(DB, "CREATE PUBLICATION pub_target FOR TABLE " + BenchSchema.targetTables());
        target.execute(DB, "CREATE SUBSCRIPTION sub_origin CONNECTION '" + origin.dsn(DB)
                + "' PUBLICATION pub_origin");
        origin.execute(DB, "CREATE SUBSCRIPTION sub_target CONNECTION '" + target.dsn(DB)
                + "' PUBLICATION pub_target");
        awaitInitialSync(target, DB);
        awaitInitialSync(origin, DB);
    }

    /** Waits until every table of every subscription in {@code db} is synchronized. */
    static void awaitInitialSync(PgCluster subscriber, String db) {
        Await.untilEquals(SYNC_TIMEOUT, "initial sync on " + subscriber.name(), 0L, () -> subscriber.queryLong(db,
                "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'"));
    }

    @Override
    String system() {
        return "native";
    }

    @Override
    void pauseApply() {
        target().execute(DB, "ALTER SUBSCRIPTION sub_origin DISABLE");
        Slots.awaitInactive(origin(), DB, "sub_origin");
    }

    @Override
    void resumeApply() {
        target().execute(DB, "ALTER SUBSCRIPTION sub_origin ENABLE");
    }

    @Override
    OptionalLong applyProcess() {
        String pid = target().queryString(DB, "SELECT pid FROM pg_stat_subscription"
                + " WHERE subname = 'sub_origin' AND relid IS NULL AND pid IS NOT NULL");
        return pid == null ? OptionalLong.empty() : OptionalLong.of(Long.parseLong(pid));
    }
}
