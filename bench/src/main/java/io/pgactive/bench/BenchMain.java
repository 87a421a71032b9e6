package io.pgactive.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * {@code make bench}: every workload against native logical replication and against pgactive,
 * then one table, printed and written as CSV and SVG. Both systems' clusters are up together, but
 * only one system works at a time, so they never compete for the two cores. Each apply-capacity
 * workload runs {@code rounds} times per system, alternating (native, pgactive, then pgactive,
 * native, ...), so that slow and fast stretches of a shared machine fall on both alike; the
 * table shows medians and the range of the rounds' ratios.
 *
 * <p>Usage: {@code java -jar pgactive-bench.jar [--quick] [--rounds N] [--out DIR]
 * [--only native|pgactive|fanin|join] [--workloads abcdghi]};
 * {@code --only} runs one part and {@code --workloads} some of the workloads, for working on them
 * (the table then has gaps).
 */
public final class BenchMain {

    /** One system under test: its replicating pair, its backlog markers, what it measured. */
    private record Subject(ReplicationPair pair, Backlog backlog, Figures figures) {
        Subject(ReplicationPair pair, Figures figures) {
            this(pair, new Backlog(pair), figures);
        }
    }

    /** The workloads whose figure is apply capacity, in the order they run. */
    private enum Capacity {
        A('a', "bulk insert", BulkInsert::run),
        B('b', "small transactions", SmallTransactions::run),
        C('c', "pgbench tpcb-like", Oltp::run),
        G('g', "updates of rows with out-of-line values", LargeValues::run),
        H('h', "contested updates", Contested::run);

        /** Measures on one system. */
        interface Run {
            void run(ReplicationPair pair, Backlog backlog, Scale scale, Figures figures);
        }

        final char letter;
        final String title;
        final Run run;

        Capacity(char letter, String title, Run run) {
            this.letter = letter;
            this.title = title;
            this.run = run;
        }
    }

    private BenchMain() {
    }

    public static void main(String[] args) throws IOException {
        Scale scale = Scale.full();
        Integer rounds = null;
        Path out = Path.of("bench/results");
        String only = null;
        String workloads = "abcdghi";
        Double pacing = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick" -> scale = Scale.quick();
                case "--rounds" -> rounds = Integer.valueOf(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                case "--only" -> only = args[++i];
                case "--workloads" -> workloads = args[++i];
                case "--single-node-tps" -> pacing = Double.valueOf(args[++i]);
                default -> {
                    System.err.println("usage: pgactive-bench [--quick] [--rounds N] [--out DIR]"
                            + " [--only native|pgactive|fanin|join] [--workloads abcdghi]"
                            + " [--single-node-tps N (paces (d) instead of (c)'s figure)]");
                    System.exit(2);
                }
            }
        }
        if (rounds != null) {
            scale = scale.withRounds(rounds);
        }
        long start = System.nanoTime();
        Figures nat = new Figures();
        Figures pga = new Figures();
        if (only == null || only.equals("native") || only.equals("pgactive")) {
            replicate(scale, workloads, only, nat, pga, pacing);
        }
        if (workloads.contains("i") && (only == null || only.equals("fanin"))) {
            System.out.println("== one node applying from 1, 2 and 4 peers at once");
            fanIn(scale, nat, pga);
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
     * Runs the capacity workloads round by round on both systems, then (d) on each. The
     * bidirectional writers are paced against native's single-node maximum (median of its (c)
     * rounds), so both systems get the same offered load.
     */
    private static void replicate(Scale scale, String workloads, String only, Figures nat, Figures pga,
                                  Double pacing) {
        List<Subject> subjects = new ArrayList<>();
        try {
            if (only == null || only.equals("native")) {
                System.out.println("== setting up native logical replication");
                subjects.add(new Subject(NativePair.start(), nat));
            }
            if (only == null || only.equals("pgactive")) {
                System.out.println("== setting up pgactive");
                subjects.add(new Subject(PgactivePair.start(), pga));
            }
            for (Capacity workload : Capacity.values()) {
                if (workloads.indexOf(workload.letter) < 0) {
                    continue;
                }
                for (int round = 0; round < scale.rounds(); round++) {
                    List<Subject> order = new ArrayList<>(subjects);
                    if (round % 2 == 1) {
                        Collections.reverse(order);
                    }
                    for (Subject s : order) {
                        System.out.printf("  (%c) %s, %s, round %d of %d%n", workload.letter, workload.title,
                                s.pair().system(), round + 1, scale.rounds());
                        workload.run.run(s.pair(), s.backlog(), scale, s.figures());
                    }
                }
            }
            if (workloads.contains("d")) {
                Double measured = pacing != null ? pacing : nat.get("oltp.origin_tps");
                if (measured == null) {
                    measured = pga.get("oltp.origin_tps");
                }
                for (Subject s : subjects) {
                    System.out.println("  (d) bidirectional, " + s.pair().system());
                    Bidirectional.run(s.pair(), s.backlog(), scale,
                            measured != null ? measured : Bidirectional.DEFAULT_TPS, s.figures());
                }
            }
            for (Subject s : subjects) {
                s.pair().discard();
            }
        } finally {
            for (Subject s : subjects) {
                s.pair().close();
            }
        }
    }

    /** (i): both systems' fan-in groups up together, measured alternately as the pairs are. */
    private static void fanIn(Scale scale, Figures nat, Figures pga) {
        List<FanIn.Group> groups = new ArrayList<>();
        try {
            groups.add(FanIn.startNative(nat));
            groups.add(FanIn.startPgactive(pga));
            FanIn.run(scale, groups);
            groups.forEach(FanIn.Group::discard);
        } finally {
            groups.forEach(FanIn.Group::close);
        }
    }
}
