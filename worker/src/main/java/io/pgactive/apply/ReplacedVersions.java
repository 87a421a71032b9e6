package io.pgactive.apply;

import io.pgactive.conflict.PriorVersion;
import io.pgactive.pgoutput.PgOutputMessage.Relation;
import io.pgactive.pgoutput.TupleData;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The row versions the current remote transaction's author said it replaced (see
 * {@link PriorVersion}), until the change to that row comes: each is matched to its change by
 * relation and key, so one whose change never came (a trigger there skipped it) matches nothing.
 * Forgotten when the transaction ends.
 */
final class ReplacedVersions {

    private final List<PriorVersion> waiting = new ArrayList<>();

    void add(PriorVersion version) {
        waiting.add(version);
    }

    /** The version replaced by the change to the row {@code identity} names, if its author named one. */
    Optional<PriorVersion> take(Relation rel, TupleData identity) {
        if (waiting.isEmpty()) {
            return Optional.empty();
        }
        List<String> key = new ArrayList<>();
        for (int i = 0; i < rel.columnCount(); i++) {
            if (rel.column(i).partOfKey()) {
                key.add(i < identity.size() ? identity.textOrNull(i) : null);
            }
        }
        for (PriorVersion v : waiting) {
            if (v.relationOid() == rel.relationOid() && v.key().equals(key)) {
                waiting.remove(v);
                return Optional.of(v);
            }
        }
        return Optional.empty();
    }

    /** Those whose change has not come yet, given up by this list. */
    List<PriorVersion> takeAll() {
        List<PriorVersion> all = new ArrayList<>(waiting);
        waiting.clear();
        return all;
    }

    void clear() {
        waiting.clear();
    }
}
