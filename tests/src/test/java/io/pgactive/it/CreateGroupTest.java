package io.pgactive.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgactive.harness.ClusterExtension;
import io.pgactive.harness.OsCommand;
import io.pgactive.harness.PgCluster;
import io.pgactive.harness.SqlFailedException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** pgactive_create_group and pgactive_wait_for_node_ready on a single node. */
class CreateGroupTest {

    @RegisterExtension
    static final ClusterExtension clusters = new ClusterExtension();

    private static PgCluster node;

    @BeforeAll
    static void start() {
        node = clusters.newCluster("create");
    }

    @Test
    void createsAReadyOneNodeGroup() {
        Pgactive.createDatabaseWithExtension(node, "happy");
        node.execute("happy", "SELECT pgactive.pgactive_create_group('node1', '" + node.dsn("happy")
                + "', apply_delay := 250, replication_sets := ARRAY['default', 'extra'])");
        Pgactive.waitReady(node, "happy");
        assertEquals("r", Pgactive.nodeStatus(node, "happy"));
        assertEquals("node1", node.queryString("happy", "SELECT pgactive.pgactive_get_local_node_name()"));
        assertEquals("t", node.queryString("happy", "SELECT pgactive.pgactive_is_active_in_db()"));
        assertEquals("250|{default,extra}|" + node.dsn("happy"), node.queryString("happy",
                "SELECT conn_apply_delay || '|' || conn_replication_sets::text || '|' || conn_dsn"
                + " FROM pgactive.pgactive_connections"));
        assertEquals(1, node.queryLong("happy",
                "SELECT count(*) FROM pg_stat_activity WHERE datname = 'happy' AND application_name LIKE 'pgactive:%:perdb'"));

        SqlFailedException again = assertThrows(SqlFailedException.class,
                () -> Pgactive.createGroup(node, "happy", "node1"));
        assertTrue(again.getMessage().contains("database \"happy\" is already a member of a pgactive group as node \"node1\""),
                again.getMessage());
    }

    @Test
    void unreachableDsnFailsClearlyAndCanBeFixedByCallingAgain() {
        Pgactive.createDatabaseWithExtension(node, "fixme");
        int closedPort = freePort();
        SqlFailedException error = assertThrows(SqlFailedException.class, () -> node.execute("fixme",
                "SELECT pgactive.pgactive_create_group('node1',"
                + " 'host=127.0.0.1 port=" + closedPort + " dbname=fixme user=postgres password=hunter2')"));
        assertTrue(error.getMessage().contains("could not connect with node_dsn"), error.getMessage());
        assertTrue(error.getMessage().contains("port " + closedPort + " failed"), error.getMessage());
        assertTrue(!error.getCause().getMessage().contains("hunter2"), "no password in errors: " + error.getCause());
        assertNothingLeft("fixme");

        Pgactive.createGroup(node, "fixme", "node1");
        Pgactive.waitReady(node, "fixme");
        assertEquals("r", Pgactive.nodeStatus(node, "fixme"));
        assertEquals(1, node.queryLong("fixme", "SELECT count(*) FROM pgactive.pgactive_nodes"));
    }

    @Test
    void dsnThatReachesAnotherDatabaseIsRefused() {
        Pgactive.createDatabaseWithExtension(node, "elsewhere");
        SqlFailedException error = assertThrows(SqlFailedException.class, () -> node.execute("elsewhere",
                "SELECT pgactive.pgactive_create_group('node1', '" + node.dsn("postgres") + "')"));
        assertTrue(error.getMessage().contains("reaches database (sysid"), error.getMessage());
        assertTrue(error.getMessage().contains("not this database"), error.getMessage());
        assertNothingLeft("elsewhere");
    }

