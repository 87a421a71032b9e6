package io.pgactive.cli;

import java.util.TimeZone;
import io.pgactive.conn.LocalServer;
import io.pgactive.metrics.MetricsServer;
import io.pgactive.node.InstanceSupervisor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Entry point of the pgactive JVM worker. */
public final class WorkerMain {

    /** Tells the launcher "nothing to do": it starts us again when a node is created. */
    static final int EXIT_IDLE = 0;
    static final int EXIT_USAGE = 2;

    private WorkerMain() {
    }

    public static void main(String[] args) throws InterruptedException {
        WorkerOptions options;
        try {
            options = WorkerOptions.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.exit(EXIT_USAGE);
            return;
        }
        // pgjdbc gives every session the JVM's time zone. Walsenders write timestamptz values in
        // theirs, and the triggers that name rows in the stream write keys in UTC
        // (launcher/pgactive_causality.c): the two must agree for a message to find its row.
        TimeZone.setDefault(TimeZone.getTimeZone("UTC"));
        Logger log = LoggerFactory.getLogger(WorkerMain.class);
        LocalServer server = options.localServer();
        InstanceSupervisor supervisor = new InstanceSupervisor(
                server, java.nio.file.Path.of(options.binDir()), options.onlyDatabases(), options.underLauncher());
        if (options.underLauncher()) {
            new LauncherPipe(supervisor::wake, () -> {
                supervisor.stop();
                Runtime.getRuntime().halt(EXIT_IDLE);
            }).start();
        }
        Runtime.getRuntime().addShutdownHook(new Thread(supervisor::stop, "shutdown"));
        log.info("pgactive worker {} started (pid {}) for {}", WorkerMain.class.getPackage().getImplementationVersion(),
                ProcessHandle.current().pid(), server);
        if (options.metrics() != null) {
            MetricsServer.start(options.metrics(), server, supervisor::managedDatabases);
        }
        supervisor.run();
        System.exit(EXIT_IDLE);
    }
}
