package io.pgactive.conflict;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class FrontierTest {

    private static final String A = "1001";
    private static final String B = "1002";
    private static final String C = "1003";

    /** Keeps the larger value: the example handler of docs/conflicts.md. */
    private static final Frontier.Handler KEEP_MAX = (type, earlier, later) -> Optional.of(new ConflictHandlers.Decision(
            "keep_max", ConflictHandlers.Action.ROW, earlier.rowJson() != null
            && Long.parseLong(earlier.rowJson()) > Long.parseLong(later.rowJson()) ? earlier.rowJson() : later.rowJson()));

    private static RowVersion update(String writer, long at, Map<String, Long> seen, long value) {
        return new RowVersion(writer, at, seen, RowVersion.Op.UPDATE, Long.toString(value));
    }

    @Test
    void aChangeMadeAfterSeeingTheRowSupersedesIt() {
        Frontier here = Frontier.of(List.of(update(A, 10, Map.of(), 1)));
        Frontier next = here.add(update(B, 20, Map.of(A, 10L), 2)).orElseThrow();
        assertFalse(next.concurrent());
        assertEquals(B, next.versions().get(0).writer());
    }

    @Test
    void aNodesLaterChangeSupersedesItsEarlierOne() {
        Frontier here = Frontier.of(List.of(update(A, 10, Map.of(), 1)));
        assertFalse(here.add(update(A, 20, Map.of(), 2)).orElseThrow().concurrent());
    }

    @Test
    void changesMadeWithoutSeeingEachOtherStayBesideEachOther() {
        Frontier here = Frontier.of(List.of(update(A, 10, Map.of(), 1)));
        Frontier next = here.add(update(B, 20, Map.of(), 2)).orElseThrow();
        assertTrue(next.concurrent());
        assertEquals(2, next.versions().size());
    }

    @Test
    void aChangeThatArrivesAfterOneThatHadSeenItIsAlreadyPartOfTheRow() {
        // C wrote after seeing B's change; C's arrives first.
        Frontier here = Frontier.of(List.of(update(A, 10, Map.of(), 1)));
        Frontier afterC = here.add(update(C, 30, Map.of(A, 10L, B, 20L), 3)).orElseThrow();
        assertFalse(afterC.concurrent());
        assertTrue(afterC.add(update(B, 20, Map.of(A, 10L), 2)).isEmpty());
    }

    @Test
    void aVersionOfUnknownTimeIsOlderThanAnything() {
        Frontier copied = Frontier.of(List.of(new RowVersion(null, null, Map.of(), RowVersion.Op.UPDATE, null)));
        assertFalse(copied.add(update(B, 20, Map.of(), 2)).orElseThrow().concurrent());
    }

    @Test
    void mergedInCommitOrderWhateverTheOrderHeld() throws Exception {
        RowVersion a = update(A, 10, Map.of(), 5);
        RowVersion b = update(B, 20, Map.of(), 9);
        RowVersion c = update(C, 30, Map.of(), 7);
        for (List<RowVersion> held : List.of(List.of(a, b, c), List.of(c, a, b), List.of(b, c, a))) {
            List<String> asked = new ArrayList<>();
            Frontier.Merged merged = Frontier.of(held).merged((type, earlier, later) -> {
                asked.add(later.writer());
                return KEEP_MAX.decide(type, earlier, later);
            });
            assertEquals("9", merged.rowJson());
            assertEquals(List.of(B, C), asked);
            assertEquals(Resolution.CONFLICT_TRIGGER_RETURNED_TUPLE, merged.byHandler());
            assertEquals(c, merged.latest());
        }
    }

    @Test
    void aLaterDeleteRemovesTheRowAndALaterRowAfterADeleteIsTheHandlers() throws Exception {
        RowVersion deleted = new RowVersion(B, 20L, Map.of(), RowVersion.Op.DELETE, null);
        assertNull(Frontier.of(List.of(update(A, 10, Map.of(), 5), deleted)).merged(KEEP_MAX).rowJson());
        List<ConflictType> types = new ArrayList<>();
        Frontier.Merged merged = Frontier.of(List.of(deleted, update(A, 30, Map.of(), 5))).merged((type, e, l) -> {
            types.add(type);
            return Optional.empty(); // no handler: the later version
        });
        assertEquals("5", merged.rowJson());
        assertNull(merged.byHandler());
        assertEquals(List.of(ConflictType.UPDATE_DELETE), types);
    }

    @Test
    void skipKeepsWhatTheEarlierVersionsMade() throws Exception {
        Frontier.Merged merged = Frontier.of(List.of(update(B, 20, Map.of(), 2), update(A, 10, Map.of(), 1)))
                .merged((type, e, l) -> Optional.of(new ConflictHandlers.Decision("skip", ConflictHandlers.Action.SKIP,
                        null)));
        assertEquals("1", merged.rowJson());
        assertEquals(Resolution.CONFLICT_TRIGGER_SKIP_CHANGE, merged.byHandler());
    }

    /**
     * Three nodes write one row (updates with random values, and deletes) and deliver each
     * other's changes in random order, each link in order: once all is delivered, every node
     * holds the same versions, and so shows the same row, for thousands of histories.
     */
    @Test
    void everyNodeEndsWithTheSameVersionsWhateverTheDeliveryOrder() throws Exception {
        List<String> nodes = List.of(A, B, C);
        for (int seed = 0; seed < 3000; seed++) {
            Random random = new Random(seed);
            Map<String, Frontier> held = new HashMap<>();
            Map<String, ArrayDeque<RowVersion>> links = new HashMap<>(); // "from>to" -> in flight
            for (String n : nodes) {
                held.put(n, Frontier.of(List.of()));
                for (String to : nodes) {
                    if (!to.equals(n)) {
                        links.put(n + ">" + to, new ArrayDeque<>());
                    }
                }
            }
            long clock = 0;
            for (int step = 0; step < 30; step++) {
                List<String> busy = links.keySet().stream().filter(l -> !links.get(l).isEmpty()).sorted().toList();
                if (busy.isEmpty() || random.nextInt(3) == 0) {
                    String writer = nodes.get(random.nextInt(nodes.size()));
                    RowVersion.Op op = random.nextInt(5) == 0 ? RowVersion.Op.DELETE : RowVersion.Op.UPDATE;
                    RowVersion written = new RowVersion(writer, ++clock, seenBy(writer, held.get(writer)), op,
                            op == RowVersion.Op.DELETE ? null : Integer.toString(random.nextInt(100)));
                    held.put(writer, Frontier.of(List.of(written)));
                    for (String to : nodes) {
                        if (!to.equals(writer)) {
                            links.get(writer + ">" + to).add(written);
                        }
                    }
                } else {
                    String link = busy.get(random.nextInt(busy.size()));
                    deliver(held, link, links.get(link).poll());
                }
            }
            for (String link : links.keySet().stream().sorted().toList()) {
                while (!links.get(link).isEmpty()) {
                    deliver(held, link, links.get(link).poll());
                }
            }
            Set<Set<String>> versions = new HashSet<>();
            Set<String> rows = new HashSet<>();
            for (String n : nodes) {
                versions.add(held.get(n).versions().stream().map(v -> v.writer() + "@" + v.commitTimeMicros())
                        .collect(Collectors.toSet()));
                rows.add(String.valueOf(held.get(n).versions().isEmpty() ? null : held.get(n).merged(KEEP_MAX).rowJson()));
            }
            assertEquals(1, versions.size(), "seed " + seed + ": " + versions);
            assertEquals(1, rows.size(), "seed " + seed + ": " + rows);
        }
    }

    private static void deliver(Map<String, Frontier> held, String link, RowVersion change) {
        String to = link.substring(link.indexOf('>') + 1);
        held.get(to).add(change).ifPresent(next -> held.put(to, next));
    }

    /** What a local write's trigger says its writer had seen: every held version, and all they had seen, but its own. */
    private static Map<String, Long> seenBy(String writer, Frontier held) {
        Map<String, Long> seen = new HashMap<>();
        for (RowVersion v : held.versions()) {
            seen.merge(v.writer(), v.commitTimeMicros(), Math::max);
            v.seen().forEach((node, at) -> seen.merge(node, at, Math::max));
        }
        seen.remove(writer);
        return seen;
    }
}
