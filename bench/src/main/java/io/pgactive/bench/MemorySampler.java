package io.pgactive.bench;

import io.pgactive.harness.OsCommand;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.function.Supplier;

/**
 * Peak memory of the process that applies changes, sampled every {@value #INTERVAL_MILLIS} ms
 * while open: resident set size from /proc for any process, and for a JVM also the used heap,
 * from {@code jstat} (which reads the JVM's own performance counters, so the worker needs no
 * extra options or agents). A client that applies through server backends (pgactive's JVM) is
 * also measured together with them: the applying side's whole footprint, against a native apply
 * worker that is a backend itself.
 */
final class MemorySampler implements Backlog.Observer {

    private static final long INTERVAL_MILLIS = 100;
    /** jstat is a JVM of its own: sampled less often, so that it does not weigh on the run. */
    private static final long HEAP_INTERVAL_MILLIS = 250;

    /** The helpers' pids are asked again at most this often while some are missing. */
    private static final long HELPERS_INTERVAL_MILLIS = 1000;

    /**
     * Peaks in MiB: of the process alone, and of the process with its helper backends (the same
     * when it has none); heap is null for a process that is not a JVM or could not be read.
     */
    record Peak(double rssMib, double withHelpersMib, Double heapMib) {
    }

    private final Supplier<OptionalLong> pid;
    private final Supplier<List<Long>> helpers;
    private final boolean jvm;
    private final Thread thread;
    private volatile boolean stopping;
    private volatile long peakRssKib;
    private volatile long peakWithHelpersKib;
    private volatile long peakHeapKib = -1;
    private Process jstat;
    private long jstatPid;

    MemorySampler(ReplicationPair pair) {
        this(pair::applyProcess, pair::applyBackends, pair instanceof PgactivePair);
    }

    MemorySampler(Supplier<OptionalLong> pid, Supplier<List<Long>> helpers, boolean jvm) {
        this.pid = pid;
        this.helpers = helpers;
        this.jvm = jvm;
        this.thread = new Thread(this::sample, "memory-sampler");
        thread.setDaemon(true);
        thread.start();
    }

    private void sample() {
        OptionalLong p = OptionalLong.empty();
        List<Long> backends = List.of();
        long helpersAskedAt = 0;
        while (!stopping) {
            // Asking the server costs a connection: only until the process is found, or after it went away.
            if (p.isEmpty() || !alive(p.getAsLong())) {
                p = pid.get();
            }
            if ((backends.isEmpty() || !backends.stream().allMatch(MemorySampler::alive))
                    && System.nanoTime() - helpersAskedAt > HELPERS_INTERVAL_MILLIS * 1_000_000) {
                backends = helpers.get();
                helpersAskedAt = System.nanoTime();
            }
            if (p.isPresent()) {
                long rss = rssKib(p.getAsLong());
                peakRssKib = Math.max(peakRssKib, rss);
                peakWithHelpersKib = Math.max(peakWithHelpersKib,
                        rss + backends.stream().mapToLong(MemorySampler::rssKib).sum());
                if (jvm && jstatPid != p.getAsLong()) {
                    startJstat(p.getAsLong());
                }
            }
            try {
                Thread.sleep(INTERVAL_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private static boolean alive(long pid) {
        return Files.exists(Path.of("/proc", Long.toString(pid)));
    }

    private static long rssKib(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException | RuntimeException e) {
            // the process exited between two samples
        }
        return 0;
    }

    /** {@code jstat -gc <pid> <interval>} runs as the JVM's own user, printing a line per interval. */
    private void startJstat(long target) {
        stopJstat();
        jstatPid = target;
        Path bin = Path.of(System.getProperty("java.home"), "bin", "jstat");
        List<String> cmd = new ArrayList<>();
        if (OsCommand.runningAsRoot()) {
            cmd.addAll(List.of("runuser", "-u", OsCommand.POSTGRES_USER, "--"));
        }
        cmd.addAll(List.of(bin.toString(), "-gc", Long.toString(target), Long.toString(HEAP_INTERVAL_MILLIS)));
        try {
            jstat = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            return;
        }
        Process running = jstat;
        Thread reader = new Thread(() -> readHeap(running), "jstat-reader");
        reader.setDaemon(true);
        reader.start();
    }

    /** Used heap = survivor + eden + old generation, in KiB, from jstat's columns by name. */
    private void readHeap(Process process) {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                StandardCharsets.UTF_8))) {
            List<String> header = null;
            for (String line; (line = in.readLine()) != null; ) {
                List<String> fields = List.of(line.trim().split("\\s+"));
                if (fields.contains("EU")) {
                    header = fields;
                } else if (header != null && fields.size() == header.size()) {
                    double used = 0;
                    for (String column : List.of("S0U", "S1U", "EU", "OU")) {
                        used += Double.parseDouble(fields.get(header.indexOf(column)));
                    }
                    peakHeapKib = Math.max(peakHeapKib, (long) used);
                }
            }
        } catch (IOException | RuntimeException e) {
            // jstat ended with its JVM; the peak so far stands
        }
    }

    private void stopJstat() {
        if (jstat != null) {
            jstat.destroy();
            jstat = null;
        }
    }

    Peak peak() {
        return new Peak(peakRssKib / 1024.0, peakWithHelpersKib / 1024.0, peakHeapKib < 0 ? null : peakHeapKib / 1024.0);
    }

    @Override
    public void close() {
        stopping = true;
        thread.interrupt();
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        stopJstat();
    }
}
