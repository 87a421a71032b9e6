package io.pgactive.locks;

import io.pgactive.catalog.NodeIdentity;
import java.util.Optional;

/**
 * The global DDL lock's messages: non-transactional logical messages (prefix {@code pgactive}) in
 * each node's own stream, so every peer receives them on its link from that node. The acquirer's
 * are written by the server (launcher/pgactive_locks.c); the answers by {@link GlobalLockPeer}.
 * Nodes are named {@code sysid:timeline:dboid}; a lock by its holder and an id the holder chose.
 * <pre>
 *   global_lock acquire &lt;mode&gt; &lt;holder&gt; &lt;id&gt;
 *   global_lock confirm &lt;holder&gt; &lt;id&gt; &lt;peer&gt;
 *   global_lock decline &lt;holder&gt; &lt;id&gt; &lt;peer&gt;
 *   global_lock release &lt;holder&gt; &lt;id&gt;
 * </pre>
 */
public sealed interface GlobalLockMessage {

    String PREFIX = "global_lock ";

    /** The node that holds, or asks for, the lock. */
    String holder();

    long lockId();

    /** The holder asks every peer for the lock, in mode {@code ddl_lock} or {@code write_lock}. */
    record Acquire(String mode, String holder, long lockId) implements GlobalLockMessage {
        public Acquire {
            if (!mode.equals("ddl_lock") && !mode.equals("write_lock")) {
                throw new IllegalArgumentException("unknown lock mode " + mode);
            }
        }
    }

    /** A peer holds the lock for the holder and is ready for its DDL. */
    record Confirm(String holder, long lockId, String peer) implements GlobalLockMessage {
    }

    /** A peer cannot: someone else holds its lock. */
    record Decline(String holder, long lockId, String peer) implements GlobalLockMessage {
    }

    /** The holder's transaction ended. */
    record Release(String holder, long lockId) implements GlobalLockMessage {
    }

    static String nodeId(NodeIdentity node) {
        return node.sysid() + ":" + node.timeline() + ":" + node.dboid();
    }

    /** The message's text, as it travels. */
    default String text() {
        if (this instanceof Acquire a) {
            return PREFIX + "acquire " + a.mode() + " " + a.holder() + " " + a.lockId();
        } else if (this instanceof Confirm c) {
            return PREFIX + "confirm " + c.holder() + " " + c.lockId() + " " + c.peer();
        } else if (this instanceof Decline d) {
            return PREFIX + "decline " + d.holder() + " " + d.lockId() + " " + d.peer();
        }
        return PREFIX + "release " + holder() + " " + lockId();
    }

    /**
     * The lock message {@code content} holds; empty for other control messages.
     *
     * @throws IllegalArgumentException for a lock message that does not parse
     */
    static Optional<GlobalLockMessage> parse(String content) {
        if (!content.startsWith(PREFIX)) {
            return Optional.empty();
        }
        String[] f = content.substring(PREFIX.length()).split(" ");
        try {
            return Optional.of(switch (f[0]) {
                case "acquire" -> { expect(f, 4, content); yield new Acquire(f[1], f[2], Long.parseLong(f[3])); }
                case "confirm" -> { expect(f, 4, content); yield new Confirm(f[1], Long.parseLong(f[2]), f[3]); }
                case "decline" -> { expect(f, 4, content); yield new Decline(f[1], Long.parseLong(f[2]), f[3]); }
                case "release" -> { expect(f, 3, content); yield new Release(f[1], Long.parseLong(f[2])); }
                default -> throw new IllegalArgumentException("unknown global lock message: " + content);
            });
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("malformed global lock message: " + content, e);
        }
    }

    private static void expect(String[] fields, int count, String content) {
        if (fields.length != count) {
            throw new IllegalArgumentException("malformed global lock message: " + content);
        }
    }
}
