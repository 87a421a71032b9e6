package io.pgactive.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgactive.harness.Await;
import io.pgactive.harness.ClusterExtension;
import io.pgactive.harness.PgCluster;
import io.pgactive.harness.Processes;
import io.pgactive.harness.SqlFailedException;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The launcher starts, restarts and stops the JVM worker as the server's life demands. */
class WorkerLifecycleTest {

    private static final Duration TEN_SECONDS = Duration.ofSeconds(10);

    @RegisterExtension
    final ClusterExtension clusters = new ClusterExtension();

    @Test
    void workerProbesAtServerStartAndExitsWhenNoDatabaseHasANode() {
        PgCluster node = clusters.newCluster("idle");
        Await.until(Duration.ofSeconds(30), "the worker to report that it has nothing to do",
                () -> node.serverLogText().contains("no database of this instance has a pgactive node"));
        node.execute("postgres", "CREATE EXTENSION pgactive");
        Await.until(TEN_SECONDS, "the idle worker to exit", () -> Pgactive.workerPid(node, "postgres") == null);
    }

    @Test
    void createGroupStartsTheWorkerWhichSurvivesCrashesAndStopsWithTheServer() throws Exception {
        PgCluster node = clusters.newCluster("life");
        Pgactive.createDatabaseWithExtension(node, "app");
        Pgactive.createGroup(node, "app", "node1");
        Pgactive.waitReady(node, "app");
        long first = Pgactive.awaitWorkerPid(node, "app");
        String log = node.serverLogText();
        assertTrue(log.contains("pgactive worker: [main] INFO WorkerMain - pgactive worker"), "worker lines reach the server log");
        assertTrue(log.contains("managing pgactive node in database \"app\""), log);

        // kill -9 of the JVM: the launcher starts a new one within 10 s.
        Processes.kill9(first);
        long second = Await.value(TEN_SECONDS, "a new worker after kill -9",
                () -> {
                    Long pid = Pgactive.workerPid(node, "app");
                    return pid != null && pid != first ? pid : null;
                });
        assertNotEquals(first, second);

        // pg_ctl stop stops the worker with the server.
        node.stop();
        Await.until(TEN_SECONDS, "the worker to stop with the server", () -> !Processes.isAlive(second));

        // Server start brings the worker back for the existing node, without any SQL call.
        int logLength = node.serverLogText().length();
        node.start();
        Await.until(Duration.ofSeconds(30), "the worker to manage the node after a restart",
                () -> node.serverLogText().substring(logLength).contains("managing pgactive node in database \"app\""));
        long third = Pgactive.awaitWorkerPid(node, "app");

        // kill -9 of the postmaster: the worker exits by itself.
        node.killPostmaster();
        Await.until(TEN_SECONDS, "the worker to exit after postmaster death", () -> !Processes.isAlive(third));
    }

    @Test
    void aDroppedNodeDatabaseIsForgottenAndSaidSoOnce() {
        PgCluster node = clusters.newCluster("dropper");
        for (String db : new String[] {"kept", "gone"}) {
            Pgactive.createDatabaseWithExtension(node, db);
            Pgactive.createGroup(node, db, db);
            Pgactive.waitReady(node, db);
        }
        node.execute("postgres", "DROP DATABASE gone WITH (FORCE)");
        String dropped = "database \"gone\" was dropped; no longer managing it";
        Await.until(Duration.ofSeconds(30), "the worker to notice the dropped database",
                () -> node.serverLogText().contains(dropped));
        int after = node.serverLogText().indexOf(dropped) + dropped.length();
        Await.holdsFor(Duration.ofSeconds(3), "no more attempts on the dropped database",
                () -> !node.serverLogText().substring(after).contains("\"gone\""));
        node.execute("kept", "SELECT pgactive.pgactive_wait_for_node_ready(timeout := 10)");
    }

    @Test
    void jvmOptionsReachTheWorker() throws Exception {
        PgCluster node = clusters.builder("opts").setting("pgactive.jvm_options", "-Xmx96m -Dpgactive.test=yes").start();
        Pgactive.createDatabaseWithExtension(node, "app");
        Pgactive.createGroup(node, "app", "node1");
        Pgactive.waitReady(node, "app");
        String cmdline = Pgactive.commandLine(Pgactive.awaitWorkerPid(node, "app"));
        assertTrue(cmdline.contains("-Xmx96m -Dpgactive.test=yes -jar "), cmdline);
        assertTrue(cmdline.contains("--port " + node.port()), cmdline);
    }

    @Test
    void missingJavaGivesOneClearLineAndAClearErrorNotALoop() {
        PgCluster node = clusters.builder("nojava").setting("pgactive.java_path", "/nonexistent/java").start();
        String failure = "could not execute java binary \"/nonexistent/java\"";
        Await.until(TEN_SECONDS, "the launcher to report the missing java",
                () -> node.serverLogText().contains(failure));

        Pgactive.createDatabaseWithExtension(node, "app");
        Pgactive.createGroup(node, "app", "node1");
        SqlFailedException error = assertThrows(SqlFailedException.class,
                () -> node.execute("app", "SELECT pgactive.pgactive_wait_for_node_ready(timeout := 30)"));
        assertTrue(error.getMessage().contains(failure), error.getMessage());
        // wait_for_node_ready watched the worker stay down for 2 s; a restart loop (1 s back-off)
        // would have logged the failure again in that time. One line at start, one for the wake.
        assertTrue(occurrences(node.serverLogText(), "LOG:  pgactive worker: " + failure) <= 2, node.serverLogText());

        node.execute("postgres", "ALTER SYSTEM SET pgactive.java_path = '"
                + System.getProperty("java.home") + "/bin/java'");
        node.reload();
        Pgactive.waitReady(node, "app");
        assertEquals("r", Pgactive.nodeStatus(node, "app"));
    }

    private static int occurrences(String text, String needle) {
        int count = 0;
        for (int i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
            count++;
        }
        return count;
    }
}
