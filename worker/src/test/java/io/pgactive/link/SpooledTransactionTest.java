package io.pgactive.link;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A streamed transaction's spool: what comes back at commit, after subtransactions aborted. */
class SpooledTransactionTest {

    private static final long TOP = 700;

    @TempDir
    Path dir;

    private static byte[] change(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static List<String> replayed(SpooledTransaction spool) throws IOException {
        List<String> out = new ArrayList<>();
        try (SpooledTransaction.Reader reader = spool.read()) {
            for (byte[] payload = reader.next(); payload != null; payload = reader.next()) {
                out.add(new String(payload, StandardCharsets.UTF_8));
            }
        }
        return out;
    }

    @Test
    void changesComeBackInOrderAndTheFileGoesAtTheEnd() throws IOException {
        Path file;
        try (SpooledTransaction spool = SpooledTransaction.create(dir, TOP)) {
            spool.append(TOP, change("a"));
            spool.append(TOP, new byte[0]);
            spool.append(TOP, change("b".repeat(100_000)));
            assertEquals(List.of("a", "", "b".repeat(100_000)), replayed(spool));
            file = Files.list(dir).findFirst().orElseThrow();
        }
        assertFalse(Files.exists(file), "spool file removed");
    }

    @Test
    void anAbortedSubtransactionIsCutWithTheSubtransactionsBegunInsideIt() throws IOException {
        try (SpooledTransaction spool = SpooledTransaction.create(dir, TOP)) {
            spool.append(TOP, change("top 1"));
            spool.append(701, change("sub 701 kept"));
            spool.append(702, change("sub 702 aborted"));
            spool.append(703, change("sub 703 inside 702"));
            spool.append(702, change("sub 702 again"));
            spool.abortSubtransaction(702);
            assertEquals(2, spool.changes());
            spool.append(TOP, change("top 2"));
            spool.abortSubtransaction(999); // sent nothing: nothing to cut
            spool.append(704, change("sub 704"));
            assertEquals(List.of("top 1", "sub 701 kept", "top 2", "sub 704"), replayed(spool));
            spool.abortSubtransaction(704);
            spool.append(TOP, change("top 3"));
            assertEquals(List.of("top 1", "sub 701 kept", "top 2", "top 3"), replayed(spool));
        }
    }

    @Test
    void aSubtransactionPerChangeIsTrackedAndCut() throws IOException {
        try (SpooledTransaction spool = SpooledTransaction.create(dir, TOP)) {
            for (int i = 0; i < 200_000; i++) { // as a PL/pgSQL loop with an EXCEPTION block per row
                spool.append(1_000 + i, change("row"));
            }
            spool.abortSubtransaction(1_000 + 150_000);
            assertEquals(150_000, spool.changes());
            spool.append(1_000 + 150_000 + 1, change("after"));
            spool.abortSubtransaction(1_000 + 199_999); // cut already
            assertEquals(150_001, spool.changes());
        }
    }
}
