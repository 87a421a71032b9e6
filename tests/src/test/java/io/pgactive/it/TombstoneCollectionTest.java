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
 * Tombstones are forgotten once no change that could lose against them can still arrive, also
 * when a peer writes nothing (an active/passive pair): its heartbeats move the horizon. Before
 * heartbeats, the active node kept every tombstone for as long as its peer stayed quiet.
 */
class TombstoneCollectionTest {

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
        Pgactive.awaitEverywhere(DB, "SELECT count(*) FROM kv", "5", active, passive);
        assertEquals(5, active.queryLong(DB, TOMBSTONES), "the active node's deletes left tombstones");

        // The passive node commits nothing; its heartbeats alone let the active node forget them
        // (a heartbeat every 5 s, a 5 s margin, collection every 10 s).
        for (PgCluster node : new PgCluster[] {active, passive}) {
            Await.untilEquals(Duration.ofSeconds(60), "no tombstone left on " + node.name(), 0L,
                    () -> node.queryLong(DB, TOMBSTONES));
        }
    }
}
