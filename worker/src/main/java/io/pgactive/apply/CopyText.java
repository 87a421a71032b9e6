package io.pgactive.apply;

import io.pgactive.pgoutput.TupleData;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;

/**
 * Rows in COPY's text format: values separated by tabs, {@code \N} for NULL, backslash escapes
 * for backslash, newline, carriage return and tab. Written from the values' bytes as they
 * arrived: both connections speak UTF-8, and none of the bytes COPY escapes can occur inside a
 * multi-byte UTF-8 character, so no value needs decoding.
 */
final class CopyText {

    private byte[] out;
    private int size;

    private CopyText(int capacity) {
        out = new byte[capacity];
    }

    static byte[] of(List<TupleData> rows) {
        int estimate = 0;
        for (TupleData row : rows) {
            for (int c = 0; c < row.size(); c++) {
                estimate += row.byteLength(c) + 2;
            }
        }
        CopyText text = new CopyText(estimate + estimate / 16 + 16);
        for (TupleData row : rows) {
            text.row(row);
        }
        return Arrays.copyOf(text.out, text.size);
    }

    private void row(TupleData row) {
        for (int c = 0; c < row.size(); c++) {
            ensure(3); // a tab, and \N at most
            if (c > 0) {
                out[size++] = '\t';
            }
            if (row.isNull(c)) {
                out[size++] = '\\';
                out[size++] = 'N';
            } else if (row.isText(c)) {
                value(row.view(c));
            } else {
                throw new IllegalStateException("column " + c + " is " + row.kind(c) + ", which COPY text cannot carry");
            }
        }
        ensure(1);
        out[size++] = '\n';
    }

    private void value(ByteBuffer v) {
        ensure(2 * v.remaining()); // every byte escaped, at worst
        while (v.hasRemaining()) {
            byte b = v.get();
            byte escape = switch (b) {
                case '\\' -> '\\';
                case '\n' -> 'n';
                case '\r' -> 'r';
                case '\t' -> 't';
                default -> 0;
            };
            if (escape != 0) {
                out[size++] = '\\';
                out[size++] = escape;
            } else {
                out[size++] = b;
            }
        }
    }

    private void ensure(int more) {
        if (size + more > out.length) {
            out = Arrays.copyOf(out, Math.max(out.length * 2, size + more));
        }
    }
}
