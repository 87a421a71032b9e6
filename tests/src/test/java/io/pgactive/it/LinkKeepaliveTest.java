package io.pgactive.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.pgactive.harness.ClusterExtension;
import io.pgactive.harness.PgCluster;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 14 item 3: a link that is busy applying for longer than the upstream's
 * {@code wal_sender_timeout} keeps its connection: it replies to the walsender while it works.
 * Here an ALWAYS trigger on node2 makes one remote insert take 8 s, with node1's walsenders
 * giving up after 3 s without a reply.
 */
class LinkKeepaliveTest {

    private static final String DB = "app";
    private static final String TIMEOUT_MESSAGE = "terminating walsender process due to replication timeout";

    @RegisterExtension
    static final ClusterExtension clusters = new ClusterExtension();

    private static PgCluster node1;
    private static PgCluster node2;

    @BeforeAll
    static void buildGroup() {
        node1 = clusters.newCluster("node1");
        node2 = clusters.newCluster("node2");
        node1.createDatabase(DB);
        node1.execute(DB, "CREATE TABLE slow (k int PRIMARY KEY); ALTER TABLE slow OWNER TO " + PgCluster.APP_ROLE);
        Pgactive.formGroup(DB, node1, node2);
        node2.execute(DB, "CREATE FUNCTION take_long() RETURNS trigger LANGUAGE plpgsql AS"
                + " $$ BEGIN PERFORM pg_sleep(8); RETURN NEW; END $$;"
                + " CREATE TRIGGER take_long BEFORE INSERT ON slow FOR EACH ROW EXECUTE FUNCTION take_long();"
                + " ALTER TABLE slow ENABLE ALWAYS TRIGGER take_long");
        node1.setSetting("wal_sender_timeout", "3s").reload();
        Pgactive.awaitEverywhere("postgres", "SHOW wal_sender_timeout", "3s", node1);
    }

    @Test
    void aLinkBusyLongerThanTheWalSenderTimeoutKeepsItsConnection() {
        long disconnectsBefore = disconnects();
        node1.executeAs(PgCluster.APP_ROLE, DB, "INSERT INTO slow VALUES (1)");
        Pgactive.awaitEverywhere(DB, "SELECT count(*) FROM slow", "1", node2);
        assertEquals(disconnectsBefore, disconnects(), "node2's link from node1 did not reconnect");
        assertFalse(node1.serverLogText().contains(TIMEOUT_MESSAGE), "node1's log: " + TIMEOUT_MESSAGE);
    }

    private static long disconnects() {
        return node2.queryLong(DB, "SELECT coalesce(sum(nr_disconnect), 0) FROM pgactive.pgactive_stats");
    }
}
