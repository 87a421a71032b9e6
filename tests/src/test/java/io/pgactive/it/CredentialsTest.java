package io.pgactive.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgactive.harness.ClusterExtension;
import io.pgactive.harness.PgCluster;
import io.pgactive.harness.SqlFailedException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Upstream's quickstart with every connection asking for a password ({@code scram-sha-256} for
 * every line of pg_hba.conf, the worker's own local connection included): the DSNs name user
 * mappings of {@code pgactive_fdw}, and the passwords stay out of the replicated tables, the
 * server and worker logs and every process's command line.
 */
class CredentialsTest {

    private static final String DB = "app";
    /** Another database of the same servers, whose group uses plain {@code password=} DSNs. */
    private static final String PLAIN_DB = "plain";

    @RegisterExtension
    static final ClusterExtension clusters = new ClusterExtension();

    private static List<PgCluster> nodes;
    private static List<String> passwords;

    @BeforeAll
    static void buildServers() {
        // A different password per server, with characters that need quoting in SQL and pgpass.
        passwords = List.of("n1 s3cr€t 'q' " + token(), "n2:s3cr€t\\ " + token(), "n3 $s3cr€t$ " + token());
        nodes = List.of(
                clusters.builder("node1").password(passwords.get(0)).start(),
                clusters.builder("node2").password(passwords.get(1)).start(),
                clusters.builder("node3").password(passwords.get(2)).start());
    }

    @Test
    void quickstartWithUserMappingsUnderScram() throws Exception {
        for (PgCluster node : nodes) {
            List<String> rules = Files.readAllLines(node.dataDir().resolve("pg_hba.conf")).stream()
                    .filter(line -> !line.isBlank() && !line.strip().startsWith("#")).toList();
            assertFalse(rules.isEmpty());
            assertTrue(rules.stream().allMatch(line -> line.strip().endsWith("scram-sha-256")), rules.toString());
        }
        PgCluster node1 = nodes.get(0);
        node1.createDatabase(DB);
        node1.execute(DB, "GRANT CREATE ON SCHEMA public TO " + PgCluster.APP_ROLE);
        node1.executeAs(PgCluster.APP_ROLE, DB, "CREATE TABLE products (id int PRIMARY KEY, name text);"
                + " INSERT INTO products VALUES (1, 'soap'), (2, 'shampoo')");
        for (PgCluster node : nodes) {
            if (node != node1) {
                node.createDatabase(DB);
            }
            node.execute(DB, "CREATE EXTENSION pgactive");
            for (int k = 0; k < nodes.size(); k++) {
                node.execute(DB, "CREATE SERVER " + server(k) + " FOREIGN DATA WRAPPER pgactive_fdw OPTIONS"
                        + " (host '127.0.0.1', port '" + nodes.get(k).port() + "', dbname '" + DB + "');"
                        + " CREATE USER MAPPING FOR postgres SERVER " + server(k)
                        + " OPTIONS (user 'postgres', password " + literal(passwords.get(k)) + ")");
            }
        }
        node1.execute(DB, "SELECT pgactive.pgactive_create_group(node_name := 'node1-app', node_dsn := "
                + literal(mappingDsn(0)) + ")");
        Pgactive.waitReady(node1, DB);

        // A mistyped server name is refused by the call itself, naming it.
        PgCluster node2 = nodes.get(1);
        SqlFailedException failed = assertThrows(SqlFailedException.class, () -> node2.execute(DB,
                "SELECT pgactive.pgactive_join_group(node_name := 'node2-app', node_dsn := " + literal(mappingDsn(1))
                + ", join_using_dsn := " + literal("user_mapping=postgres pgactive_foreign_server=nope") + ")"));
        assertTrue(failed.getMessage().contains("foreign server \"nope\" does not exist"), failed.getMessage());

        try (CommandLines commandLines = CommandLines.watch()) {
            for (int k = 1; k < nodes.size(); k++) {
                nodes.get(k).execute(DB, "SELECT pgactive.pgactive_join_group(node_name := 'node" + (k + 1)
                        + "-app', node_dsn := " + literal(mappingDsn(k)) + ", join_using_dsn := "
                        + literal(mappingDsn(0)) + ")");
                Pgactive.waitReady(nodes.get(k), DB);
            }
            // Writes made as the application role on any node reach every node.
            nodes.get(2).executeAs(PgCluster.APP_ROLE, DB, "INSERT INTO products VALUES (3, 'lotion')");
            node2.executeAs(PgCluster.APP_ROLE, DB, "UPDATE products SET name = 'savon' WHERE id = 1");
            Pgactive.awaitEverywhere(DB, "SELECT string_agg(id || ':' || name, ',' ORDER BY id) FROM products",
                    "1:savon,2:shampoo,3:lotion", nodes.toArray(PgCluster[]::new));
            commandLines.assertSawOneOf("pg_dump", "pg_restore");
            commandLines.assertNoneContains(passwords);
        }
        for (PgCluster node : nodes) {
            String catalog = pgactiveTables(node, DB);
            assertTrue(catalog.contains(mappingDsn(0)), catalog);
            for (String password : passwords) {
                assertFalse(catalog.contains(password), "a password in pgactive's tables on " + node.name());
            }
        }
        assertNoPasswordInLogs();
    }

