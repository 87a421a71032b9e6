package io.pgactive.harness;

import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Owns the clusters a test class creates and cleans up after them.
 *
 * <pre>{@code
 * @RegisterExtension static ClusterExtension clusters = new ClusterExtension(); // or non-static
 *
 * @Test void replicates() {
 *     PgCluster a = clusters.newCluster("node1");                                  // built + started
 *     PgCluster b = clusters.builder("node2").setting("work_mem", "8MB").start();
 * }
 * }</pre>
 *
 * <p>Clusters created during a test (including its {@code @BeforeEach}/{@code @AfterEach}) are closed
 * after that test; clusters created in {@code @BeforeAll} with a static extension are closed after
 * the class. On success the cluster directories are deleted. On failure they are kept, each server
 * log is copied to {@code target/failed-server-logs/<TestClass>/<testMethod>/<cluster>.log}
 * (class-level clusters also as {@code .../afterAll/<cluster>.log} at the end of the class) and its
 * last {@value #TAIL_LINES} lines are printed, so a CI report explains itself.
 */
public final class ClusterExtension implements BeforeAllCallback, BeforeEachCallback, AfterEachCallback,
        AfterAllCallback {

    static final int TAIL_LINES = 50;
    /** Relative to the working directory, which surefire sets to the tests module. */
    static final Path FAILED_LOGS_DIR = Path.of("target", "failed-server-logs");

    private final List<PgCluster> classClusters = Collections.synchronizedList(new ArrayList<>());
    private final List<PgCluster> testClusters = Collections.synchronizedList(new ArrayList<>());
    /** True from beforeEach to afterEach: clusters created then belong to the current test. */
    private volatile boolean inTest;
    /** beforeAll only runs for static registration; otherwise nothing calls afterAll either. */
    private volatile boolean classLevel;
    private volatile boolean anyTestFailed;

    /** A builder whose {@code build()}/{@code start()} hands the cluster to this extension. */
    public PgCluster.Builder builder(String name) {
        return PgCluster.builder(name).onBuild(this::manage);
    }

    /** A started cluster with the default options (pgactive preloaded). */
    public PgCluster newCluster(String name) {
        return builder(name).start();
    }

    /** Takes ownership of a cluster built elsewhere. */
    public PgCluster manage(PgCluster cluster) {
        (inTest ? testClusters : classClusters).add(cluster);
        return cluster;
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        classLevel = true;
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        inTest = true;
    }

    @Override
    public void afterEach(ExtensionContext context) {
        inTest = false;
        boolean failed = context.getExecutionException().isPresent();
        Path logDir = FAILED_LOGS_DIR.resolve(className(context)).resolve(testName(context));
        if (failed) {
            anyTestFailed = true;
            // Class-level clusters keep running; save what their logs say at the moment of failure.
            for (PgCluster cluster : snapshot(classClusters)) {
                saveLog(cluster, logDir);
            }
        }
        List<PgCluster> done = drain(testClusters);
        if (!classLevel) {
            done.addAll(drain(classClusters)); // created outside a test, and no afterAll will come
        }
        finish(done, failed, logDir);
    }

    @Override
    public void afterAll(ExtensionContext context) {
        boolean failed = anyTestFailed || context.getExecutionException().isPresent();
        finish(drain(classClusters), failed, FAILED_LOGS_DIR.resolve(className(context)).resolve("afterAll"));
    }

    /**
     * Closes the clusters (last created first), then keeps or deletes their files. Every cluster is
     * handled even if one fails; the first problem is rethrown at the end.
     */
    private static void finish(List<PgCluster> clusters, boolean failed, Path logDir) {
        RuntimeException problem = null;
        Collections.reverse(clusters);
        for (PgCluster cluster : clusters) {
            try {
                cluster.close();
            } catch (RuntimeException e) {
                problem = add(problem, e);
            }
            try {
                if (failed) {
                    saveLog(cluster, logDir);
                    System.out.println("[pgactive-harness] kept " + cluster.directory() + " for inspection");
                } else {
                    cluster.deleteFiles();
                }
            } catch (RuntimeException e) {
                problem = add(problem, e);
            }
        }
        if (problem != null) {
            throw problem;
        }
    }

    private static void saveLog(PgCluster cluster, Path logDir) {
        String fileName = cluster.directory().getFileName() + ".log";
        Path target = logDir.resolve(fileName);
        try {
            Files.createDirectories(logDir);
            if (Files.exists(cluster.logFile())) {
                Files.copy(cluster.logFile(), target, StandardCopyOption.REPLACE_EXISTING);
            } else {
                Files.writeString(target, "(no server log: the server was never started)\n");
            }
        } catch (IOException e) {
            System.out.println("[pgactive-harness] could not save the log of " + cluster + ": " + e);
        }
        System.out.println("[pgactive-harness] ---- last " + TAIL_LINES + " lines of " + cluster.name()
                + "'s server log (full log: " + target.toAbsolutePath() + ") ----");
        for (String line : cluster.serverLogTail(TAIL_LINES)) {
            System.out.println("[" + cluster.name() + "] " + line);
        }
    }

    private static List<PgCluster> drain(List<PgCluster> clusters) {
        synchronized (clusters) {
            List<PgCluster> copy = new ArrayList<>(clusters);
            clusters.clear();
            return copy;
        }
    }

    private static List<PgCluster> snapshot(List<PgCluster> clusters) {
        synchronized (clusters) {
            return new ArrayList<>(clusters);
        }
    }

    private static RuntimeException add(RuntimeException first, RuntimeException next) {
        if (first == null) {
            return next;
        }
        first.addSuppressed(next);
        return first;
    }

    /** Class name without package; nested classes keep their outer name (Outer$Inner). */
    private static String className(ExtensionContext context) {
        Class<?> type = context.getRequiredTestClass();
        String packageName = type.getPackageName();
        return packageName.isEmpty() ? type.getName() : type.getName().substring(packageName.length() + 1);
    }

    /** Method name, plus the display name for parameterized/repeated invocations so they don't collide. */
    private static String testName(ExtensionContext context) {
        String method = context.getTestMethod().map(Method::getName).orElse("unknown");
        String display = context.getDisplayName();
        if (display.equals(method + "()") || display.equals(method)) {
            return method;
        }
        String suffix = display.replaceAll("[^A-Za-z0-9._-]+", "_");
        return method + "-" + (suffix.length() > 60 ? suffix.substring(0, 60) : suffix);
    }
}
