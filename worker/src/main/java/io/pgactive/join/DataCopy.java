package io.pgactive.join;

import io.pgactive.conn.ConnInfo;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Copies schema and data from the upstream's exported snapshot with pg_dump and pg_restore,
 * leaving out pgactive itself: this node has its own extension, catalog and publication already.
 *
 * <p>The copy runs in pg_dump's three sections, each the fastest way for its kind of work: the
 * tables are created from a schema-only dump; the data streams from pg_dump straight into
 * pg_restore, so dumping and loading overlap and nothing of the size of the database touches
 * the disk twice; then indexes and constraints are built from the schema dump with
 * {@code pgactive.init_node_parallel_jobs} jobs. All three dumps read the same snapshot. A
 * database whose schema was built beforehand (data_only_node_init) gets the rows only.
 */
final class DataCopy {

    private static final Logger log = LoggerFactory.getLogger(DataCopy.class);
    private static final int PUMP_BUFFER = 256 * 1024;

    private final Path binDir;
    private final int jobs;

    DataCopy(Path binDir, int jobs) {
        this.binDir = binDir;
        this.jobs = jobs;
    }

    /** What becomes of the joining database's schema. */
    enum Schema {
        /** Made from the upstream's, into an empty database. */
        COPIED,
        /** Made from the upstream's, replacing objects of the same name (bypass_user_tables_check). */
        COPIED_OVER,
        /** Kept as it is, built beforehand (data_only_node_init): only rows are copied. */
        KEPT
    }

