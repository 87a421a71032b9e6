package io.pgactive.harness;

import java.time.Duration;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * Polls a condition until it holds or a deadline passes. Tests use this instead of sleeping: a
 * sleep is either too short (flaky) or too long (slow), a poll is neither.
 *
 * <p>Conditions may throw (a replica table that does not exist yet, a node still starting, a failed
 * assertion); that counts as "not yet", and the last such failure becomes the cause of the timeout
 * error so the report shows why the condition never held.
 */
public final class Await {

    /** Interval between polls: short enough that tests don't idle, long enough not to hammer a server. */
    static final Duration POLL_INTERVAL = Duration.ofMillis(50);

    private Await() {
    }

    /** A condition that may throw; a throw counts as false. */
    @FunctionalInterface
    public interface Condition {
        boolean test() throws Exception;
    }

    /** Produces a value that may not be available yet (null, or a throw, means not yet). */
    @FunctionalInterface
    public interface Probe<T> {
        T get() throws Exception;
    }

    /**
     * Waits until {@code condition} returns true.
     *
     * @param what completes the sentence "timed out after 10s waiting for ...", e.g. "row 42 on node2"
     * @throws AssertionError if the condition did not hold in time
     */
    public static void until(Duration timeout, String what, Condition condition) {
        value(timeout, what, () -> condition.test() ? Boolean.TRUE : null);
    }

    /**
     * Waits until {@code probe} returns a non-null value and returns it.
     *
     * @throws AssertionError if no value came in time
     */
    public static <T> T value(Duration timeout, String what, Probe<T> probe) {
        return poll(timeout, what, probe, Objects::nonNull);
    }

    /**
     * Waits until {@code probe} returns a value equal to {@code expected}; the timeout error says what
     * the last value was, which usually explains the failure better than "timed out".
     */
    public static <T> T untilEquals(Duration timeout, String what, T expected, Probe<T> probe) {
        return poll(timeout, what + " to be " + expected, probe, v -> Objects.equals(v, expected));
    }

    /**
     * Checks that {@code condition} keeps holding for the whole {@code period}, for what must not
     * happen (a row that must not arrive). Fails at the first poll where it does not hold; a throw
     * counts as not holding. Only as strong as the period is long: pair it with a positive check
     * that the thing cannot happen (a stopped stream) and keep the period short.
     *
     * @param what completes the sentence "... stopped holding after 1.2s", e.g. "no row on node2"
     */
    public static void holdsFor(Duration period, String what, Condition condition) {
        long start = System.nanoTime();
        long end = start + period.toNanos();
        while (true) {
            boolean holds = false;
            Exception failure = null;
            try {
                holds = condition.test();
            } catch (Exception e) {
                failure = e;
            }
            if (!holds) {
                throw new AssertionError(what + " stopped holding after "
                        + format(Duration.ofNanos(System.nanoTime() - start)), failure);
            }
            if (System.nanoTime() - end >= 0) {
                return;
            }
            sleepOnePoll(what);
        }
    }

    private static <T> T poll(Duration timeout, String what, Probe<T> probe, Predicate<T> accept) {
        long start = System.nanoTime();
        long deadline = start + timeout.toNanos();
        Throwable lastFailure = null;
        T lastValue = null;
        boolean sawValue = false;
        while (true) {
            try {
                T value = probe.get();
                if (accept.test(value)) {
                    return value;
                }
                lastValue = value;
                sawValue = true;
            } catch (Exception | AssertionError e) {
                lastFailure = e;
            }
            // Check after probing so that the condition is always tried at least once, and once more
            // at (or just after) the deadline.
            if (System.nanoTime() - deadline >= 0) {
                break;
            }
            sleepOnePoll(what);
        }
        StringBuilder message = new StringBuilder("timed out after ")
                .append(format(Duration.ofNanos(System.nanoTime() - start)))
                .append(" waiting for ").append(what);
        if (sawValue && lastValue != null) {
            message.append(" (last value: ").append(lastValue).append(')');
        }
        if (lastFailure != null) {
            message.append(" (last failure: ").append(lastFailure).append(')');
        }
        return fail(message.toString(), lastFailure);
    }

    private static void sleepOnePoll(String what) {
        try {
            Thread.sleep(POLL_INTERVAL.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while waiting for " + what, e);
        }
    }

    private static <T> T fail(String message, Throwable cause) {
        throw new AssertionError(message, cause);
    }

    private static String format(Duration d) {
        return String.format("%.1fs", d.toMillis() / 1000.0);
    }
}
