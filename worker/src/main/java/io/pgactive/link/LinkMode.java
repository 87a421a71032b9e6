package io.pgactive.link;

/** How a link treats transactions its upstream itself received from a third node. */
public enum LinkMode {
    /**
     * Skip them: every node streams directly from every other, so a forwarded transaction
     * reaches us from its originator. This is what breaks replication loops.
     */
    DIRECT_ONLY,
    /**
     * Apply them too, each under the origin of the node it came from: a joining node replays
     * everything its upstream did after the copy's snapshot (DESIGN.md, catch-up).
     */
    CATCHUP
}
