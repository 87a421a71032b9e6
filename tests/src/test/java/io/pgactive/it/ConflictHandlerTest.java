package io.pgactive.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgactive.harness.Await;
import io.pgactive.harness.ClusterExtension;
import io.pgactive.harness.PgCluster;
import io.pgactive.harness.SqlFailedException;
import java.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * User-defined conflict handlers, registered on one node after the group formed (so they
 * reach the other by replication), resolving concurrent updates that last-update-wins would
 * resolve differently.
 */
class ConflictHandlerTest {

    private static final String DB = "app";
    private static final int DELAY_MS = 1500;
    private static final String HANDLER_ARGS = "(local_row %1$s, remote_row %1$s, command_tag text, table_oid regclass,"
            + " conflict_type pgactive.pgactive_conflict_type, OUT \"row\" %1$s,"
            + " OUT handler_action pgactive.pgactive_conflict_handler_action)";

    @RegisterExtension
    static final ClusterExtension clusters = new ClusterExtension();

    private static PgCluster node1;
    private static PgCluster node2;

    @BeforeAll
    static void buildGroup() {
        node1 = clusters.newCluster("node1");
        node2 = clusters.newCluster("node2");
        node1.createDatabase(DB);
        node1.execute(DB, "CREATE EXTENSION pgactive");
        for (String table : new String[] {"counters", "skipped", "broken", "timed"}) {
            node1.execute(DB, "CREATE TABLE " + table + " (id int PRIMARY KEY, n bigint)");
        }
        // The worked example of docs/conflicts.md: keep the larger of two counters.
        node1.execute(DB, "CREATE FUNCTION keep_max" + String.format(HANDLER_ARGS, "counters")
                + " LANGUAGE plpgsql AS $$ BEGIN"
                + " \"row\" := CASE WHEN local_row.n >= remote_row.n THEN local_row ELSE remote_row END;"
                + " handler_action := 'ROW'; END $$");
        node1.execute(DB, "CREATE FUNCTION skip_it" + String.format(HANDLER_ARGS, "skipped")
                + " LANGUAGE sql AS $$ SELECT NULL::public.skipped, 'SKIP'::pgactive.pgactive_conflict_handler_action $$");
        node1.execute(DB, "CREATE FUNCTION fail_it" + String.format(HANDLER_ARGS, "broken")
                + " LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'handler bug'; END $$");
        node1.execute(DB, "CREATE FUNCTION max_timed" + String.format(HANDLER_ARGS, "timed")
                + " LANGUAGE plpgsql AS $$ BEGIN"
                + " \"row\" := CASE WHEN local_row.n >= remote_row.n THEN local_row ELSE remote_row END;"
                + " handler_action := 'ROW'; END $$");
        Pgactive.formDelayedGroup(DB, DELAY_MS, node1, node2);

        node1.execute(DB, "SELECT pgactive.pgactive_create_conflict_handler('counters', 'keep_max',"
                + " 'keep_max(counters, counters, text, regclass, pgactive.pgactive_conflict_type)', 'update_update')");
        node1.execute(DB, "SELECT pgactive.pgactive_create_conflict_handler('skipped', 'skip_it',"
                + " 'skip_it(skipped, skipped, text, regclass, pgactive.pgactive_conflict_type)', 'update_update')");
        node1.execute(DB, "SELECT pgactive.pgactive_create_conflict_handler('broken', 'fail_it',"
                + " 'fail_it(broken, broken, text, regclass, pgactive.pgactive_conflict_type)', 'update_update')");
        node1.execute(DB, "SELECT pgactive.pgactive_create_conflict_handler('timed', 'max_timed',"
                + " 'max_timed(timed, timed, text, regclass, pgactive.pgactive_conflict_type)', 'update_update',"
                + " ch_timeframe := '1 millisecond')");
        // The handlers replicate, each pointing at node2's own table.
        Pgactive.awaitEverywhere(DB, "SELECT string_agg(ch_name || '=' || (ch_reloid = to_regclass(ch_relname)::oid), ','"
                + " ORDER BY ch_name) FROM pgactive.pgactive_conflict_handlers",
                "fail_it=true,keep_max=true,max_timed=true,skip_it=true", node1, node2);
    }

