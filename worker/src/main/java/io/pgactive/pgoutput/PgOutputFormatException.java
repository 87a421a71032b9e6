package io.pgactive.pgoutput;

/**
 * A pgoutput payload that this decoder cannot read: an unknown message type, a truncated message,
 * an unexpected marker byte, or bytes left over after a complete message.
 *
 * <p>Unchecked because a malformed payload means the stream and the decoder disagree about the
 * protocol (wrong {@code proto_version}, a server bug, a framing bug of ours); no caller can recover
 * by retrying the same bytes, so the replication session has to be torn down anyway.
 */
public final class PgOutputFormatException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public PgOutputFormatException(String message) {
        super(message);
    }
}
