package io.pgactive.harness;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The PostgreSQL installation the tests run against, located through {@code pg_config}.
 *
 * <p>Lookup order: system property {@code pgactive.pg_config} (tests/pom.xml fills it from
 * {@code $PG_CONFIG}; Maven leaves the literal {@code ${env.PG_CONFIG}} when that variable is unset,
 * so that value counts as unset), then the environment variable {@code PG_CONFIG}, then the Debian
 * location of PostgreSQL 15.
 */
public final class PgInstall {

    static final String PROPERTY = "pgactive.pg_config";
    static final String ENV = "PG_CONFIG";
    static final Path DEFAULT_PG_CONFIG = Path.of("/usr/lib/postgresql/15/bin/pg_config");

    private static PgInstall instance;

    private final Path pgConfig;
    private final Path binDir;
    private final Path pkgLibDir;
    private final Path shareDir;
    private Set<String> settingNames;

    private PgInstall(Path pgConfig) {
        if (!Files.isExecutable(pgConfig)) {
            throw new IllegalStateException("pg_config not found or not executable: " + pgConfig
                    + " (set -D" + PROPERTY + "=... or $" + ENV + ")");
        }
        this.pgConfig = pgConfig;
        // One call, three answers: pg_config prints one line per option, in the order asked.
        List<String> lines = OsCommand.of(pgConfig, "--bindir", "--pkglibdir", "--sharedir")
                .timeout(Duration.ofSeconds(30)).run().output().strip().lines().toList();
        if (lines.size() != 3) {
            throw new IllegalStateException("unexpected pg_config output: " + lines);
        }
        this.binDir = Path.of(lines.get(0).strip());
        this.pkgLibDir = Path.of(lines.get(1).strip());
        this.shareDir = Path.of(lines.get(2).strip());
        for (Path tool : List.of(initdb(), pgCtl(), postgres())) {
            if (!Files.isExecutable(tool)) {
                throw new IllegalStateException(pgConfig + " names " + binDir + " but " + tool + " is missing");
            }
        }
    }

    /** The installation chosen by the lookup order above; computed once per JVM. */
    public static synchronized PgInstall get() {
        if (instance == null) {
            instance = new PgInstall(locatePgConfig());
        }
        return instance;
    }

    /** An explicit installation, for tests that need a specific one. */
    public static PgInstall fromPgConfig(Path pgConfig) {
        return new PgInstall(pgConfig);
    }

    static Path locatePgConfig() {
        String fromProperty = System.getProperty(PROPERTY);
        if (isSet(fromProperty) && !fromProperty.equals("${env." + ENV + "}")) {
            return Path.of(fromProperty.strip());
        }
        String fromEnv = System.getenv(ENV);
        if (isSet(fromEnv)) {
            return Path.of(fromEnv.strip());
        }
        return DEFAULT_PG_CONFIG;
    }

    private static boolean isSet(String value) {
        return value != null && !value.isBlank();
    }

    public Path pgConfig() {
        return pgConfig;
    }

    public Path binDir() {
        return binDir;
    }

    /** Where extension libraries such as pgactive.so are installed. */
    public Path pkgLibDir() {
        return pkgLibDir;
    }

    /** Where extension control and SQL files live (under {@code extension/}). */
    public Path shareDir() {
        return shareDir;
    }

    /** Whether this server knows a configuration parameter (minor releases add some). */
    public synchronized boolean hasSetting(String name) {
        if (settingNames == null) {
            settingNames = OsCommand.of(postgres(), "--describe-config").asPostgresUser()
                    .timeout(Duration.ofSeconds(30)).run().output().lines()
                    .map(line -> line.split("\t", 2)[0]).collect(Collectors.toSet());
        }
        return settingNames.contains(name);
    }

    public Path initdb() {
        return binDir.resolve("initdb");
    }

    public Path pgCtl() {
        return binDir.resolve("pg_ctl");
    }

    public Path postgres() {
        return binDir.resolve("postgres");
    }

    public Path pgDump() {
        return binDir.resolve("pg_dump");
    }

    public Path pgRestore() {
        return binDir.resolve("pg_restore");
    }

    public Path psql() {
        return binDir.resolve("psql");
    }

    public Path pgbench() {
        return binDir.resolve("pgbench");
    }

    @Override
    public String toString() {
        return "PgInstall[" + binDir + "]";
    }
}
