package io.pgactive.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.function.Supplier;

/**
 * {@code make bench}: every workload against native logical replication and against pgactive,
 * one system at a time on fresh clusters (so they never compete for the two cores), then one
 * table, printed and written as CSV and SVG.
 *
 * <p>Usage: {@code java -jar pgactive-bench.jar [--quick] [--out DIR] [--only native|pgactive|join]
 * [--workloads abcdgh]};
 * {@code --only} runs one part and {@code --workloads} some of (a)-(d), for working on them (the
 * table then has gaps).
 */
public final class BenchMain {

    private BenchMain() {
    }

    public static void main(String[] args) throws IOException {
        Scale scale = Scale.full();
        Path out = Path.of("bench/results");
        String only = null;
        String workloads = "abcdgh";
        Double pacing = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick" -> scale = Scale.quick();
                case "--out" -> out = Path.of(args[++i]);
                case "--only" -> only = args[++i];
                case "--workloads" -> workloads = args[++i];
                case "--single-node-tps" -> pacing = Double.valueOf(args[++i]);
                default -> {
                    System.err.println("usage: pgactive-bench [--quick] [--out DIR] [--only native|pgactive|join] [--workloads abcdgh]"
                            + " [--single-node-tps N (paces (d) instead of (c)'s figure)]");
                    System.exit(2);
                }
            }
        }
        long start = System.nanoTime();
        Figures nat = new Figures();
        Figures pga = new Figures();
        if (only == null || only.equals("native")) {
            System.out.println("== native logical replication (" + scale.name() + ")");
            replicate(NativePair::start, scale, workloads, nat, pacing);
        }
        if (only == null || only.equals("pgactive")) {
            System.out.println("== pgactive (" + scale.name() + ")");
            replicate(PgactivePair::start, scale, workloads, pga, pacing != null ? pacing : nat.get("oltp.origin_tps"));
        }
        if (only == null || only.equals("join")) {
            System.out.println("== new node from a big database");
            JoinTime.run(scale, nat, pga);
        }

        List<Report.Row> rows = Report.rows(scale, nat, pga);
        String title = "pgactive vs native logical replication, " + scale.name() + " run, "
                + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm"));
        Files.createDirectories(out);
        Path csv = out.resolve("bench-" + scale.name() + ".csv");
        Path svg = out.resolve("bench-" + scale.name() + ".svg");
        Files.writeString(csv, Report.csv(rows));
        Files.writeString(svg, SvgChart.render(title, rows));
        System.out.println();
        System.out.println(title);
        System.out.print(Report.text(rows));
        System.out.printf("%nwrote %s and %s in %.0f s%n", csv, svg, Backlog.seconds(System.nanoTime() - start));
    }

    /**
     * Runs (a)-(d), (g), (h) and (f) on one system. The bidirectional writers are paced against the
     * native run's single-node maximum, so both systems get the same offered load.
     */
    private static void replicate(Supplier<ReplicationPair> setup, Scale scale, String workloads, Figures figures,
                                  Double pacing) {
        try (ReplicationPair pair = setup.get()) {
            Backlog backlog = new Backlog(pair);
            if (workloads.contains("a")) {
                System.out.println("  (a) bulk insert");
                BulkInsert.run(pair, backlog, scale, figures);
            }
            if (workloads.contains("b")) {
                System.out.println("  (b) small transactions");
                SmallTransactions.run(pair, backlog, scale, figures);
            }
            if (workloads.contains("c")) {
                System.out.println("  (c) pgbench tpcb-like");
                Oltp.run(pair, backlog, scale, figures);
            }
            if (workloads.contains("g")) {
                System.out.println("  (g) updates of rows with out-of-line values");
                LargeValues.run(pair, backlog, scale, figures);
            }
            if (workloads.contains("h")) {
                System.out.println("  (h) contested updates");
                Contested.run(pair, backlog, scale, figures);
            }
            if (workloads.contains("d")) {
                System.out.println("  (d) bidirectional");
                Double measured = pacing != null ? pacing : figures.get("oltp.origin_tps");
                Bidirectional.run(pair, backlog, scale, measured != null ? measured : Bidirectional.DEFAULT_TPS,
                        figures);
            }
            pair.discard();
        }
    }
}
