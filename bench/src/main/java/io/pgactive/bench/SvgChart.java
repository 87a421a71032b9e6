package io.pgactive.bench;

import java.util.List;
import java.util.Locale;

/**
 * The results table as a bar chart: per metric, the baseline's bar and pgactive's, scaled to the
 * larger of the two (metrics have different units, so only the pair is comparable), with the
 * values, the ratio (with the rounds' range) and the target's verdict written beside them. Plain
 * SVG: no plotting library needed.
 */
final class SvgChart {

    private static final int WIDTH = 1200;
    private static final int LABEL_WIDTH = 430;
    private static final int BAR_MAX = 400;
    private static final int ROW_HEIGHT = 46;
    private static final int TOP = 50;

    private SvgChart() {
    }

    static String render(String title, List<Report.Row> rows) {
        List<Report.Row> shown = rows.stream().filter(r -> r.baseline() != null || r.pgactive() != null).toList();
        StringBuilder svg = new StringBuilder();
        int height = TOP + shown.size() * ROW_HEIGHT + 40;
        svg.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\""
                + " font-family=\"sans-serif\" font-size=\"12\">%n", WIDTH, height));
        svg.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        svg.append(text(10, 22, escape(title), "font-size=\"16\" font-weight=\"bold\""));
        svg.append(legend());
        int y = TOP;
        for (Report.Row row : shown) {
            double max = Math.max(value(row.baseline()), value(row.pgactive()));
            svg.append(text(10, y + 14, escape(row.workload()), ""));
            svg.append(text(10, y + 30, escape(row.metric() + " (" + row.unit() + ")"
                    + (row.baselineName().isEmpty() || row.baselineName().equals("native") ? ""
                    : " vs " + row.baselineName())), "fill=\"#555\""));
            svg.append(bar(y + 4, row.baseline(), max, "#9e9e9e"));
            svg.append(bar(y + 22, row.pgactive(), max, "#1f77b4"));
            if (row.ratio() != null) {
                svg.append(text(WIDTH - 250, y + 24, escape(Report.formatRatio(row)), "fill=\"#555\""));
            }
            String verdict = row.verdict();
            if (!verdict.isEmpty()) {
                svg.append(text(WIDTH - 60, y + 24, verdict, "font-weight=\"bold\" fill=\""
                        + (verdict.equals("met") ? "#2e7d32" : "#c62828") + "\""));
            }
            y += ROW_HEIGHT;
        }
        return svg.append("</svg>\n").toString();
    }

    private static String legend() {
        return "<rect x=\"" + LABEL_WIDTH + "\" y=\"30\" width=\"12\" height=\"12\" fill=\"#9e9e9e\"/>"
                + text(LABEL_WIDTH + 18, 40, "baseline (native logical replication unless named)", "")
                + "<rect x=\"" + (LABEL_WIDTH + 340) + "\" y=\"30\" width=\"12\" height=\"12\" fill=\"#1f77b4\"/>"
                + text(LABEL_WIDTH + 358, 40, "pgactive", "") + "\n";
    }

    private static String bar(int y, Double value, double max, String colour) {
        if (value == null) {
            return text(LABEL_WIDTH, y + 12, "-", "");
        }
        int length = max <= 0 ? 0 : (int) Math.round(BAR_MAX * value / max);
        return String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"16\" fill=\"%s\"/>",
                LABEL_WIDTH, y, Math.max(length, 1), colour)
                + text(LABEL_WIDTH + length + 6, y + 12, Report.format(value), "") + "\n";
    }

    private static double value(Double v) {
        return v == null ? 0 : v;
    }

    private static String text(int x, int y, String content, String attributes) {
        return "<text x=\"" + x + "\" y=\"" + y + "\" " + attributes + ">" + content + "</text>";
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
