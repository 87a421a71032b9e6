package io.pgactive.join;

/**
 * The bypass_* and data_only_node_init arguments of pgactive_join_group.
 *
 * @param dataOnly copy only the rows: the joining database's schema was built beforehand
 */
public record JoinOptions(boolean bypassCollationCheck, boolean bypassUserTablesCheck, boolean dataOnly) {
}
