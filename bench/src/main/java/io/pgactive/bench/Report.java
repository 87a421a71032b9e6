package io.pgactive.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The results table: each row one metric, pgactive beside its baseline (native logical
 * replication, or plain dump/restore for the join), their ratio and the target. A
 * workload run several times shows the medians of both systems' figures and the median of the
 * rounds' ratios, each round's pgactive figure over the native figure taken beside it, with the
 * smallest and largest of those ratios.
 */
final class Report {

    /** A target on one row; {@link #met} is null when there is nothing to judge. */
    enum Goal {
        NONE(""), RATIO_AT_LEAST_1("ratio >= 1.0"), RATIO_AT_MOST_1("ratio <= 1.0"),
        RATIO_AT_MOST_1_2("ratio <= 1.2"), RATIO_AT_MOST_1_5("ratio <= 1.5"), UNDER_1000("< 1000"),
        AT_MOST_256("<= 256");

        final String text;

        Goal(String text) {
            this.text = text;
        }

        /** {@code ratio} is null when there is no baseline to compare with. */
        Boolean met(Double ratio, Double pgactive) {
            if (pgactive == null || this == NONE) {
                return null;
            }
            return switch (this) {
                case RATIO_AT_LEAST_1 -> ratio == null ? null : ratio >= 1.0;
                case RATIO_AT_MOST_1 -> ratio == null ? null : ratio <= 1.0;
                case RATIO_AT_MOST_1_2 -> ratio == null ? null : ratio <= 1.2;
                case RATIO_AT_MOST_1_5 -> ratio == null ? null : ratio <= 1.5;
                case UNDER_1000 -> pgactive < 1000;
                case AT_MOST_256 -> pgactive <= 256;
                case NONE -> null;
            };
        }
    }

    record Row(String workload, String metric, String unit, String baselineName, Double baseline, Double pgactive,
               Goal goal, List<Double> roundRatios) {

        Row(String workload, String metric, String unit, String baselineName, Double baseline, Double pgactive,
            Goal goal) {
            this(workload, metric, unit, baselineName, baseline, pgactive, goal, List.of());
        }

        /** The median of the rounds' ratios when there were several, else the ratio of the two figures. */
        Double ratio() {
            if (roundRatios.size() > 1) {
                return Figures.median(roundRatios);
            }
            return baseline == null || pgactive == null || baseline == 0 ? null : pgactive / baseline;
        }

        Double ratioMin() {
            return roundRatios.size() > 1 ? roundRatios.stream().min(Double::compare).get() : null;
        }

        Double ratioMax() {
            return roundRatios.size() > 1 ? roundRatios.stream().max(Double::compare).get() : null;
        }

        /** Judged on the ratio as the table shows it (the median of the rounds'). */
        String verdict() {
            Boolean met = goal.met(ratio(), pgactive);
            return met == null ? "" : met ? "met" : "MISSED";
        }
    }

    private Report() {
    }

    static List<Row> rows(Scale scale, Figures nat, Figures pga) {
        List<Row> rows = new ArrayList<>();
        String bulk = String.format(Locale.ROOT, "(a) bulk: 1 txn x %,d rows", scale.bulkRows());
        rows.add(versusNative(bulk, "apply rate", "rows/s", "bulk.rate", nat, pga, Goal.RATIO_AT_LEAST_1));
        rows.add(versusNative(bulk, "drain time", "s", "bulk.drain_s", nat, pga, Goal.NONE));
        String small = String.format(Locale.ROOT, "(b) %,d 1-row txns, %d clients", scale.smallTransactions(),
                Scale.CLIENTS);
        rows.add(versusNative(small, "apply rate", "txn/s", "small.rate", nat, pga, Goal.RATIO_AT_LEAST_1));
        rows.add(versusNative(small, "origin rate", "txn/s", "small.origin_tps", nat, pga, Goal.NONE));
        String oltp = "(c) pgbench tpcb-like " + scale.oltpSeconds() + " s";
        rows.add(versusNative(oltp, "apply rate", "rows/s", "oltp.rate", nat, pga, Goal.RATIO_AT_LEAST_1));
        rows.add(versusNative(oltp, "catch-up after stop", "s", "oltp.catchup_s", nat, pga, Goal.NONE));
        rows.add(versusNative(oltp, "origin rate", "txn/s", "oltp.origin_tps", nat, pga, Goal.NONE));
        String bidir = "(d) both ways, " + scale.bidirectionalSeconds() + " s, 2 x 25% of max";
        rows.add(versusNative(bidir, "lag p50", "ms", "bidir.lag_p50_ms", nat, pga, Goal.NONE));
        rows.add(versusNative(bidir, "lag p99", "ms", "bidir.lag_p99_ms", nat, pga, Goal.UNDER_1000));
        rows.add(versusNative(bidir, "lag max", "ms", "bidir.lag_max_ms", nat, pga, Goal.NONE));
        rows.add(versusNative(bidir, "achieved rate", "txn/s", "bidir.achieved_tps", nat, pga, Goal.NONE));
        String large = String.format(Locale.ROOT, "(g) %,d updates, rows with 8 KB out-of-line values",
                scale.smallTransactions() / 4);
        rows.add(versusNative(large, "apply rate", "txn/s", "large.rate", nat, pga, Goal.NONE));
        rows.add(versusNative(large, "origin rate", "txn/s", "large.origin_tps", nat, pga, Goal.NONE));
        rows.add(versusNative(large, "WAL per transaction", "bytes", "large.wal_per_txn", nat, pga, Goal.NONE));
        String contested = String.format(Locale.ROOT, "(h) %,d updates, each a conflict on the target",
                scale.smallTransactions() / 4);
        rows.add(versusNative(contested, "apply rate", "txn/s", "contested.rate", nat, pga, Goal.NONE));
        for (int peers : FanIn.PEERS) {
            String fanIn = String.format(Locale.ROOT, "(i) %,d 1-row txns from %d peer(s) at once",
                    scale.smallTransactions(), peers);
            rows.add(versusNative(fanIn, "apply rate", "txn/s", "fanin.peers" + peers + ".rate", nat, pga, Goal.NONE));
        }
        Double size = pga.get("join.size_mib");
        String join = String.format(Locale.ROOT, "(e) new node from %.0f MiB", size == null ? 0.0 : size);
        rows.add(new Row(join, "time to ready", "s", "native initial sync", nat.get("join.ready_s"),
                pga.get("join.ready_s"), Goal.RATIO_AT_MOST_1));
        rows.add(new Row(join, "time to ready", "s", "pg_dump | pg_restore", nat.get("join.dump_restore_s"),
                pga.get("join.ready_s"), Goal.RATIO_AT_MOST_1_2));
        for (String during : List.of("bulk", "oltp")) {
            String mem = "(f) memory during (" + (during.equals("bulk") ? "a" : "c") + ")";
            rows.add(new Row(mem, "peak RSS of apply process", "MiB", "native apply worker",
                    nat.max("mem." + during + ".rss_mib"), pga.max("mem." + during + ".rss_mib"), Goal.NONE));
            rows.add(new Row(mem, "peak RSS of applying side (JVM + apply backend)", "MiB", "native apply worker",
                    nat.max("mem." + during + ".side_rss_mib"), pga.max("mem." + during + ".side_rss_mib"),
                    Goal.RATIO_AT_MOST_1_5));
            rows.add(new Row(mem, "peak JVM heap used", "MiB", "", null, pga.max("mem." + during + ".heap_mib"),
                    Goal.AT_MOST_256));
        }
        return rows;
    }

