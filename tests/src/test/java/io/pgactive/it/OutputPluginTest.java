package io.pgactive.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.pgactive.harness.ClusterExtension;
import io.pgactive.harness.PgCluster;
import io.pgactive.harness.PgInstall;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Servers that restrict output plugins (output_plugin_libraries) and do not list pgactive's
 * still form a group: their slots use the built-in pgoutput and the receiver skips what a peer
 * only forwarded. Servers that list it (the harness default) use the filtering plugin.
 */
class OutputPluginTest {

    private static final String DB = "app";

    @RegisterExtension
    static final ClusterExtension clusters = new ClusterExtension();

    @Test
    void groupWorksWhereOnlyBuiltInPluginsAreAllowed() {
        assumeTrue(PgInstall.get().hasSetting("output_plugin_libraries"), "this server does not restrict plugins");
        PgCluster node1 = restricted("node1");
        PgCluster node2 = restricted("node2");
        PgCluster node3 = clusters.newCluster("node3"); // lists pgactive: mixed groups work too
        node1.createDatabase(DB);
        node1.execute(DB, "CREATE TABLE t (id int PRIMARY KEY, v text)");
        Pgactive.formGroup(DB, node1, node2, node3);

        assertEquals("pgoutput", node1.queryString(DB, "SELECT DISTINCT plugin FROM pg_replication_slots"));
        assertEquals("pgactive", node3.queryString(DB, "SELECT DISTINCT plugin FROM pg_replication_slots"));
        node1.execute(DB, "INSERT INTO t VALUES (1, 'from node1')");
        node2.execute(DB, "INSERT INTO t VALUES (2, 'from node2')");
        node3.execute(DB, "INSERT INTO t VALUES (3, 'from node3')");
        Pgactive.awaitEverywhere(DB, "SELECT string_agg(v, ',' ORDER BY id) FROM t",
                "from node1,from node2,from node3", node1, node2, node3);
        // and nothing was duplicated on the way
        for (PgCluster node : new PgCluster[] {node1, node2, node3}) {
            assertEquals(3, node.queryLong(DB, "SELECT count(*) FROM t"));
        }
    }

    private static PgCluster restricted(String name) {
        return clusters.builder(name).setting("output_plugin_libraries", "pgoutput, test_decoding").start();
    }
}
