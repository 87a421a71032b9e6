package io.pgactive.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgactive.harness.Await;
import io.pgactive.harness.ClusterExtension;
import io.pgactive.harness.PgCluster;
import io.pgactive.harness.SqlFailedException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Global sequences: serial and identity keys switched to pgactive_snowflake_id_nextval give
 * node-unique, time-ordered ids, so nodes inserting at once never collide; the ids of one node
 * only grow, across a restart and when the clock steps back.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SnowflakeIdTest {

    private static final String DB = "app";
    private static final Duration SOON = Duration.ofSeconds(60);
    /** The writers' table (see Writers): a bigserial key after the columns they fill. */
    private static final String EVENTS = "events";
    /** An identity key, with a name that breaks SQL built by concatenation. */
    private static final String TICKETS = "\"Tick $ets ö\"";
    /** Upstream's epoch, in Unix milliseconds. */
    private static final long EPOCH_MILLIS = 1475796139634L;

    @RegisterExtension
    static final ClusterExtension clusters = new ClusterExtension();

    private static PgCluster node1;
    private static PgCluster node2;
    private static PgCluster node3;
    private static List<PgCluster> nodes;

    @BeforeAll
    static void buildGroup() {
        node1 = clusters.newCluster("node1");
        node2 = clusters.newCluster("node2");
        node3 = clusters.newCluster("node3");
        nodes = List.of(node1, node2, node3);
        node1.createDatabase(DB);
        node1.execute(DB, "GRANT CREATE ON SCHEMA public TO " + PgCluster.APP_ROLE);
        node1.executeAs(PgCluster.APP_ROLE, DB, "CREATE TABLE " + EVENTS + " (node text, seq int, id bigserial PRIMARY KEY);"
                + " CREATE TABLE " + TICKETS + " (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, what text);"
                + " INSERT INTO " + TICKETS + " (what) VALUES ('before the group')");
        Pgactive.formGroup(DB, node1, node2, node3);
    }

    @Test
    @Order(1)
    void localSequenceKeysAreNamedUntilConverted() throws Exception {
        assertEquals("keys of this database come from local sequences: public.\"Tick $ets ö\".id, public.events.id", warning(node1));
        for (PgCluster node : nodes) {
            assertEquals("events_id_seq", node.queryString(DB,
                    "SELECT pgactive.pgactive_snowflake_id_convert_column('events', 'id')::text"));
            assertEquals("\"Tick $ets ö_id_seq\"", node.queryString(DB,
                    "SELECT pgactive.pgactive_snowflake_id_convert_column('public." + TICKETS + "', 'id')::text"));
        }
        assertNull(warning(node1));

        // What cannot hold snowflake ids is refused, naming why.
        node1.execute(DB, "CREATE TABLE small (id serial PRIMARY KEY); CREATE SEQUENCE cached CACHE 10");
        SqlFailedException notBigint = assertThrows(SqlFailedException.class, () -> node1.queryString(DB,
                "SELECT pgactive.pgactive_snowflake_id_convert_column('small', 'id')"));
        assertTrue(notBigint.getMessage().contains("column \"id\" of relation public.small is integer, snowflake ids need bigint"),
                notBigint.getMessage());
        SqlFailedException cached = assertThrows(SqlFailedException.class, () -> node1.queryString(DB,
                "SELECT pgactive.pgactive_snowflake_id_nextval('cached')"));
        assertTrue(cached.getMessage().contains("sequence \"cached\" cannot hold snowflake ids"), cached.getMessage());
        node1.execute(DB, "DROP TABLE small; DROP SEQUENCE cached");
    }

    @Test
    @Order(2)
    void nodesInsertingAtOnceNeverCollide() throws Exception {
        try (Writers writers = new Writers()) {
            for (PgCluster node : nodes) {
                writers.start(node, DB, List.of());
            }
            Await.until(SOON, "every writer to commit 300 rows",
                    () -> writers.all().stream().allMatch(w -> w.committedSeq.get() >= 300));
            for (PgCluster node : nodes) {
                node.executeAs(PgCluster.APP_ROLE, DB, "INSERT INTO public." + TICKETS + " (what) VALUES ('from "
                        + node.name() + "')");
            }
            writers.stopAll();
            long rows = writers.all().stream().mapToLong(w -> w.committedSeq.get()).sum();
            for (PgCluster node : nodes) {
                Await.untilEquals(SOON, "every row on " + node.name(), rows + " events, 4 tickets",
                        () -> node.queryString(DB, "SELECT (SELECT count(*) FROM events) || ' events, '"
                                + " || (SELECT count(*) FROM public." + TICKETS + ") || ' tickets'"));
            }
        }
        for (PgCluster node : nodes) {
            assertEquals(0L, node.queryLong(DB, "SELECT count(*) FROM pgactive.pgactive_conflict_history"), node.name());
            long seqId = node.queryLong(DB, "SELECT node_seq_id FROM pgactive.pgactive_nodes WHERE node_name = '"
                    + node.name() + "'");
            // One node's ids grow with its commits, carry its node_seq_id, and tell when they were made.
            assertEquals("true true true", node1.queryString(DB, "SELECT bool_and(ordered) || ' ' || bool_and(mine) || ' ' || bool_and(recent)"
                    + " FROM (SELECT id > lag(id, 1, 0::bigint) OVER (ORDER BY seq) AS ordered,"
                    + "   (id >> 14) & 1023 = " + seqId + " AS mine,"
                    + "   abs((id >> 24) + " + EPOCH_MILLIS + " - extract(epoch FROM now()) * 1000) < 600000 AS recent"
                    + "   FROM events WHERE node = '" + node.name() + "') e"), node.name());
        }
        assertEquals(3L, node1.queryLong(DB, "SELECT count(DISTINCT node_seq_id) FROM pgactive.pgactive_nodes"));
    }

    @Test
    @Order(3)
    void idsKeepGrowingAcrossARestart() {
        long before = node2.queryLong(DB, "SELECT pgactive.pgactive_snowflake_id_nextval('events_id_seq')");
        node2.stopImmediate(); // a crash: what was handed out must still not come again
        node2.start();
        long after = node2.queryLong(DB, "SELECT pgactive.pgactive_snowflake_id_nextval('events_id_seq')");
        assertTrue(after > before, after + " after the restart, " + before + " before");
    }

    @Test
    @Order(4)
    void aClockThatStepsBackDoesNotRepeatIds() throws SQLException {
        // As the application role, which owns the sequence: an hour back, in a burst at that one
        // instant larger than the counter's 16,384 values per millisecond.
        try (Connection conn = node3.connect(DB, PgCluster.APP_ROLE); Statement st = conn.createStatement()) {
            long now = Long.parseLong(single(st, "SELECT pgactive.pgactive_snowflake_id_nextval('events_id_seq')"));
            assertEquals("true 40000 40000 true", single(st, "SELECT (min(id) > " + now + ") || ' ' || count(DISTINCT id)"
                    + " || ' ' || count(*) || ' ' || bool_and(ordered) FROM (SELECT id, id > lag(id, 1, 0::bigint)"
                    + " OVER (ORDER BY g) AS ordered FROM (SELECT g, pgactive._snowflake_id('events_id_seq',"
                    + " now() - interval '1 hour') AS id FROM generate_series(1, 40000) g) b) o"));
        }
    }

    private static String single(Statement st, String sql) throws SQLException {
        try (java.sql.ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    /** The warning about sequence-filled keys create_group and join_group give, if any. */
    private static String warning(PgCluster node) throws SQLException {
        try (Connection conn = node.connect(DB); Statement st = conn.createStatement()) {
            st.execute("SELECT pgactive._check_schema(pgactive._schema_report(), 'this database')");
            SQLWarning warning = st.getWarnings();
            return warning == null ? null
                    : ((org.postgresql.util.PSQLWarning) warning).getServerErrorMessage().getMessage();
        }
    }
}
