package io.pgactive.node;

/** Back-off waits that end early, without an exception, when the thread is interrupted. */
final class Pause {

    private Pause() {
    }

    /** Returns false if interrupted (the caller should stop). */
    static boolean sleep(long millis) {
        try {
            Thread.sleep(millis);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
