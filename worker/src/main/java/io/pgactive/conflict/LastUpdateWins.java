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
        if (local.commitTimeMicros() == null) {
            return true;
        }
        int byTime = Long.compare(remote.commitTimeMicros(), local.commitTimeMicros());
        if (byTime != 0) {
            return byTime > 0;
        }
        return new BigInteger(remote.origin().sysid()).compareTo(new BigInteger(local.writer().sysid())) > 0;
    }

    /** Whether version {@code a} is later than {@code b} by the same rule (a version with no commit time is the oldest). */
    public static boolean later(LocalRow a, LocalRow b) {
        if (a.commitTimeMicros() == null || b.commitTimeMicros() == null) {
            return b.commitTimeMicros() == null && a.commitTimeMicros() != null;
        }
        int byTime = Long.compare(a.commitTimeMicros(), b.commitTimeMicros());
        if (byTime != 0) {
            return byTime > 0;
        }
        return new BigInteger(a.writer().sysid()).compareTo(new BigInteger(b.writer().sysid())) > 0;
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
