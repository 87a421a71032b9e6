package io.pgactive.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgactive.harness.ClusterExtension;
import io.pgactive.harness.PgCluster;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A TRUNCATE racing writes on another node (docs/conflicts.md, "TRUNCATE"): it removes every
 * row whose last write is older than it, on every node, whichever arrives first; what was
 * written after it stays everywhere. Apply is paused on both nodes, so each sees the other's
 * changes only after its own: node1 applies node2's writes after its TRUNCATE, node2 the
 * TRUNCATE after its writes.
 */
class TruncateRaceTest {

    private static final String DB = "app";

    @RegisterExtension
    static final ClusterExtension clusters = new ClusterExtension();

    private static PgCluster node1;
    private static PgCluster node2;

    @BeforeAll
    static void buildGroup() {
        node1 = clusters.newCluster("node1");
        node2 = clusters.newCluster("node2");
        node1.createDatabase(DB);
        node1.execute(DB, "CREATE TABLE \"Truncated ö\" (id int PRIMARY KEY, v text);"
                + " ALTER TABLE \"Truncated ö\" OWNER TO " + PgCluster.APP_ROLE + ";"
                + " CREATE TABLE untouched (id int PRIMARY KEY); ALTER TABLE untouched OWNER TO " + PgCluster.APP_ROLE);
        Pgactive.formGroup(DB, node1, node2);
    }

    @Test
    void writesOlderThanATruncateGoAndNewerOnesStayOnEveryNode() {
        asApp(node1, "INSERT INTO \"Truncated ö\" SELECT g, 'initial' FROM generate_series(1, 5) g");
        Pgactive.awaitEverywhere(DB, "SELECT count(*) FROM \"Truncated ö\"", "5", node1, node2);
        Pgactive.pauseApply(node1, DB, node2);
        Pgactive.pauseApply(node2, DB, node1);

        asApp(node2, "UPDATE \"Truncated ö\" SET v = 'before' WHERE id = 2;"
                + " INSERT INTO \"Truncated ö\" VALUES (100, 'before')");
        asApp(node1, "TRUNCATE \"Truncated ö\"");
        asApp(node2, "UPDATE \"Truncated ö\" SET v = 'after' WHERE id = 1;"
                + " INSERT INTO \"Truncated ö\" VALUES (101, 'after'); INSERT INTO untouched VALUES (1)");

        node1.execute(DB, "SELECT pgactive.pgactive_apply_resume()");
        node2.execute(DB, "SELECT pgactive.pgactive_apply_resume()");
        Pgactive.awaitEverywhere(DB, "SELECT count(*) FROM untouched", "1", node1, node2);
        String rows = "SELECT string_agg(id || '=' || v, ', ' ORDER BY id) FROM \"Truncated ö\"";
        Pgactive.awaitEverywhere(DB, rows, "1=after, 101=after", node1, node2);
        // Applied last on both: the tombstone keeps the older writes out, the newer stay.
        asApp(node1, "INSERT INTO untouched VALUES (2)");
        asApp(node2, "INSERT INTO untouched VALUES (3)");
        Pgactive.awaitEverywhere(DB, "SELECT count(*) FROM untouched", "3", node1, node2);
        assertEquals("1=after, 101=after", node1.queryString(DB, rows));
        assertEquals("1=after, 101=after", node2.queryString(DB, rows));
    }

    private static void asApp(PgCluster node, String sql) {
        node.executeAs(PgCluster.APP_ROLE, DB, sql);
    }
}
