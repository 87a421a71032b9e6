package io.pgactive.conflict;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The columns a remote UPDATE of a column-level table changed, as its origin's trigger named them
 * (launcher/pgactive_columns.c), with each counter column's value before the update: the
 * receiver merges the update into its row column by column, and adds to each counter what the
 * update added (docs/conflicts.md, "Column-level resolution and counters").
 *
 * @param changed in the origin's column order
 */
public record ColumnChanges(int relationOid, List<String> key, List<Column> changed) implements RowMessage {

    public static final String PREFIX = "pgactive_columns";

    /**
     * @param counter   whether the column is a counter: the update adds its new value less {@code oldValue}
     * @param oldValue  a counter's value before the update, as text (null for NULL)
     */
    public record Column(String name, boolean counter, String oldValue) {
    }

    public ColumnChanges {
        key = Collections.unmodifiableList(new ArrayList<>(key)); // may hold nulls
        changed = List.copyOf(changed);
    }

    /** Every one of {@code columns} changed, none as a counter: what a change that names none does. */
    public static List<Column> all(List<String> columns) {
        return columns.stream().map(name -> new Column(name, false, null)).toList();
    }

    /**
     * Reads a message's content: {@code <relid> <changed count> <key count>}, a newline, the key
     * as in {@link PriorVersion}, then per changed column {@code =<name>} or, for a counter,
     * {@code +<name><old value>}, each text as {@code <length in bytes>:<text>}.
     *
     * @throws IllegalArgumentException if it does not parse
     */
    public static ColumnChanges parse(byte[] content) {
        MessageText text = new MessageText(content, "column changes");
        String[] head = text.head(3);
        int changedCount = Integer.parseInt(head[1]);
        List<String> key = text.texts(Integer.parseInt(head[2]));
        List<Column> changed = new ArrayList<>(changedCount);
        for (int i = 0; i < changedCount; i++) {
            char marker = text.marker();
            if (marker == '=') {
                changed.add(new Column(text.text(), false, null));
            } else if (marker == '+') {
                changed.add(new Column(text.text(), true, text.text()));
            } else {
                throw text.malformed();
            }
        }
        if (!text.atEnd()) {
            throw text.malformed();
        }
        return new ColumnChanges(Integer.parseUnsignedInt(head[0]), key, changed);
    }

    public static ColumnChanges parse(String content) {
        return parse(content.getBytes(StandardCharsets.UTF_8));
    }
}
