package io.pgactive.bench;

import io.pgactive.harness.OsCommand;
import io.pgactive.harness.PgCluster;
import java.time.Duration;

/** pg_dump piped into psql or pg_restore, as an administrator would type it. */
final class PgTools {

    private PgTools() {
    }

    /** Copies the schema (no data) of a database to an existing database on another server. */
    static void copySchema(PgCluster from, String fromDb, PgCluster to, String toDb) {
        pipe(from.install().pgDump() + " -s " + target(from) + " " + fromDb,
                from.install().psql() + " -q -X -v ON_ERROR_STOP=1 " + target(to) + " " + toDb);
    }

    /** {@code pg_dump -Fc | pg_restore}: the plain way to copy a database. */
    static void dumpRestore(PgCluster from, String fromDb, PgCluster to, String toDb) {
        pipe(from.install().pgDump() + " -Fc " + target(from) + " " + fromDb,
                from.install().pgRestore() + " --exit-on-error " + target(to) + " -d " + toDb);
    }

    private static String target(PgCluster c) {
        return "-h " + c.socketDir() + " -p " + c.port() + " -U " + PgCluster.SUPERUSER;
    }

    private static void pipe(String producer, String consumer) {
        OsCommand.of("bash", "-o", "pipefail", "-c", producer + " | " + consumer)
                .asPostgresUser().timeout(Duration.ofMinutes(30)).run();
    }
}
