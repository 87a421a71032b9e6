package io.pgactive.it;

/**
 * A test's background work on a thread of its own, such as a workload writer: {@link #start},
 * then {@link #stop}, which waits for the loop to end. A loop that does not end within a minute
 * of being asked fails the test rather than hanging it.
 */
abstract class BackgroundLoop implements Runnable {

    private static final long STOP_TIMEOUT_MILLIS = 60_000;

    private final Thread thread;
    private volatile boolean running = true;

    BackgroundLoop(String name) {
        thread = new Thread(this, name);
        thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    /** Whether the loop should go on: true until {@link #stop}. */
    final boolean running() {
        return running;
    }

    final boolean isAlive() {
        return thread.isAlive();
    }

    void stop() {
        running = false;
        try {
            thread.join(STOP_TIMEOUT_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive()) {
            throw new IllegalStateException(thread.getName() + " did not stop");
        }
    }
}
