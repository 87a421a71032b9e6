package io.pgactive.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgactive.harness.Await;
import io.pgactive.harness.ClusterExtension;
import io.pgactive.harness.PgCluster;
import io.pgactive.harness.SqlFailedException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.sql.Connection;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** pgactive_join_group: its checks, their errors, retrying, and progress while the copy runs. */
class JoinGroupTest {

    @RegisterExtension
    static final ClusterExtension clusters = new ClusterExtension();

    private static PgCluster upstream;
    private static PgCluster joiner;

    @BeforeAll
    static void start() {
        upstream = clusters.newCluster("upstream");
        joiner = clusters.newCluster("joiner");
        upstream.createDatabase("app");
        upstream.execute("app", "CREATE TABLE big (id int PRIMARY KEY, payload text)");
        // About 50 MB, so that the copy takes long enough to report progress.
        upstream.execute("app", "INSERT INTO big SELECT g, repeat(md5(g::text), 10) FROM generate_series(1, 150000) g");
        upstream.execute("app", "CREATE EXTENSION pgactive");
        Pgactive.createGroup(upstream, "app", "upstream");
        Pgactive.waitReady(upstream, "app");
        upstream.createDatabase("plain");
        Pgactive.createDatabaseWithExtension(upstream, "lonely");
    }

    @Test
    void unreachableUpstreamFailsClearlyAndTheJoinCanBeRetried() throws Exception {
        Pgactive.createDatabaseWithExtension(joiner, "app");
        assertJoinRefused("app", "joiner", "host=127.0.0.1 port=" + closedPort() + " dbname=app user=postgres",
                "could not connect with join_using_dsn");

        List<String> notices = new ArrayList<>();
        long waitedMillis;
        try (Connection conn = joiner.connect("app"); Statement st = conn.createStatement()) {
            st.execute("SELECT pgactive.pgactive_join_group('joiner', '" + joiner.dsn("app") + "', '"
                    + upstream.dsn("app") + "')");
            long start = System.nanoTime();
            st.execute("SELECT pgactive.pgactive_wait_for_node_ready(timeout := 120, progress_interval := 1)");
            waitedMillis = (System.nanoTime() - start) / 1_000_000;
            for (SQLWarning w = st.getWarnings(); w != null; w = w.getNextWarning()) {
                notices.add(w.getMessage());
            }
        }
        assertEquals("r", Pgactive.nodeStatus(joiner, "app"));
        assertEquals(150000, joiner.queryLong("app", "SELECT count(*) FROM big"));
        // A notice a second: a join quicker than two seconds (a lightly loaded machine) may show none.
        assertTrue(waitedMillis < 2000
                        || notices.stream().anyMatch(n -> n.matches(".*\\d+(%| of about \\d+ MB| of \\d+ MB).*")),
                "progress notices name how much of how many MB: " + notices + " in " + waitedMillis + " ms");
        Pgactive.awaitEverywhere("app", "SELECT string_agg(node_name || ':' || node_status::text, ',' ORDER BY node_name)"
                + " FROM pgactive.pgactive_nodes", "joiner:r,upstream:r", upstream, joiner);
    }

