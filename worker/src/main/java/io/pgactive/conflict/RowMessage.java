package io.pgactive.conflict;

import java.util.List;

/**
 * What a trigger on the origin said about its transaction's next change to one row, naming the
 * row by its key: the receiver matches it to that change by relation and key.
 */
public interface RowMessage {

    /** The relation in the author's stream (its Relation messages' ids). */
    int relationOid();

    /** The key columns' values as text, in column order; null for NULL. */
    List<String> key();
}
