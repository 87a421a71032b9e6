package io.pgactive.join;

import io.pgactive.conn.ConnInfo;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
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
 * the disk twice; then indexes and constraints are built from the schema dump. Both the data
 * and the indexes use {@code pgactive.init_node_parallel_jobs} jobs: the data as that many
 * dump-to-restore pipes, each with its share of the tables (see {@link #spread}). Every dump
 * reads the same snapshot. A database whose schema was built beforehand (data_only_node_init)
 * gets the rows only.
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
     * A table of the upstream, as a pg_dump pattern that matches it exactly, its size, and
     * whether its rows are copied (its definition always is).
     */
    record Table(String pattern, long bytes, boolean rowsCopied) {
    }

    /**
     * @param tables      the upstream's tables as of the snapshot
     * @param transferred told the number of data bytes streamed so far, twice a second
     * @param indexTick   called twice a second while indexes and constraints are built
     */
    void copy(ConnInfo upstream, String snapshot, List<ConnectionServer> upstreamServers, List<Table> tables,
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
                long bytes = streamData(upstreamDb, snapshot, tables, localDb, work, transferred, true);
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
            long bytes = streamData(upstreamDb, snapshot, tables, localDb, work, transferred, false);
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

    /**
     * {@code pg_dump --data-only | pg_restore} in as many pipes as jobs, each with its share of
     * the tables; the first takes whatever the others do not (sequences, tables too small to
     * count), so that nothing depends on the list being complete. Returns the bytes streamed.
     */
    private long streamData(String upstreamDb, String snapshot, List<Table> tables, String localDb, Path work,
                            LongConsumer transferred, boolean asReplica) throws IOException, InterruptedException, JoinFailure {
        List<List<String>> shares = spread(tables, jobs);
        List<String> excludedFromFirst = new ArrayList<>();
        tables.stream().filter(t -> !t.rowsCopied()).forEach(t -> excludedFromFirst.add(t.pattern()));
        shares.subList(1, shares.size()).forEach(excludedFromFirst::addAll);
        AtomicLong bytes = new AtomicLong();
        List<DataPipe> pipes = new ArrayList<>();
        try {
            for (int i = 0; i < shares.size(); i++) {
                ProcessBuilder dump = new ProcessBuilder(program("pg_dump"), upstreamDb, "--snapshot=" + snapshot,
                        "--data-only", "--format=custom", "--compress=0", "--exclude-schema=pgactive");
                if (i == 0) {
                    excludedFromFirst.forEach(table -> dump.command().add("--exclude-table-data=" + table));
                } else {
                    shares.get(i).forEach(table -> dump.command().add("--table=" + table));
                }
                ProcessBuilder restore = new ProcessBuilder(program("pg_restore"), localDb, "--exit-on-error", "--data-only");
                if (asReplica) {
                    restore.environment().put("PGOPTIONS", "-c session_replication_role=replica");
                }
                pipes.add(DataPipe.start(i, dump, restore, work, bytes));
            }
            while (!pipes.stream().allMatch(DataPipe::finished)) {
                DataPipe failed = pipes.stream().filter(DataPipe::failed).findFirst().orElse(null);
                if (failed != null) {
                    failed.throwFailure(); // the others are stopped below
                }
                // A pipe may finish between the check above and this look: then there is none to wait for.
                Optional<DataPipe> running = pipes.stream().filter(p -> !p.finished()).findFirst();
                if (running.isPresent()) {
                    running.get().waitFor(500);
                }
                transferred.accept(bytes.get());
            }
            for (DataPipe pipe : pipes) {
                pipe.throwFailure();
            }
        } finally {
            pipes.forEach(DataPipe::destroy);
        }
        transferred.accept(bytes.get());
        return bytes.get();
    }

    /**
     * The tables whose rows pipes 1.. copy by name, one list per pipe from pipe 0, which copies
     * the rest: largest first, each onto the pipe with the fewest bytes so far, as a list
     * scheduler does; pipe 0's list is what it will get, not a filter. Pipes left without
     * tables are not started.
     */
    static List<List<String>> spread(List<Table> tables, int pipes) {
        List<List<String>> shares = new ArrayList<>();
        long[] load = new long[Math.max(1, pipes)];
        for (int i = 0; i < load.length; i++) {
            shares.add(new ArrayList<>());
        }
        tables.stream().filter(Table::rowsCopied)
                .sorted(Comparator.comparingLong(Table::bytes).reversed().thenComparing(Table::pattern))
                .forEach(table -> {
                    int least = 0;
                    for (int i = 1; i < load.length; i++) {
                        if (load[i] < load[least]) {
                            least = i;
                        }
                    }
                    load[least] += Math.max(1, table.bytes());
                    shares.get(least).add(table.pattern());
                });
        List<List<String>> started = new ArrayList<>(List.of(shares.get(0)));
        shares.subList(1, shares.size()).stream().filter(share -> !share.isEmpty()).forEach(started::add);
        return started;
    }

    /** One {@code pg_dump | pg_restore}, pumped here so that its bytes can be counted. */
    private static final class DataPipe {
        private final int index;
        private final Process dump;
        private final Process restore;
        private final Path dumpLog;
        private final Path restoreLog;
        private final Thread pump;

        private DataPipe(int index, Process dump, Process restore, Path dumpLog, Path restoreLog, AtomicLong bytes) {
            this.index = index;
            this.dump = dump;
            this.restore = restore;
            this.dumpLog = dumpLog;
            this.restoreLog = restoreLog;
            this.pump = new Thread(() -> pump(dump.getInputStream(), restore.getOutputStream(), bytes),
                    "pgactive-join-pump-" + index);
            pump.setDaemon(true);
            pump.start();
        }

        static DataPipe start(int index, ProcessBuilder dump, ProcessBuilder restore, Path work, AtomicLong bytes)
                throws IOException {
            Path dumpLog = Files.createTempFile(work, "dump", ".log");
            Path restoreLog = Files.createTempFile(work, "restore", ".log");
            Process dumping = dump.redirectError(dumpLog.toFile()).start();
            Process restoring;
            try {
                restoring = restore.redirectErrorStream(true).redirectOutput(restoreLog.toFile()).start();
            } catch (IOException e) {
                dumping.destroy();
                throw e;
            }
            return new DataPipe(index, dumping, restoring, dumpLog, restoreLog, bytes);
        }

        boolean finished() {
            return !restore.isAlive() && !dump.isAlive();
        }

        boolean failed() {
            return (!restore.isAlive() && restore.exitValue() != 0) || (!dump.isAlive() && dump.exitValue() != 0);
        }

        void waitFor(long millis) throws InterruptedException {
            if (!restore.waitFor(millis, TimeUnit.MILLISECONDS)) {
                return;
            }
            dump.waitFor(millis, TimeUnit.MILLISECONDS);
        }

        void throwFailure() throws IOException, InterruptedException, JoinFailure {
            if (!failed()) {
                return;
            }
            restore.waitFor(5, TimeUnit.SECONDS);
            dump.waitFor(5, TimeUnit.SECONDS);
            String which = index == 0 ? " (data)" : " (data, pipe " + (index + 1) + ")";
            // A failed restore makes the dump fail too (broken pipe): its own message is the useful one.
            if (!restore.isAlive()) {
                failIfExited("pg_restore" + which, restore, restoreLog);
            }
            if (!dump.isAlive()) {
                failIfExited("pg_dump" + which, dump, dumpLog);
            }
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

        void destroy() {
            dump.destroy();
            restore.destroy();
            try {
                pump.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
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
                        && !line.matches(".* TRIGGER .* pgactive_(tombstone|full_values|truncate_tombstone|prior_version|column_changes|column_versions|row_versions|row_inserted) .*")
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
