package io.pgactive.bench;

import io.pgactive.harness.OsCommand;
import io.pgactive.harness.PgCluster;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Runs PostgreSQL's pgbench against one cluster, as the postgres OS user, over its Unix socket. */
final class Pgbench {

    private static final Pattern PROCESSED = Pattern.compile("number of transactions actually processed: (\\d+)");
    private static final Pattern FAILED = Pattern.compile("number of failed transactions: (\\d+)");
    private static final Pattern TPS = Pattern.compile("tps = ([0-9.]+) \\(without initial connection time\\)");

    /** What one run did. */
    record Result(long transactions, double tps) {
    }

    private Pgbench() {
    }

    /** {@code pgbench -i} with server-side data generation (the fastest way to a big database). */
    static void init(PgCluster cluster, String db, int scale) {
        command(cluster, db, List.of("-i", "-q", "-s", Integer.toString(scale), "-I", "dtGvp"))
                .timeout(Duration.ofMinutes(30)).run();
    }

    /** Runs pgbench with {@code args} (no vacuum first: -n) and returns what it reports. */
    static Result run(PgCluster cluster, String db, List<String> args, Duration timeout) {
        List<String> all = new ArrayList<>(List.of("-n"));
        all.addAll(args);
        String out = command(cluster, db, all).timeout(timeout).run().output();
        Matcher failed = FAILED.matcher(out);
        if (failed.find() && Long.parseLong(failed.group(1)) > 0) {
            throw new IllegalStateException("pgbench reported failed transactions:\n" + out);
        }
        return new Result(Long.parseLong(find(PROCESSED, out)), Double.parseDouble(find(TPS, out)));
    }

    /** Writes a custom script where the postgres user can read it; returns its path for {@code -f}. */
    static Path script(PgCluster cluster, String name, String text) {
        Path file = cluster.directory().resolve(name + ".pgbench");
        try {
            Files.writeString(file, text);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
        return file;
    }

    private static OsCommand command(PgCluster cluster, String db, List<String> args) {
        List<Object> cmd = new ArrayList<>(List.of(cluster.install().pgbench(), "-h", cluster.socketDir(),
                "-p", cluster.port(), "-U", PgCluster.SUPERUSER));
        cmd.addAll(args);
        cmd.add(db);
        return OsCommand.of(cmd.toArray()).asPostgresUser();
    }

    private static String find(Pattern pattern, String output) {
        Matcher m = pattern.matcher(output);
        if (!m.find()) {
            throw new IllegalStateException("pgbench output lacks /" + pattern + "/:\n" + output);
        }
        return m.group(1);
    }
}
