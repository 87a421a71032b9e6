package io.pgactive.it;

import io.pgactive.harness.Await;
import io.pgactive.harness.PgCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Assertions;

/** The pgactive SQL calls tests make again and again, in one place. */
final class Pgactive {

    static final Duration READY_TIMEOUT = Duration.ofSeconds(60);

    private Pgactive() {
    }

    /** Creates a database with the extension installed. */
    static void createDatabaseWithExtension(PgCluster cluster, String db) {
        cluster.createDatabase(db);
        cluster.execute(db, "CREATE EXTENSION pgactive");
    }

    static void createGroup(PgCluster cluster, String db, String nodeName) {
        cluster.execute(db, "SELECT pgactive.pgactive_create_group(node_name := '" + nodeName
                + "', node_dsn := '" + cluster.dsn(db) + "')");
    }

    static void joinGroup(PgCluster cluster, String db, String nodeName, PgCluster upstream) {
        cluster.execute(db, "SELECT pgactive.pgactive_join_group(node_name := '" + nodeName
                + "', node_dsn := '" + cluster.dsn(db) + "', join_using_dsn := '" + upstream.dsn(db) + "')");
    }

    /** Waits until {@code sql} returns {@code expected} on every node. */
    static void awaitEverywhere(String db, String sql, String expected, PgCluster... nodes) {
        for (PgCluster node : nodes) {
            Await.untilEquals(Duration.ofSeconds(30), sql + " on " + node.name(), expected,
                    () -> node.queryString(db, sql));
        }
    }

    /**
     * Forms a group in {@code db}: {@code first} (whose database the caller has created and
     * filled, since DDL does not replicate) creates it, each joiner joins through {@code first}.
     */
    static void formGroup(String db, PgCluster first, PgCluster... joiners) {
        formDelayedGroup(db, null, first, joiners);
    }

    /** The same, every node created or joined with {@code apply_delay := applyDelayMs}. */
    static void formDelayedGroup(String db, Integer applyDelayMs, PgCluster first, PgCluster... joiners) {
        formGroupWithDelays(db, node -> applyDelayMs, first, joiners);
    }

    /**
     * The same, each node with its own {@code apply_delay} (none where the function gives null):
     * every node then applies that node's changes at least that late.
     */
    static void formGroupWithDelays(String db, Function<PgCluster, Integer> applyDelayMs, PgCluster first,
            PgCluster... joiners) {
        first.execute(db, "CREATE EXTENSION IF NOT EXISTS pgactive");
        first.execute(db, "SELECT pgactive.pgactive_create_group(node_name := '" + first.name()
                + "', node_dsn := '" + first.dsn(db) + "'" + delayArgument(applyDelayMs.apply(first)) + ")");
        waitReady(first, db);
        for (PgCluster joiner : joiners) {
            createDatabaseWithExtension(joiner, db);
            joiner.execute(db, "SELECT pgactive.pgactive_join_group(node_name := '" + joiner.name()
                    + "', node_dsn := '" + joiner.dsn(db) + "', join_using_dsn := '" + first.dsn(db) + "'"
                    + delayArgument(applyDelayMs.apply(joiner)) + ")");
            waitReady(joiner, db);
        }
    }

    private static String delayArgument(Integer applyDelayMs) {
        return applyDelayMs == null ? "" : ", apply_delay := " + applyDelayMs;
    }

    static void waitReady(PgCluster cluster, String db) {
        cluster.execute(db, "SELECT pgactive.pgactive_wait_for_node_ready(timeout := "
                + READY_TIMEOUT.toSeconds() + ")");
    }

    /** Pauses apply on {@code node} and waits until no peer's walsender streams to it any more. */
    static void pauseApply(PgCluster node, String db, PgCluster... peers) {
        node.execute(db, "SELECT pgactive.pgactive_apply_pause()");
        String nodeName = node.queryString(db, "SELECT pgactive.pgactive_get_local_node_name()");
        for (PgCluster peer : peers) {
            Await.untilEquals(Duration.ofSeconds(30), peer.name() + " no longer streaming to " + nodeName, "false",
                    () -> peer.queryString(db, "SELECT coalesce(bool_or(active), false)::text"
                            + " FROM pgactive.pgactive_get_replication_lag_info() WHERE node_name = '" + nodeName + "'"));
        }
    }

    /** Pauses apply on every one of {@code nodes}: from now on none sees another's changes. */
    static void pauseApplyEverywhere(String db, List<PgCluster> nodes) {
        for (PgCluster node : nodes) {
            pauseApply(node, db, nodes.stream().filter(n -> n != node).toArray(PgCluster[]::new));
        }
    }

    static void resumeApplyEverywhere(String db, List<PgCluster> nodes) {
        for (PgCluster node : nodes) {
            node.execute(db, "SELECT pgactive.pgactive_apply_resume()");
        }
    }

    /**
     * A database that is no node keeps nothing of one: no node or connection rows, no pgactive
     * publication, no tombstone trigger (after a refused or undone create or join, or a remove).
     */
    static void assertNothingLeft(PgCluster node, String db) {
        Assertions.assertEquals(0, node.queryLong(db, "SELECT (SELECT count(*) FROM pgactive.pgactive_nodes)"
                + " + (SELECT count(*) FROM pgactive.pgactive_connections)"
                + " + (SELECT count(*) FROM pg_publication WHERE pubname = 'pgactive')"
                + " + (SELECT count(*) FROM pg_trigger WHERE tgname = 'pgactive_tombstone')"), "left in " + db);
    }

    static String nodeStatus(PgCluster cluster, String db) {
        return cluster.queryString(db, "SELECT node_status FROM pgactive._local_node()");
    }

    /** The JVM worker's pid, or null while none runs. */
    static Long workerPid(PgCluster cluster, String db) {
        String pid = cluster.queryString(db, "SELECT pgactive._worker_pid()");
        return pid == null ? null : Long.valueOf(pid);
    }

    static long awaitWorkerPid(PgCluster cluster, String db) {
        return Await.value(Duration.ofSeconds(20), "a running pgactive worker on " + cluster.name(),
                () -> workerPid(cluster, db));
    }

    /** The JVM's command line, from /proc. */
    static String commandLine(long pid) throws Exception {
        return Files.readString(Path.of("/proc", Long.toString(pid), "cmdline")).replace('\0', ' ');
    }
}