    private static Row versusNative(String workload, String metric, String unit, String key, Figures nat,
                                    Figures pga, Goal goal) {
        List<Double> baseline = nat.all(key);
        List<Double> measured = pga.all(key);
        List<Double> ratios = new ArrayList<>();
        for (int round = 0; round < Math.min(baseline.size(), measured.size()); round++) {
            if (baseline.get(round) != 0) {
                ratios.add(measured.get(round) / baseline.get(round));
            }
        }
        return new Row(workload, metric, unit, "native", nat.get(key), pga.get(key), goal, ratios);
    }

    static String format(Double value) {
        if (value == null) {
            return "-";
        }
        return Math.abs(value) >= 100 ? String.format(Locale.ROOT, "%,.0f", value)
                : String.format(Locale.ROOT, "%.2f", value);
    }

    static String formatRatio(Double ratio) {
        return ratio == null ? "-" : String.format(Locale.ROOT, "%.2fx", ratio);
    }

    /** The ratio, with the rounds' range when there were several: {@code 0.93x (0.88-0.97, 3 rounds)}. */
    static String formatRatio(Row row) {
        String ratio = formatRatio(row.ratio());
        return row.ratioMin() == null ? ratio : String.format(Locale.ROOT, "%s (%.2f-%.2f, %d rounds)", ratio,
                row.ratioMin(), row.ratioMax(), row.roundRatios().size());
    }

    /** The table as aligned text, for the terminal. */
    static String text(List<Row> rows) {
        String[] header = {"workload", "metric", "unit", "baseline", "baseline value", "pgactive", "ratio", "target",
                ""};
        List<String[]> lines = new ArrayList<>();
        lines.add(header);
        for (Row r : rows) {
            lines.add(new String[] {r.workload(), r.metric(), r.unit(), r.baselineName(), format(r.baseline()),
                    format(r.pgactive()), formatRatio(r), r.goal().text, r.verdict()});
        }
        int[] width = new int[header.length];
        for (String[] line : lines) {
            for (int i = 0; i < line.length; i++) {
                width[i] = Math.max(width[i], line[i].length());
            }
        }
        StringBuilder out = new StringBuilder();
        for (String[] line : lines) {
            for (int i = 0; i < line.length; i++) {
                boolean number = i == 4 || i == 5 || i == 6;
                String cell = number ? " ".repeat(width[i] - line[i].length()) + line[i]
                        : line[i] + " ".repeat(width[i] - line[i].length());
                out.append(cell).append(i + 1 < line.length ? "  " : "");
            }
            out.append('\n');
        }
        return out.toString();
    }

    static String csv(List<Row> rows) {
        StringBuilder out = new StringBuilder("workload,metric,unit,baseline,baseline_value,pgactive,ratio,ratio_min,ratio_max,rounds,target,verdict\n");
        for (Row r : rows) {
            out.append(String.join(",", quote(r.workload()), quote(r.metric()), quote(r.unit()),
                    quote(r.baselineName()), raw(r.baseline()), raw(r.pgactive()), raw(r.ratio()),
                    raw(r.ratioMin()), raw(r.ratioMax()), Integer.toString(Math.max(1, r.roundRatios().size())),
                    quote(r.goal().text), r.verdict())).append('\n');
        }
        return out.toString();
    }

    private static String raw(Double v) {
        return v == null ? "" : String.format(Locale.ROOT, "%.4f", v);
    }

    private static String quote(String s) {
        return "\"" + s.replace("\"", "\"\"") + "\"";
    }
}
