package io.pgactive.conflict;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the messages pgactive's triggers put into a transaction (launcher/pgactive_causality.c,
 * pgactive_columns.c): a head of space-separated fields ending in a newline, then texts written
 * as {@code <length in bytes>:<text>} ({@code -1:} for NULL), with single marker characters
 * between them where the format has them.
 */
final class MessageText {

    private final byte[] content;
    private final String what;
    private int at;

    MessageText(byte[] content, String what) {
        this.content = content;
        this.what = what;
    }

    /** The head's fields; exactly {@code count} of them. */
    String[] head(int count) {
        int newline = indexOf((byte) '\n', 0);
        String[] head = new String(content, 0, Math.max(newline, 0), StandardCharsets.UTF_8).split(" ");
        if (newline < 0 || head.length != count) {
            throw malformed();
        }
        at = newline + 1;
        return head;
    }

    /** {@code count} texts, the last field of a head being their count. */
    List<String> texts(int count) {
        List<String> texts = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            texts.add(text());
        }
        return texts;
    }

    /** The next text; null for NULL. */
    String text() {
        int colon = indexOf((byte) ':', at);
        if (colon < 0) {
            throw malformed();
        }
        int length = Integer.parseInt(new String(content, at, colon - at, StandardCharsets.US_ASCII));
        if (length < 0) {
            at = colon + 1;
            return null;
        }
        if (colon + 1 + length > content.length) {
            throw malformed();
        }
        String text = new String(content, colon + 1, length, StandardCharsets.UTF_8);
        at = colon + 1 + length;
        return text;
    }

    /** The next marker character. */
    char marker() {
        if (at >= content.length) {
            throw malformed();
        }
        return (char) content[at++];
    }

    boolean atEnd() {
        return at == content.length;
    }

    IllegalArgumentException malformed() {
        return new IllegalArgumentException("malformed " + what + " message: " + new String(content, StandardCharsets.UTF_8));
    }

    private int indexOf(byte b, int from) {
        for (int i = from; i < content.length; i++) {
            if (content[i] == b) {
                return i;
            }
        }
        return -1;
    }
}
