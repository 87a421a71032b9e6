package io.pgactive.conn;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;

/**
 * A TCP socket whose input answers pgjdbc's "is anything there?" probe at once. pgjdbc's
 * non-blocking read of a replication stream ({@code readPending()}) asks that by reading with a
 * 1 ms timeout; when nothing has arrived, the read waits that millisecond and the JDK then
 * throws a {@link SocketTimeoutException} with a full stack trace, which pgjdbc catches. An idle
 * link polls about a hundred times a second, so that was 2% of a core per idle link, spent
 * filling in stack traces, and a millisecond's wait before each pipelined send at moderate load.
 * Here a read with that 1 ms timeout and no byte in the kernel's buffer fails at once, with an
 * exception that records no stack trace: to pgjdbc the same answer, "not yet". Reads with data
 * waiting, and every other timeout, are the JDK's own.
 */
final class ProbeFriendlySocket extends Socket {

    /** The timeout pgjdbc sets for its probe ({@code PGStream.hasMessagePending}). */
    static final int PROBE_TIMEOUT_MILLIS = 1;

    private InputStream input;

    @Override
    public synchronized InputStream getInputStream() throws IOException {
        if (input == null) {
            input = new ProbeFriendlyInput(super.getInputStream());
        }
        return input;
    }

    private final class ProbeFriendlyInput extends FilterInputStream {
        ProbeFriendlyInput(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            answerProbe();
            return super.read();
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            answerProbe();
            return super.read(b, off, len);
        }

        private void answerProbe() throws IOException {
            if (getSoTimeout() == PROBE_TIMEOUT_MILLIS && in.available() == 0) {
                throw new NothingYet();
            }
        }
    }

    /** A timeout without a stack trace: it is an answer, not an error, and costs nothing to make. */
    private static final class NothingYet extends SocketTimeoutException {
        private static final long serialVersionUID = 1L;

        NothingYet() {
            super("Read timed out");
        }

        @Override
        public synchronized Throwable fillInStackTrace() {
            return this;
        }
    }
}
