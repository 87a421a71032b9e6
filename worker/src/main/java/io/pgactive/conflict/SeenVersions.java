package io.pgactive.conflict;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Which versions of a row the writer of a change to it had seen, as its node's trigger named
 * them for a table with conflict handlers (pgactive._record_row_version,
 * launcher/pgactive_causality.c): per other node, the commit time of its latest version of the
 * row. A change without one had seen none but its own node's.
 *
 * @param relationOid the relation in the author's stream (its Relation messages' ids)
 * @param key         the key columns' values as text, in column order; null for NULL
 * @param seen        node sysid → commit time (microseconds since 2000)
 */
public record SeenVersions(int relationOid, List<String> key, Map<String, Long> seen) implements RowMessage {

    public static final String PREFIX = "pgactive_seen";

    public SeenVersions {
        key = Collections.unmodifiableList(new ArrayList<>(key)); // may hold nulls
        seen = Map.copyOf(seen);
    }

    /**
     * Reads a message's content: {@code <relid> <version count> <key count>}, a newline, the key
     * as in {@link PriorVersion}, then per version its node's sysid and its commit time, each as
     * {@code <length in bytes>:<text>}.
     *
     * @throws IllegalArgumentException if it does not parse
     */
    public static SeenVersions parse(byte[] content) {
        MessageText text = new MessageText(content, "seen versions");
        String[] head = text.head(3);
        int count = Integer.parseInt(head[1]);
        List<String> key = text.texts(Integer.parseInt(head[2]));
        Map<String, Long> seen = new HashMap<>();
        for (int i = 0; i < count; i++) {
            String node = text.text();
            String at = text.text();
            if (node == null || at == null) {
                throw text.malformed();
            }
            seen.put(node, Long.parseLong(at));
        }
        if (!text.atEnd()) {
            throw text.malformed();
        }
        return new SeenVersions(Integer.parseUnsignedInt(head[0]), key, seen);
    }

    public static SeenVersions parse(String content) {
        return parse(content.getBytes(StandardCharsets.UTF_8));
    }
}