    /**
     * data_only_node_init: a schema built by hand beforehand (here with an index and a trigger of
     * its own) is kept, only the rows come from the upstream, while the upstream takes writes;
     * tables with rows, and tables of another shape, are refused by name.
     */
    @Test
    void dataOnlyJoinKeepsTheSchemaBuiltBeforehand() throws Exception {
        upstream.createDatabase("handmade");
        upstream.execute("handmade", "GRANT CREATE ON SCHEMA public TO " + PgCluster.APP_ROLE);
        String schema = "CREATE TABLE parent (id int PRIMARY KEY);"
                + " CREATE TABLE \"Child ö\" (id int PRIMARY KEY, parent int REFERENCES parent, note text);"
                + " CREATE TABLE events (node text, seq int, PRIMARY KEY (node, seq));"
                + " ALTER TABLE events OWNER TO " + PgCluster.APP_ROLE + ";";
        upstream.execute("handmade", schema + " INSERT INTO parent SELECT generate_series(1, 100);"
                + " INSERT INTO \"Child ö\" SELECT g, g, 'from upstream' FROM generate_series(1, 100) g;"
                + " CREATE EXTENSION pgactive");
        Pgactive.createGroup(upstream, "handmade", "handmade-upstream");
        Pgactive.waitReady(upstream, "handmade");

        Pgactive.createDatabaseWithExtension(joiner, "handmade");
        joiner.execute("handmade", schema + " CREATE INDEX only_here ON \"Child ö\" (note);"
                + " CREATE FUNCTION shout() RETURNS trigger LANGUAGE plpgsql AS"
                + " $$BEGIN NEW.note := upper(NEW.note); RETURN NEW; END$$;"
                + " CREATE TRIGGER shout BEFORE INSERT ON \"Child ö\" FOR EACH ROW EXECUTE FUNCTION shout();"
                + " INSERT INTO parent VALUES (1)");
        String join = "SELECT pgactive.pgactive_join_group('handmade-joiner', '" + joiner.dsn("handmade") + "', '"
                + upstream.dsn("handmade") + "', data_only_node_init := true)";
        SqlFailedException refused = assertThrows(SqlFailedException.class, () -> joiner.execute("handmade", join));
        assertTrue(refused.getMessage().contains("data_only_node_init needs empty tables, but public.parent has rows"),
                refused.getMessage());
        Pgactive.assertNothingLeft(joiner, "handmade");

        joiner.execute("handmade", "DELETE FROM parent; ALTER TABLE \"Child ö\" ALTER COLUMN note TYPE varchar(10)");
        joiner.execute("handmade", join);
        assertWaitFails(joiner, "handmade", "table public.\"Child ö\" differs from the upstream's: the upstream has"
                + " (id integer, note text, parent integer), this database has (id integer, note character varying(10),"
                + " parent integer)");

        joiner.execute("handmade", "ALTER TABLE \"Child ö\" ALTER COLUMN note TYPE text");
        try (Writers writers = new Writers()) {
            Writers.Writer writer = writers.start(upstream, "handmade", List.of());
            joiner.execute("handmade", join);
            Pgactive.waitReady(joiner, "handmade");
            writers.stopAll();
            Pgactive.awaitEverywhere("handmade", "SELECT count(*) FROM events", Long.toString(writer.committedSeq.get()),
                    joiner);
        }
        assertEquals("100 100 from upstream", joiner.queryString("handmade", "SELECT (SELECT count(*) FROM parent)"
                + " || ' ' || count(*) || ' ' || min(note) FROM \"Child ö\""), "rows copied as they are, triggers off");
        assertEquals("t", joiner.queryString("handmade", "SELECT to_regclass('only_here') IS NOT NULL"),
                "the joiner's own index is kept");
        upstream.execute("handmade", "INSERT INTO parent VALUES (101); INSERT INTO \"Child ö\" VALUES (101, 101, 'later')");
        joiner.execute("handmade", "INSERT INTO parent VALUES (102)");
        Pgactive.awaitEverywhere("handmade", "SELECT count(*) FROM parent", "102", upstream, joiner);
        Pgactive.awaitEverywhere("handmade", "SELECT note FROM \"Child ö\" WHERE id = 101", "later", joiner);
    }

    @Test
    void joinThroughItselfIsRefused() {
        Pgactive.createDatabaseWithExtension(joiner, "selfish");
        assertJoinRefused("selfish", "selfish", joiner.dsn("selfish"), "leads to this very database");
    }

    @Test
    void nodeDsnThatDoesNotLeadHereIsRefused() {
        Pgactive.createDatabaseWithExtension(joiner, "mistyped");
        SqlFailedException error = assertThrows(SqlFailedException.class, () -> joiner.execute("mistyped",
                "SELECT pgactive.pgactive_join_group('mistyped', '" + joiner.dsn("postgres") + "', '"
                + upstream.dsn("app") + "')"));
        assertTrue(error.getMessage().contains("node_dsn reaches database"), error.getMessage());
        Pgactive.assertNothingLeft(joiner, "mistyped");
    }

    @Test
    void upstreamThatIsNotInAGroupIsRefused() {
        Pgactive.createDatabaseWithExtension(joiner, "orphan1");
        assertJoinRefused("orphan1", "orphan1", upstream.dsn("plain"), "is not in a pgactive group: pgactive is not installed there");

        Pgactive.createDatabaseWithExtension(joiner, "orphan2");
        assertJoinRefused("orphan2", "orphan2", upstream.dsn("lonely"), "is not a ready pgactive node (it is in no group)");
    }

    @Test
    void nodeNameTakenInTheGroupIsRefused() {
        Pgactive.createDatabaseWithExtension(joiner, "dupname");
        assertJoinRefused("dupname", "upstream", upstream.dsn("app"), "node name \"upstream\" is already used in the group");
    }