    @Test
    void wrongPasswordAndMalformedDsnAreRefusedByTheCall() throws IOException {
        Pgactive.createDatabaseWithExtension(node, "wrongpw");
        node.execute("postgres", "CREATE ROLE pwuser LOGIN SUPERUSER PASSWORD 'right'");
        // trust authentication takes any password: ask this role for one, as a scram server would.
        Path hba = node.dataDir().resolve("pg_hba.conf");
        Files.writeString(hba, "host all pwuser 127.0.0.1/32 scram-sha-256\n" + Files.readString(hba));
        node.reload();
        SqlFailedException wrong = assertThrows(SqlFailedException.class, () -> node.execute("wrongpw",
                "SELECT pgactive.pgactive_create_group('n', 'host=127.0.0.1 port=" + node.port()
                + " dbname=wrongpw user=pwuser password=wrong')"));
        assertTrue(wrong.getMessage().contains("password authentication failed for user \"pwuser\""), wrong.getMessage());
        SqlFailedException malformed = assertThrows(SqlFailedException.class, () -> node.execute("wrongpw",
                "SELECT pgactive.pgactive_create_group('n', 'host=127.0.0.1 bogus=1')"));
        assertTrue(malformed.getMessage().contains("node_dsn is not a valid connection string: invalid connection"
                + " string syntax: invalid connection option \"bogus\""), malformed.getMessage());
        assertNothingLeft("wrongpw");
        node.execute("wrongpw", "DROP EXTENSION pgactive");
    }

    /** A refused call leaves the database as it was: no node, no connection, no publication, no trigger. */
    private static void assertNothingLeft(String db) {
        Pgactive.assertNothingLeft(node, db);
        assertEquals(0, node.queryLong(db, "SELECT count(*) FROM pgactive.pgactive_local_state"), "left in " + db);
    }

    /** As upstream: a detached node's name is free again; its row stays, so that it is still refused. */
    @Test
    void aDetachedNodesNameMayBeTakenAgain() {
        Pgactive.createDatabaseWithExtension(node, "named");
        node.execute("named", "INSERT INTO pgactive.pgactive_nodes (node_sysid, node_timeline, node_dboid,"
                + " node_status, node_name) VALUES ('42', 1, 1, 'k', 'taken')");
        Pgactive.createGroup(node, "named", "taken");
        Pgactive.waitReady(node, "named");
        assertEquals("42:k,taken:r", node.queryString("named", "SELECT string_agg(CASE WHEN node_sysid = '42'"
                + " THEN '42' ELSE node_name END || ':' || node_status::text, ',' ORDER BY node_status)"
                + " FROM pgactive.pgactive_nodes"));
    }

    @Test
    void databaseWithOtherLiveNodesIsAlreadyInAGroup() {
        Pgactive.createDatabaseWithExtension(node, "member");
        node.execute("member", "INSERT INTO pgactive.pgactive_nodes (node_sysid, node_timeline, node_dboid,"
                + " node_status, node_name) VALUES ('42', 1, 1, 'r', 'other')");
        SqlFailedException error = assertThrows(SqlFailedException.class,
                () -> Pgactive.createGroup(node, "member", "mine"));
        assertTrue(error.getMessage().contains("already belongs to a pgactive group"), error.getMessage());
    }