    /**
     * @param withoutRows pg_dump patterns of the tables whose rows stay behind (not in the joiner's sets)
     * @param transferred told the number of data bytes streamed so far, twice a second
     * @param indexTick   called twice a second while indexes and constraints are built
     */
    void copy(ConnInfo upstream, String snapshot, List<ConnectionServer> upstreamServers, List<String> withoutRows,
              ConnInfo local, Schema schemaMode, LongConsumer transferred, Runnable indexTick) throws JoinFailure {
        Path work = null;
        try {
            long schemaStart = System.nanoTime();
            work = Files.createTempDirectory("pgactive-join-");
            String upstreamDb = upstream.libpqProgramArgument(work);
            String localDb = local.libpqProgramArgument(work);
            if (schemaMode == Schema.KEPT) {
                // The tables' triggers and foreign keys exist already: rows arrive in any order, and
                // as replicated rows do (not pg_restore's --disable-triggers, whose ENABLE TRIGGER
                // ALL afterwards would turn pgactive's ALWAYS triggers into ordinary ones).
                long bytes = streamData(upstreamDb, snapshot, withoutRows, localDb, work, transferred, true);
                log.info("copied {} MB of data into the existing tables in {} ms", bytes >> 20,
                        (System.nanoTime() - schemaStart) / 1_000_000);
                return;
            }
            Path schema = work.resolve("schema.dump");
            run("pg_dump", new ProcessBuilder(program("pg_dump"), upstreamDb, "--snapshot=" + snapshot,
                    "--schema-only", "--format=custom", "--file=" + schema, "--no-publications",
                    "--no-subscriptions", "--exclude-schema=pgactive"), work, () -> { });
            Path fullList = work.resolve("full.list");
            run("pg_restore -l", new ProcessBuilder(program("pg_restore"), "--list", "--file=" + fullList,
                    schema.toString()), work, () -> { });
            Path list = work.resolve("restore.list");
            Files.write(list, restoreList(Files.readAllLines(fullList), upstreamServers));

            ProcessBuilder preData = restore(localDb, list, "pre-data");
            if (schemaMode == Schema.COPIED_OVER) {
                preData.command().add("--clean");
                preData.command().add("--if-exists");
            }
            preData.command().add(schema.toString());
            run("pg_restore (tables)", preData, work, () -> { });
            long dataStart = System.nanoTime();
            long bytes = streamData(upstreamDb, snapshot, withoutRows, localDb, work, transferred, false);
            long indexStart = System.nanoTime();
            ProcessBuilder postData = restore(localDb, list, "post-data");
            postData.command().add("--jobs=" + jobs);
            postData.command().add(schema.toString());
            run("pg_restore (indexes and constraints)", postData, work, indexTick);
            log.info("created the tables in {} ms, copied {} MB of data in {} ms, then built indexes and constraints"
                    + " in {} ms", (dataStart - schemaStart) / 1_000_000, bytes >> 20,
                    (indexStart - dataStart) / 1_000_000, (System.nanoTime() - indexStart) / 1_000_000);
        } catch (IOException e) {
            throw new JoinFailure("could not copy the upstream database", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new JoinFailure("the copy of the upstream database was interrupted");
        } finally {
            deleteQuietly(work);
        }
    }

    private ProcessBuilder restore(String localDb, Path list, String section) {
        return new ProcessBuilder(program("pg_restore"), localDb, "--exit-on-error", "--section=" + section,
                "--use-list=" + list);
    }

    /** {@code pg_dump --data-only | pg_restore}, the pipe pumped here so that its bytes can be counted. */
    private long streamData(String upstreamDb, String snapshot, List<String> withoutRows, String localDb, Path work,
                            LongConsumer transferred,
                            boolean asReplica) throws IOException, InterruptedException, JoinFailure {
        Path dumpLog = Files.createTempFile(work, "dump", ".log");
        Path restoreLog = Files.createTempFile(work, "restore", ".log");
        ProcessBuilder dumpCommand = new ProcessBuilder(program("pg_dump"), upstreamDb, "--snapshot=" + snapshot,
                "--data-only", "--format=custom", "--compress=0", "--exclude-schema=pgactive");
        withoutRows.forEach(table -> dumpCommand.command().add("--exclude-table-data=" + table));
        Process dump = dumpCommand.redirectError(dumpLog.toFile()).start();
        ProcessBuilder restoreCommand = new ProcessBuilder(program("pg_restore"), localDb, "--exit-on-error", "--data-only");
        if (asReplica) {
            restoreCommand.environment().put("PGOPTIONS", "-c session_replication_role=replica");
        }
        Process restore = restoreCommand.redirectErrorStream(true).redirectOutput(restoreLog.toFile()).start();
        AtomicLong bytes = new AtomicLong();
        Thread pump = new Thread(() -> pump(dump.getInputStream(), restore.getOutputStream(), bytes),
                "pgactive-join-pump");
        pump.setDaemon(true);
        pump.start();
        try {
            while (!restore.waitFor(500, TimeUnit.MILLISECONDS)) {
                transferred.accept(bytes.get());
            }
            dump.waitFor();
            pump.join();
        } finally {
            dump.destroy();
            restore.destroy();
        }
        // A failed restore makes the dump fail too (broken pipe): its own message is the useful one.
        failIfExited("pg_restore (data)", restore, restoreLog);
        failIfExited("pg_dump (data)", dump, dumpLog);
        transferred.accept(bytes.get());
        return bytes.get();
    }

    private static void pump(InputStream from, OutputStream to, AtomicLong count) {
        byte[] buffer = new byte[PUMP_BUFFER];
        try (from; to) {
            for (int n; (n = from.read(buffer)) > 0; ) {
                to.write(buffer, 0, n);
                count.addAndGet(n);
            }
        } catch (IOException e) {
            // one side died; its exit code and log say why
        }
    }

    /**
     * A foreign server of {@code pgactive_fdw} on the upstream. It and its user mappings say how
     * the upstream reaches the group, with its credentials; the joining node has its own (its
     * DSNs name them), so they stay out of the copy.
     */
    record ConnectionServer(long oid, String name, String owner) {

        /** pg_foreign_server's fixed OID, which pg_restore lists with each server's own. */
        private static final String SERVER_CATALOG = "1417";

        boolean listedIn(String tocLine) {
            // Names are listed unquoted: compare whole tags, not patterns.
            return tocLine.contains("; " + SERVER_CATALOG + " " + oid + " SERVER - ")
                    || (tocLine.contains(" USER MAPPING - USER MAPPING ")
                        && tocLine.endsWith(" SERVER " + name + " " + owner));
        }
    }

    /**
     * What to restore: not the CREATE EXTENSION pgactive entry (and its comment), which would
     * clash with ours; not pgactive's triggers on user tables, created here as the tables are;
     * not the upstream's connection servers.
     */
    static List<String> restoreList(List<String> tocLines, List<ConnectionServer> upstreamServers) {
        return tocLines.stream()
                .filter(line -> !line.matches(".* EXTENSION - pgactive( .*)?$")
                        && !line.matches(".* COMMENT - EXTENSION pgactive( .*)?$")
                        // the tag is "<table> <trigger>", unquoted: a table name may hold spaces
                        && !line.matches(".* TRIGGER .* pgactive_(tombstone|full_values|truncate_tombstone) .*")
                        && upstreamServers.stream().noneMatch(server -> server.listedIn(line)))
                .toList();
    }

    private String program(String name) {
        return binDir.resolve(name).toString();
    }

    private static void run(String what, ProcessBuilder command, Path work, Runnable tick)
            throws IOException, InterruptedException, JoinFailure {
        Path output = Files.createTempFile(work, "out", ".log");
        Process p = command.redirectErrorStream(true).redirectOutput(output.toFile()).start();
        while (!p.waitFor(500, TimeUnit.MILLISECONDS)) {
            tick.run();
        }
        failIfExited(what, p, output);
    }

    private static void failIfExited(String what, Process p, Path log) throws IOException, JoinFailure {
        if (p.exitValue() != 0) {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            String tail = String.join("\n", lines.subList(Math.max(0, lines.size() - 5), lines.size()));
            throw new JoinFailure(what + " failed with exit code " + p.exitValue() + ": " + tail);
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