    @Test
    void upstreamTableWithAnExclusionConstraintIsRefused() {
        Pgactive.createDatabaseWithExtension(upstream, "excl");
        Pgactive.createGroup(upstream, "excl", "upstream");
        Pgactive.waitReady(upstream, "excl");
        upstream.execute("excl", "CREATE TABLE booking (id int PRIMARY KEY, span int4range,"
                + " EXCLUDE USING gist (span WITH &&))");
        Pgactive.createDatabaseWithExtension(joiner, "excl");
        assertJoinRefused("excl", "excl", upstream.dsn("excl"),
                "tables of the upstream node \"upstream\" have exclusion constraints, which pgactive cannot enforce"
                + " across nodes: public.booking");
    }

    @Test
    void settingsThatMustAgreeAreCompared() {
        PgCluster other = clusters.builder("fewer").setting("pgactive.max_nodes", "3").start();
        Pgactive.createDatabaseWithExtension(other, "app");
        SqlFailedException error = assertThrows(SqlFailedException.class,
                () -> Pgactive.joinGroup(other, "app", "fewer", upstream));
        assertTrue(error.getMessage().contains("pgactive.max_nodes is 3 here but 4 on node \"upstream\""),
                error.getMessage());
        Pgactive.assertNothingLeft(other, "app");
    }

    @Test
    void nodeDsnTheUpstreamCannotUseIsRefused() {
        // The user mapping node_dsn names exists here only: the upstream could never reach this node.
        Pgactive.createDatabaseWithExtension(joiner, "onlyhere");
        joiner.execute("onlyhere", "CREATE SERVER here FOREIGN DATA WRAPPER pgactive_fdw OPTIONS (host '127.0.0.1',"
                + " port '" + joiner.port() + "', dbname 'onlyhere'); CREATE USER MAPPING FOR postgres SERVER here"
                + " OPTIONS (user 'postgres')");
        SqlFailedException error = assertThrows(SqlFailedException.class, () -> joiner.execute("onlyhere",
                "SELECT pgactive.pgactive_join_group('onlyhere', 'user_mapping=postgres pgactive_foreign_server=here', '"
                + upstream.dsn("app") + "')"));
        assertTrue(error.getMessage().contains("node \"upstream\" cannot reach this database with node_dsn:"
                + " foreign server \"here\" does not exist"), error.getMessage());
        Pgactive.assertNothingLeft(joiner, "onlyhere");
    }

    /**
     * The worker runs pg_dump and pg_restore with the database name on their command line, which
     * the JVM encodes in its locale: under a C locale, "café" became "caf?".
     */
    @Test
    void aDatabaseNamedWithNonAsciiLettersJoins() {
        String db = "café_ünï";
        upstream.createDatabase(db);
        upstream.execute(db, "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1); CREATE EXTENSION pgactive");
        Pgactive.createGroup(upstream, db, "upstream");
        Pgactive.waitReady(upstream, db);
        Pgactive.createDatabaseWithExtension(joiner, db);
        Pgactive.joinGroup(joiner, db, "joiner", upstream);
        Pgactive.waitReady(joiner, db);
        assertEquals(1, joiner.queryLong(db, "SELECT count(*) FROM t"));
    }

    @Test
    void localUserTablesAreRefusedUnlessBypassed() {
        Pgactive.createDatabaseWithExtension(joiner, "hastables");
        joiner.execute("hastables", "CREATE TABLE mine (id int)");
        SqlFailedException error = assertThrows(SqlFailedException.class, () -> joiner.execute("hastables",
                "SELECT pgactive.pgactive_join_group('t', '" + joiner.dsn("hastables") + "', '" + upstream.dsn("app") + "')"));
        assertTrue(error.getMessage().contains("database joining pgactive group has existing user tables (for example public.mine)"),
                error.getMessage());
        assertEquals(0, joiner.queryLong("hastables", "SELECT count(*) FROM pgactive.pgactive_nodes"));
    }

    @Test
    void differentCollationIsRefusedUnlessBypassed() {
        joiner.execute("postgres", "CREATE DATABASE other_locale TEMPLATE template0 LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'");
        joiner.execute("other_locale", "CREATE EXTENSION pgactive");
        joiner.execute("other_locale", "SELECT pgactive.pgactive_join_group('locale', '" + joiner.dsn("other_locale")
                + "', '" + upstream.dsn("app") + "')");
        assertWaitFails(joiner, "other_locale", "but this database has encoding UTF8, collation C.UTF-8");
        assertNotOnUpstream(upstream, "app", joiner, "other_locale");
    }

