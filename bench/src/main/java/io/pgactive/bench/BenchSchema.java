package io.pgactive.bench;

import io.pgactive.harness.PgCluster;

/**
 * The benchmark's tables. pgbench's own tables serve the OLTP workload; the bidirectional one
 * has a pgbench-shaped set of tables per writing side ({@code _a} on the origin, {@code _b} on
 * the target), because native logical replication in PostgreSQL 15 cannot replicate one table
 * both ways without looping (no {@code origin = none} before 16): each side publishes its own.
 */
final class BenchSchema {

    static final String[] SIDES = {"a", "b"};

    private BenchSchema() {
    }

    /** pgbench's tables and data, plus the empty tables of the other workloads. */
    static void createOnOrigin(PgCluster origin) {
        Pgbench.init(origin, ReplicationPair.DB, Scale.OLTP_SCALE);
        origin.execute(ReplicationPair.DB, """
                CREATE TABLE bulk (id bigint PRIMARY KEY, payload text NOT NULL);
                CREATE TABLE small (id bigserial PRIMARY KEY, client int NOT NULL, payload text NOT NULL);
                CREATE TABLE bench_marker (id int PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp());
                """);
        origin.execute(ReplicationPair.DB, LargeValues.schema());
        origin.execute(ReplicationPair.DB, Contested.schema());
        for (String side : SIDES) {
            origin.execute(ReplicationPair.DB, sideTables(side));
        }
    }

    /** The side's pgbench-shaped tables, same sizes as the OLTP workload's. */
    static String sideTables(String side) {
        return """
                CREATE TABLE branches_%1$s (bid int PRIMARY KEY, bbalance int NOT NULL, filler char(88));
                CREATE TABLE tellers_%1$s (tid int PRIMARY KEY, bid int NOT NULL, tbalance int NOT NULL, filler char(84));
                CREATE TABLE accounts_%1$s (aid int PRIMARY KEY, bid int NOT NULL, abalance int NOT NULL, filler char(84));
                CREATE TABLE history_%1$s (hid bigserial PRIMARY KEY, tid int, bid int, aid int, delta int,
                                           mtime timestamptz NOT NULL);
                """.formatted(side);
    }

    static void fillSide(PgCluster cluster, String side) {
        int branches = Scale.OLTP_SCALE;
        cluster.execute(ReplicationPair.DB, """
                INSERT INTO branches_%1$s SELECT g, 0, '' FROM generate_series(1, %2$d) g;
                INSERT INTO tellers_%1$s SELECT g, (g - 1) / 10 + 1, 0, '' FROM generate_series(1, %3$d) g;
                INSERT INTO accounts_%1$s SELECT g, (g - 1) / 100000 + 1, 0, '' FROM generate_series(1, %4$d) g;
                """.formatted(side, branches, branches * 10, branches * 100_000));
        cluster.execute(ReplicationPair.DB, "VACUUM ANALYZE branches_%1$s, tellers_%1$s, accounts_%1$s".formatted(side));
    }

    /** The tables the origin writes and the target applies (everything but the target's own side). */
    static String originTables() {
        return "pgbench_accounts, pgbench_branches, pgbench_tellers, pgbench_history, bulk, small, bench_marker, "
                + "branches_a, tellers_a, accounts_a, history_a, doc, contested";
    }

    static String targetTables() {
        return "branches_b, tellers_b, accounts_b, history_b";
    }
}
