package io.pgactive.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgactive.harness.ClusterExtension;
import io.pgactive.harness.PgCluster;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Three nodes on three clusters: joins copy everything, and every node's writes reach the others once. */
class MeshReplicationTest {

    private static final String DB = "app";

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
        node1.execute(DB, "CREATE TABLE items (id int PRIMARY KEY, label text, qty int)");
        node1.execute(DB, "CREATE TABLE pairs (a int, b text, note text, PRIMARY KEY (a, b))");
        node1.execute(DB, "INSERT INTO items SELECT g, 'before ' || g, g FROM generate_series(1, 100) g");
        node1.execute(DB, "CREATE EXTENSION pgactive");
        Pgactive.createGroup(node1, DB, "node1");
        Pgactive.waitReady(node1, DB);
        for (PgCluster joiner : List.of(node2, node3)) {
            Pgactive.createDatabaseWithExtension(joiner, DB);
            Pgactive.joinGroup(joiner, DB, joiner.name(), node1);
            Pgactive.waitReady(joiner, DB);
        }
    }

    @Test
    void joinsCopyDataCreatedBeforeTheGroup() {
        for (PgCluster node : List.of(node2, node3)) {
            assertEquals(100, node.queryLong(DB, "SELECT count(*) FROM items WHERE label LIKE 'before %'"));
        }
    }

    @Test
    void everyNodeListsEveryMember() {
        Pgactive.awaitEverywhere(DB, "SELECT string_agg(node_name || ':' || node_status::text, ',' ORDER BY node_name)"
                + " FROM pgactive.pgactive_nodes", "node1:r,node2:r,node3:r", node1, node2, node3);
        assertEquals("node1", node1.queryString(DB, "SELECT pgactive.pgactive_get_local_node_name()"));
        assertEquals("node2", node2.queryString(DB, "SELECT pgactive.pgactive_get_local_node_name()"));
        assertEquals("node3", node3.queryString(DB, "SELECT pgactive.pgactive_get_local_node_name()"));
        Pgactive.awaitEverywhere(DB, "SELECT count(*) FROM pgactive.pgactive_connections", "3", node1, node2, node3);
    }

    @Test
    void writesOnEveryNodeReachTheOthersExactlyOnce() {
        node1.execute(DB, "INSERT INTO items VALUES (1001, 'from node1', 1)");
        node2.execute(DB, "INSERT INTO items VALUES (1002, 'from node2', 2)");
        node3.execute(DB, "INSERT INTO items VALUES (1003, 'from node3', 3)");
        Pgactive.awaitEverywhere(DB, "SELECT string_agg(label, ',' ORDER BY id) FROM items WHERE id > 1000",
                "from node1,from node2,from node3", node1, node2, node3);

        node2.execute(DB, "UPDATE items SET qty = qty + 10 WHERE id = 1001");
        node3.execute(DB, "DELETE FROM items WHERE id = 1002");
        node1.execute(DB, "INSERT INTO pairs VALUES (1, 'x', 'one'), (2, 'y', 'two')");
        Pgactive.awaitEverywhere(DB, "SELECT string_agg(id || ':' || qty, ',' ORDER BY id) FROM items WHERE id > 1000",
                "1001:11,1003:3", node1, node2, node3);
        Pgactive.awaitEverywhere(DB, "SELECT string_agg(a || b || note, ',' ORDER BY a) FROM pairs",
                "1xone,2ytwo", node1, node2, node3);

        node3.execute(DB, "UPDATE pairs SET b = 'z' WHERE a = 2"); // key change
        Pgactive.awaitEverywhere(DB, "SELECT string_agg(a || b || note, ',' ORDER BY a) FROM pairs",
                "1xone,2ztwo", node1, node2, node3);
    }
}
