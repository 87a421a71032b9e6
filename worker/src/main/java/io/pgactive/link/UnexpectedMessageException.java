package io.pgactive.link;

/**
 * A pgoutput message where the protocol has none (a change outside a transaction, a BEGIN
 * inside one): the stream and this link disagree, so the session is torn down and restarts from
 * the origin's progress. Unchecked for the same reason as {@link io.pgactive.pgoutput.PgOutputFormatException}.
 */
final class UnexpectedMessageException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    UnexpectedMessageException(String message) {
        super(message);
    }
}
