package io.pgactive.catalog;

/** {@code pgactive_nodes.node_status}: where a node is in its life. */
public enum NodeStatus {
    BEGINNING('b'),
    COPYING_INITIAL_DATA('i'),
    CATCHUP('c'),
    CREATING_OUTBOUND_SLOTS('o'),
    READY('r'),
    KILLED('k');

    private final char code;

    NodeStatus(char code) {
        this.code = code;
    }

    public char code() {
        return code;
    }

    public static NodeStatus of(String code) {
        for (NodeStatus s : values()) {
            if (code != null && code.length() == 1 && s.code == code.charAt(0)) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown node_status \"" + code + "\"");
    }
}
