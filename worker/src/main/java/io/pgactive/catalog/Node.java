package io.pgactive.catalog;

/** A row of {@code pgactive.pgactive_nodes}. */
public record Node(NodeIdentity id, NodeStatus status, String name, String dsn, String initFromDsn,
                   boolean readOnly, Integer seqId) {

    /** Nodes started by {@code pgactive_create_group} have no upstream to copy from. */
    public boolean createsGroup() {
        return initFromDsn == null;
    }
}
