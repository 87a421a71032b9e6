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
public record PriorVersion(int relationOid, NodeIdentity writer, long commitTimeMicros, List<String> key)
        implements RowMessage {

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
     * newline, then per key value {@code <length in bytes>:<text>} ({@code -1:} for NULL).
     *
     * @throws IllegalArgumentException if it does not parse, or names an origin that is no node
     */
    public static PriorVersion parse(byte[] content) {
        MessageText text = new MessageText(content, "prior version");
        String[] head = text.head(4);
        NodeIdentity writer = Names.originNode(head[2])
                .orElseThrow(() -> new IllegalArgumentException("prior version written by unknown origin " + head[2]));
        List<String> key = text.texts(Integer.parseInt(head[3]));
        return new PriorVersion(Integer.parseUnsignedInt(head[0]), writer, Long.parseLong(head[1]), key);
    }

    public static PriorVersion parse(String content) {
        return parse(content.getBytes(StandardCharsets.UTF_8));
    }
}
