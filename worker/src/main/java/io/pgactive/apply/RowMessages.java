package io.pgactive.apply;

import io.pgactive.conflict.RowMessage;
import io.pgactive.pgoutput.PgOutputMessage.Relation;
import io.pgactive.pgoutput.TupleData;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What the current remote transaction's author said about its next change to a row (the version
 * it replaced, the columns it changed; see {@link RowMessage}), kept until that change comes:
 * each is matched to its change by relation and key, so one whose change never came (a trigger
 * there skipped it) matches nothing. Forgotten when the transaction ends.
 */
final class RowMessages<T extends RowMessage> {

    private final List<T> waiting = new ArrayList<>();

    void add(T message) {
        waiting.add(message);
    }

    /** The message for the change to the row {@code identity} names, if its author sent one. */
    Optional<T> take(Relation rel, TupleData identity) {
        if (waiting.isEmpty()) {
            return Optional.empty();
        }
        List<String> key = new ArrayList<>();
        for (int i = 0; i < rel.columnCount(); i++) {
            if (rel.column(i).partOfKey()) {
                key.add(i < identity.size() ? identity.textOrNull(i) : null);
            }
        }
        // The last one: the message of a change comes just before it. An earlier one for the same
        // row is of a change that did not happen as such (an INSERT that became an UPDATE).
        for (int i = waiting.size() - 1; i >= 0; i--) {
            T m = waiting.get(i);
            if (m.relationOid() == rel.relationOid() && m.key().equals(key)) {
                waiting.remove(i);
                return Optional.of(m);
            }
        }
        return Optional.empty();
    }

    /** Those whose change has not come yet, given up by this list. */
    List<T> takeAll() {
        List<T> all = new ArrayList<>(waiting);
        waiting.clear();
        return all;
    }

    void clear() {
        waiting.clear();
    }
}
