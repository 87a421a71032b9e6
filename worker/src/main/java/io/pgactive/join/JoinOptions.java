package io.pgactive.join;

/** The bypass_* arguments of pgactive_join_group. */
public record JoinOptions(boolean bypassCollationCheck, boolean bypassUserTablesCheck) {
}
