package io.pgactive.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgactive.harness.Await;
import io.pgactive.harness.ClusterExtension;
import io.pgactive.harness.PgCluster;
import java.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Bounded bookkeeping. Tombstones are forgotten once no change that could lose against them can
 * still arrive, also when a peer writes nothing (an active/passive pair): its heartbeats move the
 * horizon. Before heartbeats, the active node kept every tombstone for as long as its peer stayed
 * quiet. The conflict history keeps rows for {@code pgactive.conflict_history_retention}.
 */
class BookkeepingTest {

    private static final String DB = "app";
    private static final String TOMBSTONES = "SELECT count(*) FROM pgactive.pgactive_tombstones";

    @RegisterExtension
    static final ClusterExtension clusters = new ClusterExtension();

    private static PgCluster active;
    private static PgCluster passive;

    @BeforeAll
    static void buildGroup() {
        active = clusters.newCluster("active");
        passive = clusters.newCluster("passive");
        active.createDatabase(DB);
        active.execute(DB, "CREATE TABLE kv (k int PRIMARY KEY, v text); ALTER TABLE kv OWNER TO " + PgCluster.APP_ROLE);
        Pgactive.formGroup(DB, active, passive);
    }

    @Test
    void tombstonesAreCollectedWhileThePeerWritesNothing() {
        active.executeAs(PgCluster.APP_ROLE, DB, "INSERT INTO kv SELECT g, 'v' FROM generate_series(1, 10) g");
        active.executeAs(PgCluster.APP_ROLE, DB, "DELETE FROM kv WHERE k <= 5");
        Pgactive.awaitEverywhere(DB, "SELECT count(*) FROM kv WHERE k <= 10", "5", active, passive);
        assertEquals(5, active.queryLong(DB, TOMBSTONES), "the active node's deletes left tombstones");

        // The passive node commits nothing; its heartbeats alone let the active node forget them
        // (a heartbeat every 5 s, a 5 s margin, collection every 10 s).
        for (PgCluster node : new PgCluster[] {active, passive}) {
            Await.untilEquals(Duration.ofSeconds(60), "no tombstone left on " + node.name(), 0L,
                    () -> node.queryLong(DB, TOMBSTONES));
        }
    }

    @Test
    void conflictHistoryIsKeptForItsRetentionOnly() {
        active.executeAs(PgCluster.APP_ROLE, DB, "INSERT INTO kv VALUES (100, 'base')");
        Pgactive.awaitEverywhere(DB, "SELECT count(*) FROM kv WHERE k = 100", "1", passive);
        Pgactive.pauseApply(passive, DB, active);
        passive.executeAs(PgCluster.APP_ROLE, DB, "UPDATE kv SET v = 'passive' WHERE k = 100");
        active.executeAs(PgCluster.APP_ROLE, DB, "UPDATE kv SET v = 'active' WHERE k = 100");
        passive.execute(DB, "SELECT pgactive.pgactive_apply_resume()");
        Pgactive.awaitEverywhere(DB, "SELECT v FROM kv WHERE k = 100", "active", active, passive);
        String history = "SELECT count(*) FROM pgactive.pgactive_conflict_history";
        Await.until(Duration.ofSeconds(30), "the conflict in the passive node's history",
                () -> passive.queryLong(DB, history) > 0);

        for (PgCluster node : new PgCluster[] {active, passive}) {
            node.execute(DB, "ALTER SYSTEM SET pgactive.conflict_history_retention = '1s'; SELECT pg_reload_conf()");
        }
        try {
            for (PgCluster node : new PgCluster[] {active, passive}) {
                Await.untilEquals(Duration.ofSeconds(60), "an empty conflict history on " + node.name(), 0L,
                        () -> node.queryLong(DB, history));
            }
        } finally {
            for (PgCluster node : new PgCluster[] {active, passive}) {
                node.execute(DB, "ALTER SYSTEM RESET pgactive.conflict_history_retention; SELECT pg_reload_conf()");
            }
        }
    }
}
