package io.pgactive.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgactive.harness.Await;
import io.pgactive.harness.ClusterExtension;
import io.pgactive.harness.PgCluster;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 14 item 2: node1 inserts keys in one transaction; node2, once it has them, deletes some
 * and updates others; node3 applies node2's changes while its apply of node1's transaction is
 * still open (held in a trigger, after the inserts). node2's deletes find no row on node3 (the
 * insert has not committed) and node1's insert finds no tombstone (the deletes have not
 * committed): both must look again before they commit, or node3 keeps rows every other node
 * deleted. node2's updates wait for the insert of their key, which then exists: they must be
 * applied to it, not dropped.
 *
 * <p>Hold: an ALWAYS trigger on {@code gate}, on node3 only, waits for an advisory lock this
 * test holds; node1's transaction updates {@code gate} after its inserts.
 */
class DeleteRacingInsertTest {

    private static final String DB = "app";
    private static final long HOLD_LOCK = 4242;

    @RegisterExtension
    static final ClusterExtension clusters = new ClusterExtension();

    private static PgCluster node1;
    private static PgCluster node2;
    private static PgCluster node3;

    @BeforeAll
    static void buildGroup() {
        node1 = clusters.newCluster("node1");
        node2 = clusters.newCluster("node2");
        node3 = clusters.newCluster("node3");
        node1.createDatabase(DB);
        node1.execute(DB, "CREATE TABLE item (k int PRIMARY KEY, v text);"
                + " CREATE TABLE gate (id int PRIMARY KEY, n int); INSERT INTO gate VALUES (1, 0);"
                + " ALTER TABLE item OWNER TO " + PgCluster.APP_ROLE + "; ALTER TABLE gate OWNER TO " + PgCluster.APP_ROLE);
        Pgactive.formGroup(DB, node1, node2, node3);
        node3.execute(DB, "CREATE FUNCTION hold_apply() RETURNS trigger LANGUAGE plpgsql AS $$"
                + " BEGIN PERFORM pg_advisory_xact_lock(" + HOLD_LOCK + "); RETURN NEW; END $$;"
                + " CREATE TRIGGER hold_apply BEFORE UPDATE ON gate FOR EACH ROW EXECUTE FUNCTION hold_apply();"
                + " ALTER TABLE gate ENABLE ALWAYS TRIGGER hold_apply");
    }

    /** A small transaction: node3 applies it with a compiled procedure. */
    @Test
    void deletesAndUpdatesRacingASmallInsert() throws Exception {
        race(1, 10, 2, 1);
    }

    /** A 1,000-row transaction: the careful path, by COPY batches. */
    @Test
    void deletesAndUpdatesRacingAThousandRowInsert() throws Exception {
        race(1_000, 1_000, 200, 20);
    }

    @Test
    void deletesAndUpdatesRacingA150000RowInsert() throws Exception {
        race(100_000, 150_000, 200, 20);
    }

    /**
     * node1 inserts keys {@code first..first+count-1}; node2 deletes {@code deletes} and updates
     * {@code updates} of them while node3's apply of node1's transaction is held open.
     */
    private static void race(int first, int count, int deletes, int updates) throws Exception {
        int last = first + count - 1;
        String keys = "k BETWEEN " + first + " AND " + last;
        int deleteEvery = count / deletes;
        int updateEvery = count / updates;
        String deleted = "(k - " + first + ") % " + deleteEvery + " = 0";
        String updated = "(k - " + first + ") % " + updateEvery + " = 1";
        try (Connection hold = node3.connect(DB); Statement holdSt = hold.createStatement()) {
            holdSt.execute("SELECT pg_advisory_lock(" + HOLD_LOCK + ")");
            node1.executeAs(PgCluster.APP_ROLE, DB, "BEGIN; INSERT INTO item SELECT k, 'from node1' FROM generate_series(" + first + ", "
                    + last + ") k; UPDATE gate SET n = n + 1; COMMIT");
            Pgactive.awaitEverywhere(DB, "SELECT count(*) FROM item WHERE " + keys, Integer.toString(count), node2);
            node2.executeAs(PgCluster.APP_ROLE, DB, "DELETE FROM item WHERE " + keys + " AND " + deleted);
            node2.executeAs(PgCluster.APP_ROLE, DB, "UPDATE item SET v = 'from node2' WHERE " + keys + " AND " + updated);

            // node3 has applied node2's deletes (their tombstones committed) and is applying its
            // updates, which wait for node1's uncommitted insert of their keys.
            Pgactive.awaitEverywhere(DB, "SELECT count(*) FROM pgactive.pgactive_tombstones"
                    + " WHERE relname = 'public.item' AND (key ->> 'k')::int BETWEEN " + first + " AND " + last,
                    Integer.toString(deletes), node3);
            Await.until(Duration.ofSeconds(30), "node3's apply of node2's updates to wait for node1's insert",
                    () -> node3.queryLong(DB, "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE"
                            + " 'pgactive:%:apply' AND wait_event_type = 'Lock' AND wait_event = 'transactionid'") > 0);
            assertEquals(0, node3.queryLong(DB, "SELECT count(*) FROM item WHERE " + keys),
                    "node1's transaction is still held open on node3");
        } // releases the hold

        String expected = (count - deletes) + " rows, " + updates + " from node2";
        Pgactive.awaitEverywhere(DB, "SELECT count(*) || ' rows, ' || count(*) FILTER (WHERE v = 'from node2')"
                + " || ' from node2' FROM item WHERE " + keys, expected, node1, node2, node3);
        for (PgCluster node : new PgCluster[] {node1, node2, node3}) {
            assertEquals(0, node.queryLong(DB, "SELECT count(*) FROM item WHERE " + keys + " AND " + deleted),
                    node.name() + " keeps no deleted row");
        }
    }
}
