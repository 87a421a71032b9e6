package io.pgactive.link;

import io.pgactive.pgoutput.PgOutputMessage.Origin;
import io.pgactive.pgoutput.PgOutputMessage.StreamAbort;
import io.pgactive.pgoutput.PgOutputMessage.StreamStart;
import io.pgactive.pgoutput.PgOutputMessage.StreamStop;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The large transactions an upstream is streaming to one link session while they are in progress
 * (pgoutput protocol version 2): which segment is open, and each transaction's spooled changes and
 * origin until its commit or abort. Several may be in progress at once; their segments do not
 * overlap. Everything is dropped when the session ends: the next session's stream sends a
 * transaction again from its start.
 *
 * <p>The files are in a directory of the session's own, made afresh with a name no one can
 * guess and only this OS user may enter: what apply reads back must be what it wrote. A session
 * that ended without removing its directory (a killed worker) leaves it to the link's next one.
 */
final class StreamedTransactions implements AutoCloseable {

    /** A transaction in progress: its changes, and the origin its first segment named (null: written there). */
    static final class InProgress {
        final SpooledTransaction spool;
        Origin origin;

        private InProgress(SpooledTransaction spool) {
            this.spool = spool;
        }
    }

    private final Path dir;
    private final Map<Long, InProgress> inProgress = new HashMap<>();
    /** The transaction whose segment is open, or null between segments. */
    private InProgress segment;

    /**
     * Spools into a new directory of {@code tmp} named {@code prefix} and a random part, after
     * removing what earlier sessions of the same prefix left (their streams will come again from
     * the start).
     */
    StreamedTransactions(Path tmp, String prefix) {
        this.dir = io(() -> {
            removeLeftovers(tmp, prefix);
            return Files.createTempDirectory(tmp, prefix); // rwx------
        });
    }

    /** The session's spool directory. */
    Path directory() {
        return dir;
    }

    /** Directories named {@code prefix...} that this OS user owns, and their files. */
    private static void removeLeftovers(Path tmp, String prefix) throws IOException {
        UserPrincipal me = tmp.getFileSystem().getUserPrincipalLookupService()
                .lookupPrincipalByName(System.getProperty("user.name"));
        try (Stream<Path> entries = Files.list(tmp)) {
            for (Path old : entries.filter(p -> p.getFileName().toString().startsWith(prefix)).toList()) {
                if (Files.isDirectory(old, LinkOption.NOFOLLOW_LINKS)
                        && me.equals(Files.getOwner(old, LinkOption.NOFOLLOW_LINKS))) {
                    removeDirectory(old);
                }
            }
        }
    }

    private static void removeDirectory(Path directory) throws IOException {
        try (Stream<Path> files = Files.list(directory)) {
            for (Path file : files.toList()) {
                Files.deleteIfExists(file);
            }
        }
        Files.deleteIfExists(directory);
    }

    boolean inSegment() {
        return segment != null;
    }

    /** Whether a transaction has been streamed in part: nothing past its start may be confirmed. */
    boolean anyInProgress() {
        return !inProgress.isEmpty();
    }

    void start(StreamStart start) {
        if (segment != null) {
            throw new UnexpectedMessageException("STREAM START of transaction " + start.xid() + " inside a segment of "
                    + segment.spool.xid());
        }
        InProgress txn = inProgress.get(start.xid());
        if (start.firstSegment()) {
            if (txn != null) {
                txn.spool.close();
            }
            txn = new InProgress(io(() -> SpooledTransaction.create(dir, start.xid())));
            inProgress.put(start.xid(), txn);
        } else if (txn == null) {
            // Applying the rest alone would lose the beginning.
            throw new UnexpectedMessageException("STREAM START of a later segment of transaction " + start.xid()
                    + ", whose first segment this session did not receive");
        }
        segment = txn;
    }

    /** Spools a change of the open segment's transaction, made by (sub)transaction {@code xid}. */
    void append(long xid, byte[] payload) {
        SpooledTransaction spool = segment("a change").spool;
        io(() -> {
            spool.append(xid, payload);
            return null;
        });
    }

    /** The open segment's transaction; an {@link UnexpectedMessageException} outside a segment. */
    InProgress segment(String what) {
        if (segment == null) {
            throw new UnexpectedMessageException(what + " outside a stream segment");
        }
        return segment;
    }

    void stop(StreamStop stop) {
        segment("STREAM STOP");
        segment = null;
    }

    /** The transaction {@code xid} committed: its changes, for the caller to apply and then close. */
    InProgress committed(long xid) {
        InProgress txn = inProgress.remove(xid);
        if (txn == null || segment != null) {
            throw new UnexpectedMessageException("STREAM COMMIT of transaction " + xid
                    + (txn == null ? ", which streamed nothing" : " inside a segment"));
        }
        return txn;
    }

    void aborted(StreamAbort abort) {
        InProgress txn = inProgress.get(abort.xid());
        if (txn == null) {
            return; // it aborted before anything of it reached this session
        }
        if (abort.wholeTransaction()) {
            inProgress.remove(abort.xid()).spool.close();
        } else {
            io(() -> {
                txn.spool.abortSubtransaction(abort.subXid());
                return null;
            });
        }
    }

    private interface FileWork<T> {
        T run() throws IOException;
    }

    /** A spool file's failure fails the session, as any other: the next one starts over. */
    private static <T> T io(FileWork<T> work) {
        try {
            return work.run();
        } catch (IOException e) {
            throw new UncheckedIOException("spooling a streamed transaction failed: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        UncheckedIOException failure = null;
        for (InProgress txn : inProgress.values()) {
            try {
                txn.spool.close();
            } catch (UncheckedIOException e) {
                failure = e;
            }
        }
        inProgress.clear();
        segment = null;
        try {
            removeDirectory(dir);
        } catch (IOException e) {
            failure = new UncheckedIOException("could not remove spool directory " + dir, e);
        }
        if (failure != null) {
            throw failure;
        }
    }
}
