package io.pgactive.conflict;

import java.math.BigInteger;

/**
 * The default resolution: the change committed last wins; equal commit times go to the higher
 * system identifier, so that every node picks the same winner.
 */
public final class LastUpdateWins {

    private LastUpdateWins() {
    }

    public static boolean remoteWins(LocalRow local, RemoteTransaction remote) {
        // The remote change always has a commit time.
        return isLater(remote.commitTimeMicros(), remote.origin().sysid(), local.commitTimeMicros(), local.writer().sysid());
    }

    /** Whether version {@code a} is later than {@code b} by the same rule (a version with no commit time is the oldest). */
    public static boolean later(LocalRow a, LocalRow b) {
        return isLater(a.commitTimeMicros(), a.writer().sysid(), b.commitTimeMicros(), b.writer().sysid());
    }

    static boolean isLater(Long time, String sysid, Long otherTime, String otherSysid) {
        if (time == null || otherTime == null) {
            return otherTime == null && time != null;
        }
        int byTime = Long.compare(time, otherTime);
        if (byTime != 0) {
            return byTime > 0;
        }
        return new BigInteger(sysid).compareTo(new BigInteger(otherSysid)) > 0;
    }

    /**
     * The same rule in SQL, for a conflict resolved inside a compiled procedure: the arguments
     * are SQL expressions for the commit times (timestamptz, microseconds as here) and system
     * identifiers (text). The local row's time is never null there.
     */
    public static String remoteWinsSql(String localTime, String localSysid, String remoteTime, String remoteSysid) {
        return "((" + remoteTime + "), (" + remoteSysid + ")::numeric) > ((" + localTime + "), (" + localSysid
                + ")::numeric)";
    }
}
