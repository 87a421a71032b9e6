package io.pgactive.link;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The changes of one large transaction the upstream streams while it is in progress (pgoutput
 * protocol version 2), kept in a file until the transaction ends: applied from it at its commit,
 * dropped at its abort. Nothing of it stays in the heap but the file's position and where each
 * subtransaction began, so a transaction of any size fits in a small heap.
 *
 * <p>A subtransaction's changes, and those of subtransactions begun inside it, follow its first
 * change in the stream: nothing else of the transaction can run while it is open. So a
 * subtransaction's abort cuts the file back to where it began (as PostgreSQL's own apply worker
 * does). The file is the receiver's alone, and goes when the transaction ends or the session does:
 * after a reconnection the upstream streams the transaction again from its start.
 */
final class SpooledTransaction implements AutoCloseable {

    /** A subtransaction that has changes in the file: where the first of them begins, and how many came before. */
    private record Subtransaction(long xid, long start, long changesBefore) {
    }

    private final long xid;
    private final Path file;
    private final FileChannel channel;
    private DataOutputStream out;
    /** Those with changes in the file, in the order their first change came. */
    private final List<Subtransaction> subtransactions = new ArrayList<>();
    /**
     * Their xids, for the check at each change: a transaction can have a subtransaction per row
     * (a PL/pgSQL loop with an EXCEPTION block), so a search of the list would be quadratic.
     */
    private final Map<Long, Integer> positions = new HashMap<>();
    private long size;
    private long changes;

    private SpooledTransaction(long xid, Path file) throws IOException {
        this.xid = xid;
        this.file = file;
        this.channel = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.READ);
        this.out = output();
    }

    /** A new, empty spool file in {@code dir} for top-level transaction {@code xid}. */
    static SpooledTransaction create(Path dir, long xid) throws IOException {
        return new SpooledTransaction(xid, Files.createTempFile(dir, "stream-" + xid + "-", ".spool"));
    }

    long xid() {
        return xid;
    }

    /** How many changes the file holds (after cuts). */
    long changes() {
        return changes;
    }

    /** Appends one message of the transaction, made by {@code subXid} (the transaction's own xid for the top level). */
    void append(long subXid, byte[] payload) throws IOException {
        if (subXid != xid && !positions.containsKey(subXid)) {
            positions.put(subXid, subtransactions.size());
            subtransactions.add(new Subtransaction(subXid, size, changes));
        }
        out.writeInt(payload.length);
        out.write(payload);
        size += 4L + payload.length;
        changes++;
    }

    /**
     * The subtransaction {@code subXid} aborted: its changes, and those that came after its first
     * (its own subtransactions'), are cut off. One that had sent nothing leaves the file as it is.
     */
    void abortSubtransaction(long subXid) throws IOException {
        Integer index = positions.get(subXid);
        if (index == null) {
            return;
        }
        Subtransaction aborted = subtransactions.get(index);
        List<Subtransaction> cut = subtransactions.subList(index, subtransactions.size());
        cut.forEach(s -> positions.remove(s.xid()));
        cut.clear();
        out.flush();
        channel.truncate(aborted.start());
        size = aborted.start();
        changes = aborted.changesBefore();
        out = output();
    }

    /** Reads the changes back, in the order they came, for applying at commit. */
    Reader read() throws IOException {
        out.flush();
        return new Reader(new DataInputStream(new BufferedInputStream(
                Channels.newInputStream(FileChannel.open(file, StandardOpenOption.READ)), 1 << 16)), changes);
    }

    /** The spooled changes, one at a time. */
    final class Reader implements AutoCloseable {

        private final DataInputStream in;
        private long left;

        private Reader(DataInputStream in, long count) {
            this.in = in;
            this.left = count;
        }

        /** The next change, or null after the last. */
        byte[] next() throws IOException {
            if (left == 0) {
                return null;
            }
            try {
                byte[] payload = new byte[in.readInt()];
                in.readFully(payload);
                left--;
                return payload;
            } catch (EOFException e) {
                throw new IOException("spool file " + file + " of transaction " + xid + " ends early", e);
            }
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }

    /** Removes the file. */
    @Override
    public void close() {
        try {
            channel.close();
            Files.deleteIfExists(file);
        } catch (IOException e) {
            throw new UncheckedIOException("could not remove spool file " + file, e);
        }
    }

    private DataOutputStream output() throws IOException {
        channel.position(size);
        // Not closed on its own: closing it would close the channel; flushed before every read or cut.
        return new DataOutputStream(new BufferedOutputStream(Channels.newOutputStream(channel), 1 << 16));
    }
}
