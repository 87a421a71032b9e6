package io.pgactive.harness;

import java.util.List;

/**
 * An OS command exited with a non-zero status or ran out of time. The message carries the command
 * line and everything it printed, because "initdb failed" alone never explains anything.
 */
public final class CommandFailedException extends RuntimeException {

    /** Exit code used when the command was killed because it ran out of time. */
    public static final int TIMED_OUT = -1;

    private final List<String> command;
    private final int exitCode;
    private final String output;

    CommandFailedException(List<String> command, int exitCode, String output, String why) {
        super(why + ": " + String.join(" ", command) + "\n--- output ---\n" + output);
        this.command = List.copyOf(command);
        this.exitCode = exitCode;
        this.output = output;
    }

    public List<String> command() {
        return command;
    }

    /** The exit status, or {@link #TIMED_OUT}. */
    public int exitCode() {
        return exitCode;
    }

    /** Combined stdout and stderr. */
    public String output() {
        return output;
    }
}
