package io.pgactive.link;

import io.pgactive.pg.PgTimestamps;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches a peer's clock through the times its stream carries (commit times, heartbeats).
 * Last update wins compares commit times of different nodes, so a peer whose clock runs ahead
 * wins conflicts it should lose, and would move the tombstone horizon past deletes still to come.
 * A time from the peer can only be behind this node's clock (it was sent before it arrived);
 * one ahead by more than {@value #TOLERANCE_MILLIS} ms is the peer's clock being ahead: said once
 * per link in the log, and shown in view pgactive_links.
 *
 * <p>Used by the link's own thread only.
 */
final class PeerClock {

    static final long TOLERANCE_MILLIS = 1_000;

    private static final Logger log = LoggerFactory.getLogger(PeerClock.class);

    /** How long an observation of the peer's clock ahead is reported after it was made. */
    static final long REPORT_MILLIS = 60_000;

    private final String peer;
    private long aheadMillis;
    private long aheadSeenAt;
    private boolean warned;

    PeerClock(String peer) {
        this.peer = peer;
    }

    /** A time {@code peerMicros} (PostgreSQL's epoch) read from the peer's stream just now. */
    void observe(long peerMicros) {
        long now = System.currentTimeMillis();
        long ahead = (peerMicros - PgTimestamps.nowMicros()) / 1000;
        if (ahead <= TOLERANCE_MILLIS) {
            return;
        }
        if (ahead >= aheadMillis || now - aheadSeenAt > REPORT_MILLIS) {
            aheadMillis = ahead;
            aheadSeenAt = now;
        }
        if (!warned) {
            log.warn("the clock of node {} is at least {} ms ahead of this node's: last update wins favours"
                    + " its changes; synchronize the clocks (NTP)", peer, ahead);
            warned = true;
        }
    }

    /** A time from the peer, no later than this node's now: what it says about the past holds here. */
    static long notAfterNow(long peerMicros) {
        return Math.min(peerMicros, PgTimestamps.nowMicros());
    }

    /** The most the peer's clock was seen ahead within the last {@value #REPORT_MILLIS} ms; 0 if none. */
    long aheadMillis() {
        return System.currentTimeMillis() - aheadSeenAt > REPORT_MILLIS ? 0 : aheadMillis;
    }
}