    @Test
    void whatPgactiveCannotReplicateIsRefusedAndCaveatsAreWarned() throws SQLException {
        Pgactive.createDatabaseWithExtension(node, "schemas");
        node.execute("schemas", "CREATE TABLE booking (id int PRIMARY KEY, span int4range, EXCLUDE USING gist (span WITH &&))");
        assertCreateRefused("schemas", "tables of this database have exclusion constraints, which pgactive cannot"
                + " enforce across nodes: public.booking");
        node.execute("schemas", "DROP TABLE booking; CREATE PUBLICATION everything FOR ALL TABLES");
        assertCreateRefused("schemas", "this database publishes pgactive's tables through native logical replication"
                + " (publications everything)");
        node.execute("schemas", "DROP PUBLICATION everything;"
                + " CREATE TABLE loose (a int); CREATE TABLE counted (id serial PRIMARY KEY)");
        List<String> warnings = new ArrayList<>();
        try (Connection conn = node.connect("schemas"); Statement st = conn.createStatement()) {
            st.execute("SELECT pgactive.pgactive_create_group('schemas', '" + node.dsn("schemas") + "')");
            for (SQLWarning w = st.getWarnings(); w != null; w = w.getNextWarning()) {
                warnings.add(w.getMessage());
            }
        }
        assertTrue(warnings.stream().anyMatch(w -> w.contains("have no primary key or replica identity index: public.loose")),
                warnings.toString());
        assertTrue(warnings.stream().anyMatch(w -> w.contains("keys of this database come from local sequences: public.counted.id")),
                warnings.toString());
        Pgactive.waitReady(node, "schemas");
    }

    private static void assertCreateRefused(String db, String message) {
        SqlFailedException error = assertThrows(SqlFailedException.class, () -> Pgactive.createGroup(node, db, db));
        assertTrue(error.getMessage().contains(message), error.getMessage());
        assertNothingLeft(db);
    }

    @Test
    void badArgumentsAreRefused() {
        Pgactive.createDatabaseWithExtension(node, "args");
        assertRefused("SELECT pgactive.pgactive_create_group('', 'host=x')", "node_name must not be empty");
        assertRefused("SELECT pgactive.pgactive_create_group('n', '')", "node_dsn must not be empty");
        assertRefused("SELECT pgactive.pgactive_create_group('n', 'host=x', apply_delay := -1)",
                "apply_delay must not be negative");
        assertRefused("SELECT pgactive.pgactive_wait_for_node_ready()", "database \"args\" is not a pgactive node");
        assertRefused("SELECT pgactive.pgactive_wait_for_node_ready(timeout := -1)", "'timeout' parameter must be >= 0");
        assertEquals(0, node.queryLong("args", "SELECT count(*) FROM pgactive.pgactive_nodes"));
    }

    @Test
    void waitTimesOutWithProgressNoticesWhileTheWorkerIsStuck() throws Exception {
        // A worker that runs but does nothing: stopped with SIGSTOP, after another node of this
        // server made sure that it runs.
        Pgactive.createDatabaseWithExtension(node, "anchor");
        Pgactive.createGroup(node, "anchor", "anchor");
        Pgactive.waitReady(node, "anchor");
        long worker = Pgactive.awaitWorkerPid(node, "anchor");
        Pgactive.createDatabaseWithExtension(node, "stuck");
        OsCommand.of("kill", "-STOP", worker).run();
        try {
            Pgactive.createGroup(node, "stuck", "node1");
            List<String> notices = new ArrayList<>();
            try (Connection conn = node.connect("stuck"); Statement st = conn.createStatement()) {
                SQLException error = assertThrows(SQLException.class,
                        () -> st.execute("SELECT pgactive.pgactive_wait_for_node_ready(timeout := 3, progress_interval := 1)"));
                assertTrue(error.getMessage().contains("node \"node1\" cannot reach ready state within 3 seconds"),
                        error.getMessage());
                for (SQLWarning w = st.getWarnings(); w != null; w = w.getNextWarning()) {
                    notices.add(w.getMessage());
                }
            }
            assertTrue(notices.size() >= 2, "progress notices: " + notices);
            assertNotNull(notices.get(0));
            assertTrue(notices.get(0).contains("node \"node1\" is in state pgactive_NODE_STATUS_BEGINNING_INIT"),
                    notices.toString());
        } finally {
            OsCommand.of("kill", "-CONT", worker).run();
        }
        Pgactive.waitReady(node, "stuck");
    }

    private static void assertRefused(String sql, String message) {
        SqlFailedException error = assertThrows(SqlFailedException.class, () -> node.execute("args", sql));
        assertTrue(error.getMessage().contains(message), error.getMessage());
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
