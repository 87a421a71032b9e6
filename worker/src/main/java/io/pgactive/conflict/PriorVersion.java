package io.pgactive.conflict;

import io.pgactive.catalog.Names;
import io.pgactive.catalog.NodeIdentity;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The version of a row that a remote UPDATE or DELETE replaced on its own node, as that node's
 * trigger named it (launcher/pgactive_causality.c) when the version came from a third node: its
 * writer, that writer's commit time, and the row's key. A local row of that version, or of an
 * earlier one by the same writer, is what the change's author had seen: the change is the next
 * change to it, not a conflict.
 *
 * @param relationOid the relation in the author's stream (its Relation messages' ids)
 * @param key         the key columns' values as text, in column order; null for NULL
 */
public record PriorVersion(int relationOid, NodeIdentity writer, long commitTimeMicros, List<String> key) {

    public static final String PREFIX = "pgactive_prior";

    public PriorVersion {
        key = Collections.unmodifiableList(new ArrayList<>(key)); // may hold nulls
    }

    /** Whether the author had seen {@code local}: the version it replaced is this one or a later one by the same writer. */
    public boolean covers(LocalRow local) {
        return local.writer().equals(writer) && local.commitTimeMicros() != null
                && commitTimeMicros >= local.commitTimeMicros();
    }

    /**
     * Reads a message's content: {@code <relid> <commit micros> <origin name> <key count>}, a
     * newline, then per key value {@code <length>:<text>} ({@code -1:} for NULL).
     *
     * @throws IllegalArgumentException if it does not parse, or names an origin that is no node
     */
    public static PriorVersion parse(String content) {
        int newline = content.indexOf('\n');
        if (newline < 0) {
            throw new IllegalArgumentException("malformed prior version message: " + content);
        }
        String[] head = content.substring(0, newline).split(" ");
        if (head.length != 4) {
            throw new IllegalArgumentException("malformed prior version message: " + content);
        }
        NodeIdentity writer = Names.originNode(head[2])
                .orElseThrow(() -> new IllegalArgumentException("prior version written by unknown origin " + head[2]));
        int count = Integer.parseInt(head[3]);
        List<String> key = new ArrayList<>(count);
        int at = newline + 1;
        for (int i = 0; i < count; i++) {
            int colon = content.indexOf(':', at);
            if (colon < 0) {
                throw new IllegalArgumentException("malformed prior version key: " + content);
            }
            int length = Integer.parseInt(content.substring(at, colon));
            if (length < 0) {
                key.add(null);
                at = colon + 1;
            } else {
                // lengths are in bytes (the server's encoding, UTF-8 here), the content in chars
                byte[] rest = content.substring(colon + 1).getBytes(StandardCharsets.UTF_8);
                String value = new String(rest, 0, length, StandardCharsets.UTF_8);
                key.add(value);
                at = colon + 1 + value.length();
            }
        }
        return new PriorVersion(Integer.parseUnsignedInt(head[0]), writer, Long.parseLong(head[1]), key);
    }
}
