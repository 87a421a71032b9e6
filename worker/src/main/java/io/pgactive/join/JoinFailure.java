package io.pgactive.join;

/** A join step failed for a reason the user must hear about in pgactive_wait_for_node_ready. */
public final class JoinFailure extends Exception {

    public JoinFailure(String message) {
        super(message);
    }

    public JoinFailure(String message, Throwable cause) {
        super(message + ": " + cause.getMessage(), cause);
    }
}