    @Test
    void groupAtMaxNodesIsRefused() {
        PgCluster small = clusters.builder("small").setting("pgactive.max_nodes", "2").start();
        // pgactive.max_nodes must be the same on every node.
        PgCluster second = clusters.builder("second").setting("pgactive.max_nodes", "2").start();
        PgCluster third = clusters.builder("third").setting("pgactive.max_nodes", "2").start();
        Pgactive.createDatabaseWithExtension(small, "app");
        Pgactive.createGroup(small, "app", "small");
        Pgactive.waitReady(small, "app");
        Pgactive.createDatabaseWithExtension(second, "app");
        Pgactive.joinGroup(second, "app", "second", small);
        Pgactive.waitReady(second, "app");
        Pgactive.createDatabaseWithExtension(third, "app");
        SqlFailedException error = assertThrows(SqlFailedException.class, () -> Pgactive.joinGroup(third, "app", "third", small));
        assertTrue(error.getMessage().contains("already has pgactive.max_nodes = 2 nodes"), error.getMessage());
        Pgactive.assertNothingLeft(third, "app");
        third.execute("app", "DROP EXTENSION pgactive");
    }

    /**
     * Catch-up replays the upstream's stream from the join's snapshot, including the upstream's
     * record of this join's progress. A trigger on the joiner's catalog that refuses every applied
     * change stands in for anything that makes every catch-up session fail (as
     * {@code debug_apply_delay} with its unit once did): the join must stop and say why, not wait
     * "catching up" for ever.
     */
    @Test
    void joinWhoseCatchUpKeepsFailingSaysWhy() {
        Pgactive.createDatabaseWithExtension(upstream, "refusing");
        Pgactive.createGroup(upstream, "refusing", "upstream");
        Pgactive.waitReady(upstream, "refusing");
        Pgactive.createDatabaseWithExtension(joiner, "refusing");
        joiner.execute("refusing", "CREATE FUNCTION public.refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                + "   IF current_setting('session_replication_role') = 'replica' THEN"
                + "     RAISE EXCEPTION 'change refused by the trigger'; END IF; RETURN NEW; END $$;"
                + " CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON pgactive.pgactive_nodes"
                + "   FOR EACH ROW EXECUTE FUNCTION public.refuse();"
                + " ALTER TABLE pgactive.pgactive_nodes ENABLE ALWAYS TRIGGER refuse");
        joiner.execute("refusing", "SELECT pgactive.pgactive_join_group('joiner', '" + joiner.dsn("refusing")
                + "', '" + upstream.dsn("refusing") + "')");
        assertWaitFails(joiner, "refusing", "change refused by the trigger");
        assertTrue(joiner.queryString("refusing", "SELECT last_error FROM pgactive.pgactive_local_state")
                .contains("catch-up from node \"upstream\" failed"));
        assertNotOnUpstream(upstream, "refusing", joiner, "refusing");
    }

    /** The call itself fails, and leaves nothing behind. */
    private static void assertJoinRefused(String db, String nodeName, String joinUsingDsn, String message) {
        SqlFailedException error = assertThrows(SqlFailedException.class, () -> joiner.execute(db,
                "SELECT pgactive.pgactive_join_group('" + nodeName + "', '" + joiner.dsn(db) + "', '" + joinUsingDsn + "')"));
        assertTrue(error.getMessage().contains(message), error.getMessage());
        Pgactive.assertNothingLeft(joiner, db);
        assertEquals(0, joiner.queryLong(db, "SELECT count(*) FROM pgactive.pgactive_local_state"));
    }

    /** A join that failed in the worker says why, and the database is no node again. */
    private static void assertWaitFails(PgCluster node, String db, String message) {
        SqlFailedException error = assertThrows(SqlFailedException.class,
                () -> node.execute(db, "SELECT pgactive.pgactive_wait_for_node_ready(timeout := 60)"));
        assertTrue(error.getMessage().contains(message), error.getMessage());
        Pgactive.assertNothingLeft(node, db);
    }

    /** The upstream holds no registry entry and no slot of the failed joiner. */
    private static void assertNotOnUpstream(PgCluster up, String upDb, PgCluster node, String db) {
        String suffix = node.queryString(db, "SELECT format('%s_%s_%s__', sysid, timeline, dboid)"
                + " FROM pgactive.pgactive_get_local_nodeid()");
        Await.untilEquals(Duration.ofSeconds(10), "the failed joiner's slots gone from the upstream", 0L,
                () -> up.queryLong(upDb, "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE '%\\_" + suffix + "'"));
        assertEquals(0, up.queryLong(upDb, "SELECT count(*) FROM pgactive.pgactive_nodes"
                + " WHERE format('%s_%s_%s__', node_sysid, node_timeline, node_dboid) = '" + suffix + "'"));
    }

    private static int closedPort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
