package io.pgactive.harness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Sanity checks of the harness itself against real PostgreSQL servers. pgactive is not preloaded:
 * these tests must pass before the extension exists.
 */
class HarnessTest {

    private static final String DB = "postgres";

    @RegisterExtension
    static final ClusterExtension clusters = new ClusterExtension();

    /** Class-level cluster: created once, closed by the extension after the last test. */
    private static PgCluster shared;

    @BeforeAll
    static void startShared() {
        shared = clusters.builder("shared").preloadPgactive(false).start();
    }

    @Test
    void lifecycleSurvivesKillAndImmediateStop() {
        PgCluster node = clusters.builder("life").preloadPgactive(false).build();
        assertFalse(node.isRunning(), "built but not started");
        assertTrue(Files.isDirectory(node.dataDir().resolve("global")), "initdb ran");

        node.start();
        assertTrue(node.isRunning());
        assertEquals(1, node.queryLong(DB, "select 1"));
        // The harness configuration is what the server actually runs with.
        assertEquals(String.valueOf(node.port()), node.queryString(DB, "show port"));
        assertEquals("logical", node.queryString(DB, "show wal_level"));
        assertEquals("on", node.queryString(DB, "show track_commit_timestamp"));
        assertEquals("16", node.queryString(DB, "show max_replication_slots"));
        assertEquals("", node.queryString(DB, "show shared_preload_libraries"));
        assertEquals(node.socketDir().toString(), node.queryString(DB, "show unix_socket_directories"));
        assertTrue(Files.exists(node.socketDir().resolve(".s.PGSQL." + node.port())), "Unix socket");
        assertNull(node.queryString(DB, "select 1 where false"));

        node.execute(DB, "create table t(id int primary key); insert into t values (1)");

        long firstPid = node.postmasterPid();
        node.killPostmaster();
        assertFalse(node.isRunning(), "postmaster killed");
        assertFalse(Processes.isAlive(firstPid));

        node.start();
        long secondPid = node.postmasterPid();
        assertNotEquals(firstPid, secondPid);
        assertTrue(node.serverLogText().contains("automatic recovery in progress"),
                "a SIGKILLed postmaster means crash recovery on the next start");
        assertEquals(1, node.queryLong(DB, "select count(*) from t"), "committed row survives SIGKILL");

        // Written before an immediate stop: with fsync=off it still survives, as the OS did not crash.
        node.execute(DB, "insert into t values (2)");
        int port = node.port();
        node.stopImmediate();
        assertFalse(node.isRunning());
        assertThrows(SqlFailedException.class, () -> node.queryLong(DB, "select 1"), "server is down");

        node.start();
        assertEquals(port, node.port(), "a restarted node keeps its port");
        assertEquals(List.of("1", "2"), node.queryColumn(DB, "select id from t order by id"));

        node.restart();
        assertNotEquals(secondPid, node.postmasterPid());
        assertEquals(2, node.queryLong(DB, "select count(*) from t"));

        long lastPid = node.postmasterPid();
        node.close();
        assertFalse(node.isRunning());
        assertFalse(Processes.isAlive(lastPid), "close() leaves no postmaster");
        node.close(); // idempotent
        assertThrows(IllegalStateException.class, node::start, "a closed cluster stays closed");
    }

    @Test
    void twoClustersGetDifferentPortsAndDirectories() {
        PgCluster a = clusters.builder("ports").preloadPgactive(false).start();
        PgCluster b = clusters.builder("ports").preloadPgactive(false).start(); // same name on purpose

        assertNotEquals(a.port(), b.port());
        assertNotEquals(a.directory(), b.directory());
        assertEquals(String.valueOf(a.port()), a.queryString(DB, "show port"));
        assertEquals(String.valueOf(b.port()), b.queryString(DB, "show port"));
        assertEquals("host=127.0.0.1 port=" + a.port() + " dbname=postgres user=postgres", a.dsn(DB));

        // The two servers are really separate: a database created on one is absent on the other.
        a.createDatabase("only_on_a");
        assertEquals(1, a.queryLong(DB, "select count(*) from pg_database where datname = 'only_on_a'"));
        assertEquals(0, b.queryLong(DB, "select count(*) from pg_database where datname = 'only_on_a'"));
        assertEquals(1, a.queryLong("only_on_a", "select 1"));
    }

