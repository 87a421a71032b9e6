package io.pgactive.join;

import io.pgactive.conn.ConnInfo;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;
import java.util.stream.Stream;

/**
 * Copies schema and data from the upstream's exported snapshot with pg_dump and pg_restore
 * (directory format, {@code pgactive.init_node_parallel_jobs} jobs each), leaving out pgactive
 * itself: this node has its own extension, catalog and publication already.
 */
final class DataCopy {

    private final Path binDir;
    private final int jobs;

    DataCopy(Path binDir, int jobs) {
        this.binDir = binDir;
        this.jobs = jobs;
    }

    /**
     * @param dumpProgress told the dump's size on disk so far, twice a second
     * @param restoreTick  called twice a second while pg_restore runs
     */
    void copy(ConnInfo upstream, String snapshot, ConnInfo local, boolean clean,
              LongConsumer dumpProgress, Runnable restoreTick) throws JoinFailure {
        Path work = null;
        try {
            work = Files.createTempDirectory("pgactive-join-");
            Path dump = work.resolve("dump");
            run("pg_dump", List.of(program("pg_dump"), "--dbname=" + upstream.toConnString(),
                    "--snapshot=" + snapshot, "--format=directory", "--jobs=" + jobs, "--compress=0",
                    "--no-publications", "--no-subscriptions", "--exclude-schema=pgactive",
                    "--file=" + dump), work, () -> dumpProgress.accept(sizeOf(dump)));

            Path list = work.resolve("restore.list");
            Path fullList = work.resolve("full.list");
            run("pg_restore -l", List.of(program("pg_restore"), "--list", "--file=" + fullList, dump.toString()),
                    work, () -> { });
            Files.write(list, withoutPgactive(Files.readAllLines(fullList)));

            List<String> restore = new ArrayList<>(List.of(program("pg_restore"), "--dbname=" + local.toConnString(),
                    "--jobs=" + jobs, "--exit-on-error", "--use-list=" + list));
            if (clean) {
                restore.add("--clean");
                restore.add("--if-exists");
            }
            restore.add(dump.toString());
            run("pg_restore", restore, work, restoreTick);
        } catch (IOException e) {
            throw new JoinFailure("could not copy the upstream database", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new JoinFailure("the copy of the upstream database was interrupted");
        } finally {
            deleteQuietly(work);
        }
    }

    /**
     * The CREATE EXTENSION pgactive entry (and its comment) would clash with ours, and the
     * tombstone triggers are created here as the tables are.
     */
    static List<String> withoutPgactive(List<String> tocLines) {
        return tocLines.stream()
                .filter(line -> !line.matches(".* EXTENSION - pgactive( .*)?$")
                        && !line.matches(".* COMMENT - EXTENSION pgactive( .*)?$")
                        && !line.matches(".* TRIGGER \\S+ \\S+ pgactive_tombstone .*"))
                .toList();
    }

    private String program(String name) {
        return binDir.resolve(name).toString();
    }

    private static void run(String what, List<String> command, Path work, Runnable tick)
            throws IOException, InterruptedException, JoinFailure {
        Path output = Files.createTempFile(work, "out", ".log");
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile()).start();
        while (!p.waitFor(500, TimeUnit.MILLISECONDS)) {
            tick.run();
        }
        if (p.exitValue() != 0) {
            List<String> lines = Files.readAllLines(output, StandardCharsets.UTF_8);
            String tail = String.join("\n", lines.subList(Math.max(0, lines.size() - 5), lines.size()));
            throw new JoinFailure(what + " failed with exit code " + p.exitValue() + ": " + tail);
        }
    }

    private static long sizeOf(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
        } catch (IOException | java.io.UncheckedIOException e) {
            return 0; // pg_dump is still creating it
        }
    }

    private static void deleteQuietly(Path dir) {
        if (dir == null) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException ignored) {
            // a leftover temp directory is not worth failing a join for
        }
    }
}