    @Test
    void handlerKeepsTheLargerCounterWhereLastUpdateWinsWouldNot() {
        concurrentUpdates("counters", 10, 5);
        Pgactive.awaitEverywhere(DB, "SELECT n FROM counters WHERE id = 1", "10", node1, node2);
        Await.until(Duration.ofSeconds(20), "the handler's resolution in the history", () -> node1.queryLong(DB,
                "SELECT count(*) FROM pgactive.pgactive_conflict_history WHERE object_name = 'counters'"
                + " AND conflict_resolution = 'conflict_trigger_returned_tuple'") == 1);
    }

    /**
     * Each node merges the two versions in commit order, so SKIP drops the later one (node2's)
     * on both: the nodes converge, where skipping "the remote change" would keep each its own.
     */
    @Test
    void skipKeepsTheEarlierVersionOnEveryNodeAndIsLogged() {
        concurrentUpdates("skipped", 10, 5);
        Await.until(Duration.ofSeconds(20), "the skip in both histories", () -> node1.queryLong(DB,
                "SELECT count(*) FROM pgactive.pgactive_conflict_history WHERE object_name = 'skipped'"
                + " AND conflict_resolution = 'conflict_trigger_skip_change'") == 1
                && node2.queryLong(DB, "SELECT count(*) FROM pgactive.pgactive_conflict_history"
                + " WHERE object_name = 'skipped' AND conflict_resolution = 'conflict_trigger_skip_change'") == 1);
        Pgactive.awaitEverywhere(DB, "SELECT n FROM skipped WHERE id = 1", "10", node1, node2);
    }

    @Test
    void failingHandlerFallsBackToLastUpdateWinsAndTheLinkKeepsRunning() {
        concurrentUpdates("broken", 10, 5);
        Pgactive.awaitEverywhere(DB, "SELECT n FROM broken WHERE id = 1", "5", node1, node2);
        Await.until(Duration.ofSeconds(20), "the handler failure in the server log",
                () -> node1.serverLogText().contains("conflict handler \"fail_it\"")
                        && node1.serverLogText().contains("handler bug"));
        node2.execute(DB, "INSERT INTO broken VALUES (2, 2)");
        Pgactive.awaitEverywhere(DB, "SELECT count(*) FROM broken", "2", node1, node2);
    }

    @Test
    void handlerOutsideItsTimeFrameIsNotUsed() {
        concurrentUpdates("timed", 10, 5);
        Pgactive.awaitEverywhere(DB, "SELECT n FROM timed WHERE id = 1", "5", node1, node2);
    }

    @Test
    void handlerWithTheWrongSignatureIsRefused() {
        SqlFailedException error = assertThrows(SqlFailedException.class, () -> node1.execute(DB,
                "SELECT pgactive.pgactive_create_conflict_handler('counters', 'wrong', 'now()', 'update_update')"));
        assertTrue(error.getMessage().contains("does not have the signature of a conflict handler"), error.getMessage());
    }

    /** Row 1 goes to n = first on node1, then (later, concurrently) n = second on node2. */
    private static void concurrentUpdates(String table, int first, int second) {
        node1.execute(DB, "INSERT INTO " + table + " VALUES (1, 1)");
        Pgactive.awaitEverywhere(DB, "SELECT n FROM " + table + " WHERE id = 1", "1", node1, node2);
        node1.execute(DB, "UPDATE " + table + " SET n = " + first + " WHERE id = 1");
        node2.execute(DB, "UPDATE " + table + " SET n = " + second + " WHERE id = 1");
    }
}
