package io.pgactive.pg;

/** What kind of failure an exception from the server or the driver is. */
public final class ServerErrors {

    private ServerErrors() {
    }

    /** Whether the server refused a duplicate key (SQLSTATE 23505). */
    public static boolean isUniqueViolation(Exception e) {
        return "23505".equals(ServerError.of(e).sqlState());
    }

    /**
     * Whether the error is about reaching a server (no connection, a lost one, a server shutting
     * down or full) rather than about what was done on it: passing, where the other kind stays
     * until someone acts.
     */
    public static boolean isConnectionProblem(Exception e) {
        String state = ServerError.of(e).sqlState();
        return state == null || state.startsWith("08") || state.startsWith("57P") || state.equals("53300");
    }

    /** The server's own message for a log line (not a failed batch's statement text and values). */
    public static String summary(Exception e) {
        ServerError error = ServerError.of(e);
        return error.message() + (error.detail() == null ? "" : " (" + error.detail() + ")");
    }
}
