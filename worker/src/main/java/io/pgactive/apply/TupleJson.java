package io.pgactive.apply;

import io.pgactive.pgoutput.PgOutputMessage.Relation;
import io.pgactive.pgoutput.TupleData;

/**
 * A remote row as a JSON object of its text values (unchanged TOAST values left out). The server
 * turns it into a typed row with {@code json_populate_record}, which is how conflict handlers and
 * the conflict history see remote rows.
 */
final class TupleJson {

    private TupleJson() {
    }

    static String of(Relation rel, TupleData tuple) {
        // Sized up front: rows can hold values of many megabytes, and a doubling buffer would
        // hold up to three times the row while it grows.
        int size = 2;
        for (int i = 0; i < rel.columnCount(); i++) {
            size += rel.column(i).name().length() + 8 + tuple.byteLength(i);
        }
        StringBuilder sb = new StringBuilder(size + size / 16);
        sb.append('{');
        for (int i = 0; i < rel.columnCount(); i++) {
            if (tuple.isUnchangedToast(i)) {
                continue;
            }
            if (sb.length() > 1) {
                sb.append(',');
            }
            string(sb, rel.column(i).name());
            sb.append(':');
            String v = tuple.textOrNull(i);
            if (v == null) {
                sb.append("null");
            } else {
                string(sb, v);
            }
        }
        return sb.append('}').toString();
    }

    private static void string(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
