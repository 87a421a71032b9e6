package io.pgactive.bench;

import io.pgactive.harness.PgCluster;

/**
 * Workload (e): bringing a new node up from a database of the given pgbench scale, three ways on
 * the same source and target servers: plain {@code pg_dump | pg_restore}, native logical
 * replication's initial sync (schema copied first, as its documentation requires), and
 * {@code pgactive_join_group} until {@code pgactive_wait_for_node_ready} returns.
 */
final class JoinTime {

    private static final String SOURCE_DB = "big";

    private JoinTime() {
    }

    static void run(Scale scale, Figures nativeFigures, Figures pgactiveFigures) {
        try (PgCluster source = BenchClusters.start("join-source", true);
             PgCluster target = BenchClusters.start("join-target", true)) {
            source.createDatabase(SOURCE_DB);
            Pgbench.init(source, SOURCE_DB, scale.joinPgbenchScale());
            double mib = source.queryLong(SOURCE_DB, "SELECT pg_database_size(current_database())") / 1048576.0;
            System.out.printf("  source database: %.0f MiB (pgbench scale %d)%n", mib, scale.joinPgbenchScale());
            nativeFigures.put("join.size_mib", mib);
            pgactiveFigures.put("join.size_mib", mib);

            target.createDatabase("restored");
            long start = System.nanoTime();
            PgTools.dumpRestore(source, SOURCE_DB, target, "restored");
            nativeFigures.put("join.dump_restore_s", Backlog.seconds(System.nanoTime() - start));
            target.execute("postgres", "DROP DATABASE restored");

            target.createDatabase("synced");
            source.execute(SOURCE_DB, "CREATE PUBLICATION initial_sync FOR ALL TABLES");
            start = System.nanoTime();
            PgTools.copySchema(source, SOURCE_DB, target, "synced");
            target.execute("synced", "CREATE SUBSCRIPTION initial_sync CONNECTION '" + source.dsn(SOURCE_DB)
                    + "' PUBLICATION initial_sync");
            NativePair.awaitInitialSync(target, "synced");
            nativeFigures.put("join.ready_s", Backlog.seconds(System.nanoTime() - start));
            target.execute("synced", "DROP SUBSCRIPTION initial_sync");
            source.execute(SOURCE_DB, "DROP PUBLICATION initial_sync");
            target.execute("postgres", "DROP DATABASE synced");

            PgactivePair.createGroup(source, SOURCE_DB);
            target.createDatabase("joined");
            start = System.nanoTime();
            PgactivePair.join(target, "joined", source, SOURCE_DB);
            pgactiveFigures.put("join.ready_s", Backlog.seconds(System.nanoTime() - start));
            BenchClusters.discard(source, target);
        }
    }
}
