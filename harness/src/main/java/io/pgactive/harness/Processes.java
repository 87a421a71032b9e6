package io.pgactive.harness;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Process liveness as PostgreSQL's own lock-file check would see it, minus zombies.
 *
 * <p>pg_ctl daemonises the postmaster, so it is re-parented to PID 1. In containers PID 1 often
 * never reaps children, and a killed or stopped postmaster then stays a zombie forever.
 * {@link ProcessHandle#isAlive()} (and {@code kill(pid, 0)}) report zombies as alive, so this
 * class reads the state letter from {@code /proc/<pid>/stat} instead.
 */
public final class Processes {

    private static final Path PROC = Path.of("/proc");

    private Processes() {
    }

    /** True if the process exists and is neither a zombie nor dead. */
    public static boolean isAlive(long pid) {
        Character state = state(pid);
        if (state != null) {
            return state != 'Z' && state != 'X';
        }
        if (Files.isDirectory(PROC.resolve("self"))) {
            return false; // /proc works, so no entry means no process
        }
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    /** True if the process has exited but nobody reaped it. */
    public static boolean isZombie(long pid) {
        Character state = state(pid);
        return state != null && state == 'Z';
    }

    /** SIGKILL; a no-op if the process is already gone. */
    public static void kill9(long pid) {
        ProcessHandle.of(pid).ifPresent(p -> {
            if (!p.destroyForcibly() && isAlive(pid)) {
                // ProcessHandle refuses some processes; the kill command does not.
                OsCommand.of("kill", "-9", Long.toString(pid)).runAllowingFailure();
            }
        });
    }

    /** The state letter from /proc/[pid]/stat (R, S, D, Z, ...), or null if unknown. */
    private static Character state(long pid) {
        try {
            String stat = Files.readString(PROC.resolve(Long.toString(pid)).resolve("stat"));
            // The command name in parentheses may itself contain ") ", so search from the end.
            int end = stat.lastIndexOf(')');
            return end >= 0 && end + 2 < stat.length() ? stat.charAt(end + 2) : null;
        } catch (IOException e) {
            return null; // typically NoSuchFileException: the process is gone (and reaped)
        }
    }
}