    @Test
    void portTakenBeforeFirstStartIsReplaced() throws Exception {
        PgCluster node = clusters.builder("busy").preloadPgactive(false).build();
        int planned = node.port();
        try (ServerSocket squatter = new ServerSocket(planned, 1, InetAddress.getByName("127.0.0.1"))) {
            node.start();
        }
        assertNotEquals(planned, node.port());
        assertEquals(String.valueOf(node.port()), node.queryString(DB, "show port"));
        assertTrue(node.serverLogText().contains("Address already in use"), "the first attempt did collide");
    }

    @Test
    void settingsOverrideAndReload() {
        PgCluster node = clusters.builder("settings").preloadPgactive(false)
                .setting("work_mem", "1MB")
                .setting("work_mem", "2MB") // the later value wins
                .setting("cluster_name", "it's quoted") // a quote in a value must survive
                .start();
        assertEquals("2MB", node.queryString(DB, "show work_mem"));
        assertEquals("it's quoted", node.queryString(DB, "show cluster_name"));

        node.setSetting("work_mem", "8MB").reload();
        Await.untilEquals(Duration.ofSeconds(10), "work_mem after reload", "8MB",
                () -> node.queryString(DB, "show work_mem"));
    }

    @Test
    void classLevelClusterIsSharedAndRunning() {
        assertTrue(shared.isRunning());
        assertEquals(1, shared.queryLong(DB, "select 1"));
    }

    @Test
    void awaitReportsWhatItWaitedFor() {
        AssertionError timeout = assertThrows(AssertionError.class,
                () -> Await.until(Duration.ofMillis(200), "the impossible", () -> {
                    throw new IllegalStateException("not yet");
                }));
        assertTrue(timeout.getMessage().startsWith("timed out after"), timeout.getMessage());
        assertTrue(timeout.getMessage().contains("waiting for the impossible"), timeout.getMessage());
        assertTrue(timeout.getCause() instanceof IllegalStateException, "last failure is the cause");

        AssertionError lastValue = assertThrows(AssertionError.class,
                () -> Await.untilEquals(Duration.ofMillis(100), "answer", 42, () -> 41));
        assertTrue(lastValue.getMessage().contains("last value: 41"), lastValue.getMessage());

        int[] calls = {0};
        assertEquals("ready", Await.value(Duration.ofSeconds(5), "third call", () -> ++calls[0] < 3 ? null : "ready"));
        assertEquals(3, calls[0]);
    }

    @Test
    void holdsForFailsAtTheFirstPollThatDoesNotHold() {
        int[] calls = {0};
        Await.holdsFor(Duration.ofMillis(200), "the obvious", () -> ++calls[0] > 0);
        assertTrue(calls[0] >= 2, "polled throughout the period, not once");

        AssertionError broken = assertThrows(AssertionError.class,
                () -> Await.holdsFor(Duration.ofSeconds(10), "no surprise", () -> {
                    throw new IllegalStateException("surprise");
                }));
        assertTrue(broken.getMessage().startsWith("no surprise stopped holding after 0."), broken.getMessage());
        assertTrue(broken.getCause() instanceof IllegalStateException, "the failure is the cause");
    }

    @Test
    void failedCommandsExplainThemselves() {
        CommandFailedException e = assertThrows(CommandFailedException.class,
                () -> OsCommand.of(PgInstall.get().pgCtl(), "-D", "/nonexistent/data", "status")
                        .asPostgresUser().run());
        assertNotEquals(0, e.exitCode());
        assertTrue(e.getMessage().contains("pg_ctl"), e.getMessage());
        assertTrue(e.output().contains("/nonexistent/data"), e.output());
    }
}
