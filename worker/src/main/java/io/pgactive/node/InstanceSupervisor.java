package io.pgactive.node;

import io.pgactive.conn.LocalServer;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker process's top level: one {@link NodeManager} thread per database that has a node.
 * Rescans the databases when woken (the launcher relays wake-ups from the SQL API) and every
 * {@link #RESCAN_SECONDS} seconds.
 */
public final class InstanceSupervisor {

    private static final Logger log = LoggerFactory.getLogger(InstanceSupervisor.class);
    private static final int RESCAN_SECONDS = 30;

    private final LocalServer server;
    private final Path binDir;
    private final DatabaseScanner scanner;
    private final boolean exitWhenIdle;
    private final Semaphore wakeups = new Semaphore(0);
    private final Map<String, Thread> managerThreads = new ConcurrentHashMap<>();
    private final Map<String, NodeManager> managers = new ConcurrentHashMap<>();
    private volatile boolean stopping;

    /**
     * @param binDir        PostgreSQL's programs (pg_dump, pg_restore) for joins
     * @param onlyDatabases databases to manage; empty means every database of the instance
     * @param exitWhenIdle  return from {@link #run()} when no database has a node (launcher mode:
     *                      the launcher starts us again when a node is created)
     */
    public InstanceSupervisor(LocalServer server, Path binDir, List<String> onlyDatabases, boolean exitWhenIdle) {
        this.server = server;
        this.binDir = binDir;
        this.scanner = new DatabaseScanner(server, onlyDatabases);
        this.exitWhenIdle = exitWhenIdle;
    }

    /** The databases whose nodes this worker runs now. */
    public java.util.Set<String> managedDatabases() {
        return java.util.Set.copyOf(managers.keySet());
    }

    public void wake() {
        wakeups.release();
    }

    /** Runs until stopped, or until idle when {@code exitWhenIdle}. */
    public void run() throws InterruptedException {
        long backoff = 1000;
        while (!stopping) {
            forgetFinishedManagers();
            try {
                for (String db : scanner.activeDatabases(managers.keySet())) {
                    startManager(db);
                }
                backoff = 1000;
            } catch (SQLException e) {
                log.warn("could not scan the databases of the {}: {}; retrying in {} ms",
                        server, e.getMessage(), backoff);
                wakeups.tryAcquire(backoff, TimeUnit.MILLISECONDS);
                backoff = Math.min(backoff * 2, 30_000);
                continue;
            }
            if (exitWhenIdle && managers.isEmpty()) {
                log.info("no database of this instance has a pgactive node; worker exits until needed");
                return;
            }
            wakeups.tryAcquire(RESCAN_SECONDS, TimeUnit.SECONDS);
            wakeups.drainPermits();
        }
    }

    /** Stops every node manager and waits for them briefly. */
    public void stop() {
        stopping = true;
        wake();
        managers.values().forEach(NodeManager::stop);
        for (Thread t : managerThreads.values()) {
            try {
                t.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private void startManager(String db) {
        NodeManager manager = new NodeManager(server, binDir, db);
        Thread thread = new Thread(manager, "node " + db);
        thread.setDaemon(true);
        managers.put(db, manager);
        managerThreads.put(db, thread);
        log.info("managing pgactive node in database \"{}\"", db);
        thread.start();
    }

    private void forgetFinishedManagers() {
        managerThreads.entrySet().removeIf(e -> {
            if (e.getValue().isAlive()) {
                return false;
            }
            managers.remove(e.getKey());
            return true;
        });
    }
}
