package io.pgactive.harness;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs one OS command with a timeout and captures its combined output.
 *
 * <pre>{@code
 * OsCommand.of(pg.initdb().toString(), "-D", dir).asPostgresUser().timeout(Duration.ofMinutes(2)).run();
 * }</pre>
 *
 * Output goes to a temporary file rather than a pipe: {@code pg_ctl start} leaves a daemon behind,
 * and a daemon that inherited our pipe would keep it open and make "read until EOF" hang.
 */
public final class OsCommand {

    /** The OS user that owns every cluster when the JVM runs as root (PostgreSQL refuses root). */
    public static final String POSTGRES_USER = "postgres";

    private static final boolean RUNNING_AS_ROOT = detectRoot();

    private final List<String> command;
    private boolean asPostgres;
    private Duration timeout = Duration.ofSeconds(60);
    private Path workDir;

    private OsCommand(List<String> command) {
        if (command.isEmpty()) {
            throw new IllegalArgumentException("empty command");
        }
        this.command = List.copyOf(command);
    }

    /** Arguments may be Strings, Paths or anything else; each is turned into one argv word. */
    public static OsCommand of(Object... command) {
        List<String> words = new ArrayList<>();
        for (Object word : command) {
            words.add(String.valueOf(word));
        }
        return new OsCommand(words);
    }

    public static OsCommand of(List<String> command) {
        return new OsCommand(command);
    }

    /** True when the JVM runs as root, in which case cluster commands must run as {@value #POSTGRES_USER}. */
    public static boolean runningAsRoot() {
        return RUNNING_AS_ROOT;
    }

    /** Run as the {@value #POSTGRES_USER} OS user when the JVM is root; a no-op otherwise. */
    public OsCommand asPostgresUser() {
        this.asPostgres = true;
        return this;
    }

    public OsCommand timeout(Duration timeout) {
        this.timeout = timeout;
        return this;
    }

    /** Working directory; use one the postgres user can enter, or initdb warns about it. */
    public OsCommand workDir(Path dir) {
        this.workDir = dir;
        return this;
    }

    /** Runs the command; throws {@link CommandFailedException} on a non-zero exit or a timeout. */
    public Result run() {
        Result result = runAllowingFailure();
        if (result.exitCode() != 0) {
            throw new CommandFailedException(result.command(), result.exitCode(), result.output(),
                    "command exited with status " + result.exitCode());
        }
        return result;
    }

    /** Runs the command and returns whatever exit status it had; still throws on a timeout. */
    public Result runAllowingFailure() {
        List<String> argv = new ArrayList<>();
        if (asPostgres && RUNNING_AS_ROOT) {
            argv.addAll(List.of("runuser", "-u", POSTGRES_USER, "--"));
        }
        argv.addAll(command);

        Path out = null;
        try {
            out = Files.createTempFile("pgactive-cmd-", ".out");
            ProcessBuilder pb = new ProcessBuilder(argv)
                    .redirectErrorStream(true)
                    .redirectOutput(out.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            if (workDir != null) {
                pb.directory(workDir.toFile());
            }
            scrubEnvironment(pb.environment());
            Process process = pb.start();
            boolean finished;
            try {
                finished = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                killTree(process);
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while running " + String.join(" ", argv), e);
            }
            if (!finished) {
                killTree(process);
                throw new CommandFailedException(argv, CommandFailedException.TIMED_OUT, readOutput(out),
                        "command timed out after " + timeout.toSeconds() + "s");
            }
            return new Result(argv, process.exitValue(), readOutput(out));
        } catch (IOException e) {
            throw new UncheckedIOException("could not run " + String.join(" ", argv), e);
        } finally {
            if (out != null) {
                try {
                    Files.deleteIfExists(out);
                } catch (IOException ignored) {
                    // a leftover temp file is not worth failing a test over
                }
            }
        }
    }

    /** Exit status and combined stdout/stderr of a finished command. */
    public record Result(List<String> command, int exitCode, String output) {
    }

    /**
     * PG* variables of whoever runs the build (PGDATA, PGPORT, PGOPTIONS ...) must not leak into the
     * clusters; LC_ALL=C keeps messages in English so the harness can recognise them.
     */
    private static void scrubEnvironment(Map<String, String> env) {
        env.keySet().removeIf(key -> key.startsWith("PG"));
        env.put("LC_ALL", "C");
    }

    /** runuser does not pass SIGKILL on, so kill its children explicitly. */
    private static void killTree(Process process) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
    }

    private static String readOutput(Path out) throws IOException {
        return new String(Files.readAllBytes(out), StandardCharsets.UTF_8);
    }

    private static boolean detectRoot() {
        if ("root".equals(System.getProperty("user.name"))) {
            return true;
        }
        try {
            return Integer.valueOf(0).equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return false;
        }
    }
}
