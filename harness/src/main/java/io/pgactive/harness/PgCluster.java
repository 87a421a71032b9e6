package io.pgactive.harness;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * One real PostgreSQL cluster (initdb + pg_ctl), listening on a private loopback port.
 *
 * <pre>{@code
 * try (PgCluster node = PgCluster.builder("node1").preloadPgactive(false).build().start()) {
 *     node.queryLong("postgres", "select 1");
 * }
 * }</pre>
 *
 * <p>Layout: {@code <base>/<name>/data} (PGDATA), {@code <base>/<name>/server.log}, and the Unix
 * socket in {@code <base>/<name>} itself. The default base is one directory per test JVM under
 * {@value #ROOT_DIR}. When the JVM runs as root everything runs as the {@code postgres} OS user.
 *
 * <p>{@link #close()} never leaves a postmaster behind, and a JVM shutdown hook stops any cluster
 * that was never closed, so an aborted test run does not leak servers.
 */
public final class PgCluster implements AutoCloseable {

    /** Shared by every test run on the machine; each JVM gets its own subdirectory. */
    public static final String ROOT_DIR = "/tmp/pgactive-tests";

    /** The superuser initdb creates; the harness's own connections use it. */
    public static final String SUPERUSER = "postgres";
    /**
     * An application role every cluster has from its first start (LOGIN, not a superuser, no
     * privileges): workload writers connect as it, to tables it owns, as applications do.
     */
    public static final String APP_ROLE = "app";

    private static final Duration PG_CTL_WAIT = Duration.ofSeconds(60);
    /** Our own timeout around pg_ctl: its -t plus slack, so pg_ctl reports the problem itself. */
    private static final Duration PG_CTL_TIMEOUT = PG_CTL_WAIT.plusSeconds(30);
    private static final Duration PROCESS_EXIT_WAIT = Duration.ofSeconds(30);
    private static final int PORT_RETRIES = 3;
    /** sun_path holds 108 bytes; PostgreSQL also appends "/.s.PGSQL.<port>" (at most 16 chars). */
    private static final int MAX_SOCKET_DIR_LENGTH = 90;
    private static final String CONF_MARKER = "# ---- written by the pgactive test harness (io.pgactive.harness.PgCluster) ----";
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.-]{1,40}");
    private static final Pattern HBA_REPLICATION =
            Pattern.compile("(?m)^\\s*host\\s+replication\\s+all\\s+127\\.0\\.0\\.1/32\\s+trust\\s*$");

    /** Clusters not yet closed; the shutdown hook stops those still running. */
    private static final Set<PgCluster> OPEN = ConcurrentHashMap.newKeySet();
    /** Ports handed out by this JVM, so two clusters built back to back never get the same one. */
    private static final Set<Integer> PORTS_HANDED_OUT = new HashSet<>();
    private static Path runDir;

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(PgCluster::shutdownHook, "pgactive-harness-shutdown"));
    }

    private final String name;
    private final Path dir;
    private final Path dataDir;
    private final Path logFile;
    private final PgInstall pg;
    /** Everything the harness writes into postgresql.conf, in order; keys are lower case. */
    private final Map<String, String> settings = new LinkedHashMap<>();
    /** Of the superuser and the application role; null for trust authentication. */
    private final String password;
    private volatile int port;
    /** Once a server has run on a port, others (e.g. peers' replication connections) may depend on it. */
    private boolean startedOnce;
    /** A copy of another cluster has its roles already. */
    private boolean hasAppRole;
    private volatile boolean closed;

    private PgCluster(String name, Path dir, PgInstall pg, String password) {
        this.name = name;
        this.dir = dir;
        this.dataDir = dir.resolve("data");
        this.logFile = dir.resolve("server.log");
        this.pg = pg;
        this.password = password;
    }

    public static Builder builder(String name) {
        return new Builder(name);
    }

    /** Options for a new cluster; {@link #build()} runs initdb but does not start the server. */
    public static final class Builder {
        private final String name;
        private boolean preloadPgactive = true;
        private final Map<String, String> extraSettings = new LinkedHashMap<>();
        private Path baseDir;
        private PgInstall install;
        private String password;
        private Consumer<PgCluster> onBuild;
        private PgCluster copyOf;
        private boolean standby;

        private Builder(String name) {
            if (!NAME.matcher(name).matches()) {
                throw new IllegalArgumentException("cluster name must match " + NAME + ": " + name);
            }
            this.name = name;
        }

        /** Whether to set {@code shared_preload_libraries = 'pgactive'} (default true). */
        public Builder preloadPgactive(boolean preload) {
            this.preloadPgactive = preload;
            return this;
        }

        /**
         * An extra postgresql.conf setting, written after the harness defaults; a later call for the
         * same key wins. Give the raw value (e.g. {@code "pgactive,pg_stat_statements"}): the harness
         * quotes it, which PostgreSQL accepts for settings of every type.
         */
        public Builder setting(String key, String value) {
            String k = checkSettingKey(key);
            extraSettings.remove(k);
            extraSettings.put(k, value);
            return this;
        }

        /**
         * Password authentication ({@code scram-sha-256}) for every connection, local and TCP,
         * replication too, instead of trust: the superuser and the application role get this
         * password, the harness sends it, and the pgactive worker reads it from a password file
         * named by {@code pgactive.local_passfile}, as a DBA would set it up.
         */
        public Builder password(String password) {
            this.password = password;
            return this;
        }

        /** Parent directory for the cluster directory (default: one directory per JVM under {@value #ROOT_DIR}). */
        public Builder baseDir(Path baseDir) {
            this.baseDir = baseDir.toAbsolutePath();
            return this;
        }

        /** Installation to use (default {@link PgInstall#get()}). */
        public Builder install(PgInstall install) {
            this.install = install;
            return this;
        }

        /**
         * A physical copy of a running cluster (pg_basebackup) instead of a new one: a streaming
         * standby of it when {@code standby}, else a copy that starts as a server of its own. It
         * has the source's settings, on a port of its own.
         */
        public Builder copyOf(PgCluster source, boolean standby) {
            this.copyOf = source;
            this.standby = standby;
            return this;
        }

        /** Lets the JUnit extension (tests module) take ownership of every cluster built from its builders. */
        Builder onBuild(Consumer<PgCluster> onBuild) {
            this.onBuild = onBuild;
            return this;
        }

        /** Creates the directory, runs initdb and writes the configuration. The server is not started. */
        public PgCluster build() {
            PgInstall pg = install != null ? install : PgInstall.get();
            Path base = baseDir != null ? baseDir : defaultRunDir();
            Path dir = createClusterDir(base, name);
            PgCluster cluster = new PgCluster(name, dir, pg, password);
            OPEN.add(cluster);
            if (onBuild != null) {
                onBuild.accept(cluster); // before initdb, so a failed initdb is still cleaned up/reported
            }
            if (copyOf != null) {
                cluster.basebackup(copyOf, standby);
            } else {
                cluster.initdb(preloadPgactive, extraSettings);
            }
            return cluster;
        }

        /** {@link #build()} and {@link PgCluster#start()}. */
        public PgCluster start() {
            return build().start();
        }
    }

    // ---------------------------------------------------------------- creation

    private void initdb(boolean preloadPgactive, Map<String, String> extraSettings) {
        if (password == null) {
            OsCommand.of(pg.initdb(), "-D", dataDir, "-A", "trust", "-U", SUPERUSER, "-E", "UTF8",
                            "--locale=C", "--no-sync")
                    .asPostgresUser().workDir(dir).timeout(Duration.ofMinutes(2)).run();
            // initdb -A trust already allows local replication connections; make sure, since peers'
            // walsender connections depend on it.
            Path hba = dataDir.resolve("pg_hba.conf");
            String hbaText = read(hba);
            if (!HBA_REPLICATION.matcher(hbaText).find()) {
                write(hba, hbaText + "\nhost    replication     all     127.0.0.1/32    trust\n");
            }
        } else {
            Path pwfile = dir.resolve("initdb.pw");
            Path passfile = dir.resolve("pgpass");
            writePrivate(pwfile, password + "\n");
            writePrivate(passfile, "*:*:*:" + SUPERUSER + ":" + password.replace("\\", "\\\\").replace(":", "\\:") + "\n");
            OsCommand.of(pg.initdb(), "-D", dataDir, "-A", "scram-sha-256", "--pwfile=" + pwfile, "-U", SUPERUSER,
                            "-E", "UTF8", "--locale=C", "--no-sync")
                    .asPostgresUser().workDir(dir).timeout(Duration.ofMinutes(2)).run();
            deleteQuietly(pwfile);
            settings.put("pgactive.local_passfile", passfile.toString());
        }

        port = pickFreePort();
        settings.put("listen_addresses", "127.0.0.1");
        settings.put("unix_socket_directories", dir.toString());
        settings.put("wal_level", "logical");
        settings.put("track_commit_timestamp", "on"); // last-update-wins conflict handling needs it
        settings.put("max_replication_slots", "16");
        settings.put("max_wal_senders", "16");
        settings.put("max_worker_processes", "16");
        settings.put("max_connections", "100");
        settings.put("fsync", "off"); // test data is disposable; an OS crash is not a scenario here
        settings.put("synchronous_commit", "on");
        settings.put("wal_sender_timeout", "10s"); // notice dead peers quickly
        settings.put("log_line_prefix", "%m [%p] %q%a ");
        if (preloadPgactive) {
            settings.put("shared_preload_libraries", "pgactive");
            if (pg.hasSetting("output_plugin_libraries")) {
                settings.put("output_plugin_libraries", "pgoutput, test_decoding, pgactive");
            }
        }
        settings.putAll(extraSettings);
        writeConf();
    }

    private void basebackup(PgCluster source, boolean standby) {
        if (password != null || source.password != null) {
            throw new UnsupportedOperationException("copies of clusters with password authentication");
        }
        List<Object> command = new ArrayList<>(List.of(pg.binDir().resolve("pg_basebackup"), "-D", dataDir,
                "-h", "127.0.0.1", "-p", source.port(), "-U", SUPERUSER, "-X", "stream", "--checkpoint=fast", "--no-sync"));
        if (standby) {
            command.add("--write-recovery-conf");
        }
        OsCommand.of(command.toArray()).asPostgresUser().workDir(dir).timeout(Duration.ofMinutes(5)).run();
        settings.putAll(source.settings);
        settings.put("unix_socket_directories", dir.toString());
        port = pickFreePort();
        writeConf();
        hasAppRole = true;
    }

    private static synchronized Path defaultRunDir() {
        if (runDir == null) {
            try {
                Path root = Path.of(ROOT_DIR);
                Files.createDirectories(root);
                // Sticky and world-writable like /tmp: root and non-root runs share it, and the
                // postgres user must be able to traverse it. (Java cannot set the sticky bit.) Fails
                // harmlessly when another user created it, and so already did this.
                OsCommand.of("chmod", "1777", root).runAllowingFailure();
                String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
                Path dir = root.resolve(stamp + "-" + ProcessHandle.current().pid());
                Files.createDirectories(dir);
                Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
                runDir = dir;
            } catch (IOException e) {
                throw new UncheckedIOException("cannot create " + ROOT_DIR, e);
            }
        }
        return runDir;
    }

    /** {@code base/name}, or {@code base/name-2} ... if a cluster of that name exists (e.g. kept after a failure). */
    private static Path createClusterDir(Path base, String name) {
        try {
            Files.createDirectories(base);
            for (int i = 1; ; i++) {
                Path dir = base.resolve(i == 1 ? name : name + "-" + i);
                if (dir.toString().length() > MAX_SOCKET_DIR_LENGTH) {
                    throw new IllegalArgumentException("cluster directory " + dir + " is too long to hold a"
                            + " Unix socket (max " + MAX_SOCKET_DIR_LENGTH + " chars); use a shorter baseDir");
                }
                try {
                    Files.createDirectory(dir);
                } catch (FileAlreadyExistsException taken) {
                    continue;
                }
                giveToPostgres(dir); // initdb, the server and its socket run as postgres
                return dir;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a cluster directory under " + base, e);
        }
    }

    private static void giveToPostgres(Path file) throws IOException {
        if (OsCommand.runningAsRoot()) {
            UserPrincipalLookupService users = file.getFileSystem().getUserPrincipalLookupService();
            PosixFileAttributeView view = Files.getFileAttributeView(file, PosixFileAttributeView.class);
            view.setOwner(users.lookupPrincipalByName(OsCommand.POSTGRES_USER));
            view.setGroup(users.lookupPrincipalByGroupName(OsCommand.POSTGRES_USER));
        }
    }

    /** A file only postgres may read, as libpq demands of a password file. */
    private static void writePrivate(Path file, String text) {
        try {
            Files.writeString(file, text);
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
            giveToPostgres(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    /** Binds port 0 on the loopback address and returns what the kernel chose (released again). */
    private static int pickFreePort() {
        synchronized (PORTS_HANDED_OUT) {
            for (int attempt = 0; attempt < 100; attempt++) {
                try (ServerSocket socket = new ServerSocket()) {
                    socket.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0));
                    int candidate = socket.getLocalPort();
                    if (PORTS_HANDED_OUT.add(candidate)) {
                        return candidate;
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot bind a loopback port", e);
                }
            }
            throw new IllegalStateException("no unused loopback port found");
        }
    }

    /**
     * Rewrites the harness block at the end of postgresql.conf. Rewriting the file in place keeps
     * its owner (postgres) and mode; a new file created by a root JVM would be unreadable to postgres.
     */
    private synchronized void writeConf() {
        Path conf = dataDir.resolve("postgresql.conf");
        String text = read(conf);
        int marker = text.indexOf(CONF_MARKER);
        StringBuilder out = new StringBuilder(marker >= 0 ? text.substring(0, marker) : text + "\n");
        out.append(CONF_MARKER).append('\n');
        out.append("port = ").append(port).append('\n');
        settings.forEach((key, value) -> out.append(key).append(" = ").append(quote(value)).append('\n'));
        write(conf, out.toString());
    }

    // ---------------------------------------------------------------- lifecycle

    /**
     * Starts the server and waits until it accepts connections. On the first start a port that was
     * taken in the meantime is replaced by a new one (up to {@value #PORT_RETRIES} times); later
     * starts keep the port, since peers may have stored it.
     *
     * @return this, for chaining
     */
    public synchronized PgCluster start() {
        if (closed) {
            throw new IllegalStateException(this + " is closed");
        }
        if (isRunning()) {
            throw new IllegalStateException(this + " is already running");
        }
        removeLockFileOfZombie();
        for (int attempt = 0; ; attempt++) {
            long logStart = logSize();
            try {
                pgCtl("-l", logFile, "-w", "-t", PG_CTL_WAIT.toSeconds(), "start");
                if (!hasAppRole) {
                    execute("postgres", "CREATE ROLE " + APP_ROLE + " LOGIN"
                            + (password == null ? "" : " PASSWORD " + sqlLiteral(password)));
                    hasAppRole = true;
                }
                startedOnce = true;
                System.out.printf("[pgactive-harness] %s started: port %d, pid %d, dir %s%n",
                        name, port, postmasterPid(), dir);
                return this;
            } catch (CommandFailedException e) {
                String log = logSince(logStart);
                forceStop(); // pg_ctl -w may give up on a server that is still coming up
                if (!startedOnce && attempt < PORT_RETRIES && log.contains("Address already in use")) {
                    port = pickFreePort();
                    writeConf();
                    continue;
                }
                throw new IllegalStateException("could not start " + this + "\n" + e.getMessage()
                        + "\n--- server log of this attempt ---\n" + log, e);
            }
        }
    }

    /** Promotes a standby ({@link Builder#copyOf}) and waits until it accepts writes. */
    public synchronized void promote() {
        pgCtl("-w", "-t", PG_CTL_WAIT.toSeconds(), "promote");
    }

    /** Fast shutdown (disconnect clients, checkpoint), waiting until it is complete; no-op if not running. */
    public synchronized void stop() {
        if (isRunning()) {
            pgCtl("-m", "fast", "-w", "-t", PG_CTL_WAIT.toSeconds(), "stop");
        }
    }

    /** Immediate shutdown: like a crash for PostgreSQL (recovery on next start); no-op if not running. */
    public synchronized void stopImmediate() {
        if (isRunning()) {
            pgCtl("-m", "immediate", "-w", "-t", PG_CTL_WAIT.toSeconds(), "stop");
        }
    }

    /**
     * SIGKILLs the postmaster, as an OOM killer would, and waits until it and its child processes
     * (backends, background workers) are gone, so that {@link #start()} can run crash recovery.
     * Children exit by themselves when they notice the postmaster died.
     *
     * @throws IllegalStateException if a child outlives its postmaster by 30 s (it is then killed
     *         too, but a process that ignores its postmaster's death is a bug worth seeing)
     */
    public synchronized void killPostmaster() {
        if (!isRunning()) {
            throw new IllegalStateException(this + " is not running");
        }
        long pid = postmasterPid();
        // Collect children now: once the postmaster is dead they are re-parented and untraceable.
        List<ProcessHandle> children = ProcessHandle.of(pid).map(p -> p.descendants().toList()).orElse(List.of());
        Processes.kill9(pid);
        Await.until(PROCESS_EXIT_WAIT, "killed postmaster " + pid + " of " + name + " to exit",
                () -> !Processes.isAlive(pid));
        try {
            Await.until(PROCESS_EXIT_WAIT, "children of killed postmaster " + pid + " to exit",
                    () -> children.stream().noneMatch(c -> Processes.isAlive(c.pid())));
        } catch (AssertionError e) {
            List<String> survivors = new ArrayList<>();
            for (ProcessHandle child : children) {
                if (Processes.isAlive(child.pid())) {
                    survivors.add(child.pid() + " " + child.info().commandLine().orElse("?"));
                    Processes.kill9(child.pid());
                }
            }
            throw new IllegalStateException("processes of " + name + " survived their postmaster: " + survivors, e);
        }
    }

    /** {@link #stop()} (if running) then {@link #start()}; the port stays the same. */
    public synchronized PgCluster restart() {
        stop();
        return start();
    }

    /** Makes a running server re-read its configuration (asynchronous: poll for the effect). */
    public void reload() {
        pgCtl("reload");
    }

    /**
     * Sets a postgresql.conf value (quoted by the harness, see {@link Builder#setting}). Takes effect
     * after {@link #reload()} or, for settings that need it, {@link #restart()}. Values set with
     * ALTER SYSTEM still take precedence.
     */
    public synchronized PgCluster setSetting(String key, String value) {
        String k = checkSettingKey(key);
        settings.remove(k);
        settings.put(k, value);
        writeConf();
        return this;
    }

    /** True if the postmaster is alive (a zombie left by a kill counts as dead). */
    public boolean isRunning() {
        Long pid = readPostmasterPid();
        return pid != null && Processes.isAlive(pid);
    }

    /** The postmaster's PID, from postmaster.pid. */
    public long postmasterPid() {
        Long pid = readPostmasterPid();
        if (pid == null) {
            throw new IllegalStateException(this + " has no postmaster.pid; is it running?");
        }
        return pid;
    }

    /**
     * Stops the server if it runs: fast, or immediate if that fails, or SIGKILL as a last resort. Never
     * leaves a postmaster running. Keeps the files; see {@link #deleteFiles()}. Idempotent.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            try {
                stop();
            } catch (RuntimeException e) {
                System.out.println("[pgactive-harness] fast stop of " + name + " failed, stopping harder: " + e);
                forceStop();
            }
        } finally {
            OPEN.remove(this);
        }
    }

    /** Deletes the cluster directory; only allowed once the server is down. */
    public void deleteFiles() {
        if (isRunning()) {
            throw new IllegalStateException(this + " is still running");
        }
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + dir, e);
        }
    }

    /** Immediate stop, then SIGKILL if even that fails. Not synchronized: also used by the shutdown hook. */
    private void forceStop() {
        if (!isRunning()) {
            return;
        }
        try {
            pgCtl("-m", "immediate", "-w", "-t", "30", "stop");
        } catch (RuntimeException e) {
            Long pid = readPostmasterPid();
            if (pid != null && Processes.isAlive(pid)) {
                ProcessHandle.of(pid).ifPresent(p -> p.descendants().forEach(c -> Processes.kill9(c.pid())));
                Processes.kill9(pid);
                Await.until(PROCESS_EXIT_WAIT, "postmaster " + pid + " of " + name + " to die",
                        () -> !Processes.isAlive(pid));
            }
        }
    }

    private static void shutdownHook() {
        for (PgCluster cluster : OPEN) {
            try {
                cluster.forceStop();
            } catch (RuntimeException e) {
                System.err.println("[pgactive-harness] could not stop " + cluster + ": " + e);
            }
        }
        Path run;
        synchronized (PgCluster.class) {
            run = runDir;
        }
        if (run != null) {
            try {
                Files.deleteIfExists(run); // only succeeds when every cluster directory was deleted
            } catch (IOException ignored) {
                // kept: it holds the directories of failed tests
            }
        }
    }

    /**
     * A postmaster killed with SIGKILL stays a zombie until PID 1 reaps it, which in containers may
     * be late or never, and PostgreSQL refuses to start while the PID in its lock files
     * (postmaster.pid and the socket's .lock) exists. A zombie holds no resources, so those lock
     * files are stale and can go ({@link #killPostmaster()} has already waited for the children that
     * could still be attached to shared memory).
     */
    private void removeLockFileOfZombie() {
        Long pid = readPostmasterPid();
        if (pid == null || !Processes.isZombie(pid)) {
            return;
        }
        try (Stream<Path> files = Files.list(dir)) {
            for (Path file : files.toList()) {
                boolean socketLock = file.getFileName().toString().matches("\\.s\\.PGSQL\\.\\d+\\.lock");
                if (socketLock && pid.equals(readPid(file))) {
                    Files.deleteIfExists(file);
                }
            }
            Files.deleteIfExists(dataDir.resolve("postmaster.pid"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove stale lock files of " + name, e);
        }
    }

    private Long readPostmasterPid() {
        return readPid(dataDir.resolve("postmaster.pid"));
    }

    /** The PID on the first line of a PostgreSQL lock file, or null. */
    private static Long readPid(Path lockFile) {
        try {
            List<String> lines = Files.readAllLines(lockFile);
            return lines.isEmpty() || lines.get(0).isBlank() ? null : Long.valueOf(lines.get(0).strip());
        } catch (IOException | NumberFormatException e) {
            return null; // absent, or caught while the postmaster is writing it
        }
    }

    private OsCommand.Result pgCtl(Object... args) {
        List<Object> argv = new ArrayList<>(List.of(pg.pgCtl(), "-D", dataDir));
        argv.addAll(List.of(args));
        return OsCommand.of(argv.toArray()).asPostgresUser().workDir(dir).timeout(PG_CTL_TIMEOUT).run();
    }

    // ---------------------------------------------------------------- accessors

    public String name() {
        return name;
    }

    public int port() {
        return port;
    }

    /** The cluster's own directory (holds data/, server.log and the socket). */
    public Path directory() {
        return dir;
    }

    public Path dataDir() {
        return dataDir;
    }

    /** Directory of the Unix socket (unix_socket_directories). */
    public Path socketDir() {
        return dir;
    }

    public Path logFile() {
        return logFile;
    }

    public PgInstall install() {
        return pg;
    }

    /** libpq conninfo over TCP, e.g. for pgactive node DSNs or psql: {@code host=127.0.0.1 port=N dbname=db user=postgres}. */
    public String dsn(String db) {
        return "host=127.0.0.1 port=" + port + " dbname=" + conninfoValue(db) + " user=" + SUPERUSER;
    }

    public String jdbcUrl(String db) {
        return jdbcUrlWithoutUser(db) + "?user=" + SUPERUSER;
    }

    private String jdbcUrlWithoutUser(String db) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + URLEncoder.encode(db, StandardCharsets.UTF_8).replace("+", "%20");
    }

    // ---------------------------------------------------------------- SQL helpers

    /** A new connection as the superuser; the caller closes it. */
    public Connection connect(String db) throws SQLException {
        return connect(db, SUPERUSER);
    }

    /** A new connection as {@code role} (the superuser or the application role); the caller closes it. */
    public Connection connect(String db, String role) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", role);
        if (password != null) {
            props.setProperty("password", password);
        }
        props.setProperty("connectTimeout", "10");
        // Shows up as %a in the server log, telling test sessions apart from the engine's own.
        props.setProperty("ApplicationName", "pgactive-tests");
        return DriverManager.getConnection(jdbcUrlWithoutUser(db), props);
    }

    public void createDatabase(String db) {
        execute("postgres", "CREATE DATABASE \"" + db.replace("\"", "\"\"") + "\"");
    }

    /** Runs SQL (possibly several statements) as {@code role}, in autocommit mode on a fresh connection. */
    public void executeAs(String role, String db, String sql) {
        try (Connection c = connect(db, role); Statement st = c.createStatement()) {
            st.execute(sql);
        } catch (SQLException e) {
            throw new SqlFailedException(name + "/" + db + " as " + role, sql, e);
        }
    }

    /** Runs SQL (possibly several statements) in autocommit mode on a fresh connection. */
    public void execute(String db, String sql) {
        withStatement(db, sql, st -> {
            st.execute(sql);
            return null;
        });
    }

    /** First column of the first row as text, or null if there is no row (or the value is NULL). */
    public String queryString(String db, String sql) {
        return withStatement(db, sql, st -> {
            try (ResultSet rs = st.executeQuery(sql)) {
                return rs.next() ? rs.getString(1) : null;
            }
        });
    }

    /** First column of the first row as a long; fails if there is no row or the value is NULL. */
    public long queryLong(String db, String sql) {
        return withStatement(db, sql, st -> {
            try (ResultSet rs = st.executeQuery(sql)) {
                if (!rs.next()) {
                    throw new IllegalStateException(name + "/" + db + ": no row from " + sql);
                }
                long value = rs.getLong(1);
                if (rs.wasNull()) {
                    throw new IllegalStateException(name + "/" + db + ": NULL from " + sql);
                }
                return value;
            }
        });
    }

    /** First column of every row as text, e.g. to compare a table's contents across nodes. */
    public List<String> queryColumn(String db, String sql) {
        return withStatement(db, sql, st -> {
            List<String> values = new ArrayList<>();
            try (ResultSet rs = st.executeQuery(sql)) {
                while (rs.next()) {
                    values.add(rs.getString(1));
                }
            }
            return values;
        });
    }

    private interface StatementWork<T> {
        T apply(Statement statement) throws SQLException;
    }

    private <T> T withStatement(String db, String sql, StatementWork<T> work) {
        try (Connection c = connect(db); Statement st = c.createStatement()) {
            return work.apply(st);
        } catch (SQLException e) {
            throw new SqlFailedException(name + "/" + db, sql, e);
        }
    }

    // ---------------------------------------------------------------- logs

    /** The whole server log so far ("" before the first start). */
    public String serverLogText() {
        return logSince(0);
    }

    /** The last {@code lines} lines of the server log. */
    public List<String> serverLogTail(int lines) {
        List<String> all = serverLogText().lines().toList();
        return all.subList(Math.max(0, all.size() - lines), all.size());
    }

    private long logSize() {
        try {
            return Files.exists(logFile) ? Files.size(logFile) : 0;
        } catch (IOException e) {
            return 0;
        }
    }

    private String logSince(long offset) {
        try {
            if (!Files.exists(logFile)) {
                return "";
            }
            byte[] bytes = Files.readAllBytes(logFile);
            int from = (int) Math.min(offset, bytes.length);
            return new String(bytes, from, bytes.length - from, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + logFile, e);
        }
    }

    // ---------------------------------------------------------------- small helpers

    @Override
    public String toString() {
        return "PgCluster[" + name + " port=" + port + " dir=" + dir + "]";
    }

    private static String checkSettingKey(String key) {
        String k = key.strip().toLowerCase(Locale.ROOT);
        if (k.equals("port")) {
            throw new IllegalArgumentException("the harness chooses the port; read it with port()");
        }
        return k;
    }

    /** postgresql.conf string literal: single quotes, with quotes doubled and backslashes escaped. */
    private static String quote(String value) {
        return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'";
    }

    /** libpq conninfo value: quoted only when needed. */
    private static String conninfoValue(String value) {
        if (!value.isEmpty() && value.chars().noneMatch(ch -> ch == ' ' || ch == '\'' || ch == '\\')) {
            return value;
        }
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    private static String sqlLiteral(String text) {
        return "'" + text.replace("'", "''") + "'";
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException ignored) {
            // initdb has read it; a leftover in the test's own directory harms nothing
        }
    }

    private static void write(Path file, String text) {
        try {
            Files.writeString(file, text);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }
}