    @Test
    void plainPasswordDsnsWorkAndAreMaskedWhereShown() throws Exception {
        PgCluster node1 = nodes.get(0);
        PgCluster node2 = nodes.get(1);
        node1.createDatabase(PLAIN_DB);
        node1.execute(PLAIN_DB, "GRANT CREATE ON SCHEMA public TO " + PgCluster.APP_ROLE);
        node1.executeAs(PgCluster.APP_ROLE, PLAIN_DB, "CREATE TABLE t (id int PRIMARY KEY)");
        node1.execute(PLAIN_DB, "CREATE EXTENSION pgactive; SELECT pgactive.pgactive_create_group("
                + "node_name := 'one', node_dsn := " + literal(plainDsn(0, node1.port())) + ")");
        Pgactive.waitReady(node1, PLAIN_DB);
        Pgactive.createDatabaseWithExtension(node2, PLAIN_DB);

        // A DSN that cannot be used is refused by the call, whose error does not show the password.
        SqlFailedException failed = assertThrows(SqlFailedException.class, () -> node2.execute(PLAIN_DB,
                "SELECT pgactive.pgactive_join_group(node_name := 'two', node_dsn := " + literal(plainDsn(1, node2.port()))
                + ", join_using_dsn := " + literal(plainDsn(0, node1.port()).replace("dbname=" + PLAIN_DB, "dbname=nosuchdb"))
                + ")"));
        String serverMessage = failed.getCause().getMessage();
        assertTrue(serverMessage.contains("could not connect with join_using_dsn")
                && serverMessage.contains("database \"nosuchdb\" does not exist"), serverMessage);
        assertFalse(serverMessage.contains(passwords.get(0)), serverMessage);

        try (CommandLines commandLines = CommandLines.watch()) {
            node2.execute(PLAIN_DB, "SELECT pgactive.pgactive_join_group(node_name := 'two', node_dsn := "
                    + literal(plainDsn(1, node2.port())) + ", join_using_dsn := "
                    + literal(plainDsn(0, node1.port())) + ")");
            Pgactive.waitReady(node2, PLAIN_DB);
            node2.executeAs(PgCluster.APP_ROLE, PLAIN_DB, "INSERT INTO t VALUES (1)");
            Pgactive.awaitEverywhere(PLAIN_DB, "SELECT count(*) FROM t", "1", node1, node2);
            commandLines.assertSawOneOf("pg_dump", "pg_restore");
            commandLines.assertNoneContains(passwords);
        }
        assertNoPasswordInLogs();
    }

    private static void assertNoPasswordInLogs() {
        for (PgCluster node : nodes) {
            String log = node.serverLogText();
            assertTrue(log.contains("pgactive worker: "), "the worker's lines are in the server log");
            for (String password : passwords) {
                assertFalse(log.contains(password), "a password in the server log of " + node.name());
            }
        }
    }

    /** Every row of every table in schema pgactive, as text. */
    private static String pgactiveTables(PgCluster node, String db) {
        StringBuilder all = new StringBuilder();
        for (String table : node.queryColumn(db, "SELECT c.oid::regclass::text FROM pg_class c"
                + " WHERE c.relnamespace = 'pgactive'::regnamespace AND c.relkind IN ('r', 'p')")) {
            all.append(node.queryString(db, "SELECT string_agg(t::text, E'\\n') FROM " + table + " t")).append('\n');
        }
        return all.toString();
    }

    private static String server(int k) {
        return "\"Pgactive server " + (k + 1) + "\"";
    }

    private static String mappingDsn(int k) {
        return "user_mapping=postgres pgactive_foreign_server='" + server(k).replace("\"", "") + "'";
    }

    private static String plainDsn(int k, int port) {
        String quoted = "'" + passwords.get(k).replace("\\", "\\\\").replace("'", "\\'") + "'";
        return "host=127.0.0.1 port=" + port + " dbname=" + PLAIN_DB + " user=postgres password=" + quoted;
    }

    private static String literal(String text) {
        return "'" + text.replace("'", "''") + "'";
    }

    private static String token() {
        return Long.toHexString(Double.doubleToLongBits(Math.random()));
    }

    /** Reads every process's command line from /proc, over and over, while a block runs. */
    private static final class CommandLines implements AutoCloseable {
        private final Set<String> seen = ConcurrentHashMap.newKeySet();
        private final AtomicBoolean stop = new AtomicBoolean();
        private final Thread thread = new Thread(this::sample, "cmdline-sampler");

        static CommandLines watch() {
            CommandLines lines = new CommandLines();
            lines.thread.setDaemon(true);
            lines.thread.start();
            return lines;
        }

        private void sample() {
            while (!stop.get()) {
                try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
                    procs.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit)).forEach(p -> {
                        try {
                            seen.add(Files.readString(p.resolve("cmdline")).replace('\0', ' '));
                        } catch (IOException | RuntimeException gone) {
                            // the process exited meanwhile
                        }
                    });
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            }
        }

        void assertSawOneOf(String... programs) {
            assertTrue(seen.stream().anyMatch(line -> Stream.of(programs).anyMatch(line::contains)),
                    "no " + String.join(" or ", programs) + " process was seen: the check proves nothing");
        }

        void assertNoneContains(List<String> secrets) {
            for (String line : seen) {
                for (String secret : secrets) {
                    assertFalse(line.contains(secret), "a password on a command line: " + line.replace(secret, "<password>"));
                }
            }
        }

        @Override
        public void close() throws InterruptedException {
            stop.set(true);
            thread.join();
        }
    }
}
