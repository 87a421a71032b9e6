package io.pgactive.link;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgactive.pgoutput.PgOutputMessage.StreamAbort;
import io.pgactive.pgoutput.PgOutputMessage.StreamStart;
import io.pgactive.pgoutput.PgOutputMessage.StreamStop;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The session's transactions in progress: their spool files, segments and ends. */
class StreamedTransactionsTest {

    private static final String PREFIX = "pgactive-slot_a-";

    @TempDir
    Path tmp;

    @Test
    void aSessionSpoolsInAPrivateDirectoryOfItsOwnAndRemovesWhatAnEarlierOneLeft() throws Exception {
        Path left = Files.createDirectory(tmp.resolve(PREFIX + "killed"));
        Files.writeString(left.resolve("stream-1.spool"), "void");
        Path otherLink = Files.createDirectory(tmp.resolve("pgactive-slot_ab-1"));
        try (StreamedTransactions streams = new StreamedTransactions(tmp, PREFIX)) {
            assertFalse(Files.exists(left), "what a killed session left");
            assertTrue(Files.exists(otherLink), "another link's directory");
            assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(streams.directory())));
            streams.start(new StreamStart(7, true));
            streams.append(7, new byte[] {1});
            streams.stop(new StreamStop());
            assertTrue(streams.anyInProgress());
        }
        try (var remaining = Files.list(tmp)) {
            assertEquals(1, remaining.count(), "only the other link's directory remains");
        }
    }

    @Test
    void transactionsEndByCommitOrAbortAndMessagesOutOfPlaceAreErrors() {
        try (StreamedTransactions streams = new StreamedTransactions(tmp, PREFIX)) {
            assertThrows(UnexpectedMessageException.class, () -> streams.append(7, new byte[0]));
            assertThrows(UnexpectedMessageException.class, () -> streams.start(new StreamStart(7, false)));
            streams.start(new StreamStart(7, true));
            assertThrows(UnexpectedMessageException.class, () -> streams.start(new StreamStart(8, true)));
            streams.append(7, new byte[] {1});
            streams.stop(new StreamStop());
            streams.start(new StreamStart(8, true));
            streams.append(8, new byte[] {2});
            streams.stop(new StreamStop());
            streams.aborted(new StreamAbort(8, 8));
            streams.aborted(new StreamAbort(9, 9)); // streamed nothing here
            assertTrue(streams.anyInProgress());
            try (SpooledTransaction spool = streams.committed(7).spool) {
                assertEquals(1, spool.changes());
            }
            assertFalse(streams.anyInProgress());
            assertThrows(UnexpectedMessageException.class, () -> streams.committed(7));
        }
    }
}
