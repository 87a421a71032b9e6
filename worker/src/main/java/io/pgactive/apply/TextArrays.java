package io.pgactive.apply;

/**
 * PostgreSQL's text form of a {@code text[]}, built here rather than by the driver so that it can
 * be built on one thread and sent on another, and without a round trip through {@code Array}.
 */
final class TextArrays {

    private TextArrays() {
    }

    /** {@code {"a","b",NULL}}: every element quoted, so no value can read as NULL or a delimiter. */
    static String literal(String[] values) {
        int size = 2;
        for (String v : values) {
            size += v == null ? 5 : v.length() + 3;
        }
        StringBuilder out = new StringBuilder(size).append('{');
        for (int i = 0; i < values.length; i++) {
            if (i > 0) {
                out.append(',');
            }
            String v = values[i];
            if (v == null) {
                out.append("NULL");
                continue;
            }
            out.append('"');
            for (int c = 0; c < v.length(); c++) {
                char ch = v.charAt(c);
                if (ch == '"' || ch == '\\') {
                    out.append('\\');
                }
                out.append(ch);
            }
            out.append('"');
        }
        return out.append('}').toString();
    }
}
