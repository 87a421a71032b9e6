package io.pgactive.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgactive.harness.ClusterExtension;
import io.pgactive.harness.PgCluster;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Updates that leave an out-of-line (TOASTed) value unchanged, racing a delete or another update
 * on the other node (issue 14, item 1). Pausing apply on a node fixes the order in which each
 * node sees the two changes; last update wins must then leave the same row everywhere.
 */
class ToastedValuesTest {

    private static final String DB = "app";
    private static final String APP = PgCluster.APP_ROLE;

    @RegisterExtension
    static final ClusterExtension clusters = new ClusterExtension();

    private static PgCluster n1;
    private static PgCluster n2;

    @BeforeAll
    static void buildGroup() {
        n1 = clusters.newCluster("n1");
        n2 = clusters.newCluster("n2");
        n1.createDatabase(DB);
        n1.execute(DB, "GRANT CREATE ON SCHEMA public TO " + APP);
        // Bodies of about 4 KB, stored out of line and uncompressed.
        n1.executeAs(APP, DB, "CREATE TABLE doc (id int PRIMARY KEY, v int, body text);"
                + " ALTER TABLE doc ALTER COLUMN body SET STORAGE EXTERNAL;"
                + " INSERT INTO doc SELECT g, 0, repeat(md5(g::text), 130) FROM generate_series(1, 10) g");
        Pgactive.formGroup(DB, n1, n2);
    }

    @Test
    void anUpdateLaterThanADeleteBringsTheWholeRowBack() {
        Pgactive.pauseApply(n1, DB, n2);
        n2.executeAs(APP, DB, "DELETE FROM doc WHERE id = 1");
        n1.executeAs(APP, DB, "UPDATE doc SET v = 1 WHERE id = 1");
        resume(n1);
        assertSameEverywhere(1, "1:1:" + md5Body(1));
    }

    @Test
    void aDeleteLaterThanAnUpdateRemovesTheRow() {
        Pgactive.pauseApply(n2, DB, n1);
        n1.executeAs(APP, DB, "UPDATE doc SET v = 1 WHERE id = 2");
        n2.executeAs(APP, DB, "DELETE FROM doc WHERE id = 2");
        resume(n2);
        assertSameEverywhere(2, null);
    }

    @Test
    void aLaterUpdateOfOtherColumnsKeepsItsOwnBody() {
        Pgactive.pauseApply(n2, DB, n1);
        n1.executeAs(APP, DB, "UPDATE doc SET v = 1, body = repeat('n1', 2500) WHERE id = 5");
        n2.executeAs(APP, DB, "UPDATE doc SET v = 2 WHERE id = 5");
        resume(n2);
        assertSameEverywhere(5, "5:2:" + md5Body(5));
    }

    @Test
    void aLaterUpdateOfTheBodyWinsOverAnEarlierUpdateOfOtherColumns() {
        Pgactive.pauseApply(n2, DB, n1);
        n2.executeAs(APP, DB, "UPDATE doc SET v = 2 WHERE id = 6");
        n1.executeAs(APP, DB, "UPDATE doc SET v = 1, body = repeat('n1', 2500) WHERE id = 6");
        resume(n2);
        assertSameEverywhere(6, "6:1:" + n1.queryString(DB, "SELECT md5(repeat('n1', 2500))"));
    }

    private static void resume(PgCluster node) {
        node.execute(DB, "SELECT pgactive.pgactive_apply_resume()");
    }

    private static String md5Body(int id) {
        return n1.queryString(DB, "SELECT md5(repeat(md5('" + id + "'), 130))");
    }

    /**
     * The row as id:v:md5(body) on both nodes, or absent on both (null), once each node has
     * applied everything the other committed: a marker from each node, committed after the
     * changes under test, has arrived on the other (each link applies in commit order).
     */
    private static void assertSameEverywhere(int id, String expected) {
        int marker = 1000 + id;
        n1.executeAs(APP, DB, "INSERT INTO doc VALUES (" + marker + ", 0, 'n1')");
        n2.executeAs(APP, DB, "INSERT INTO doc VALUES (" + (marker + 100) + ", 0, 'n2')");
        Pgactive.awaitEverywhere(DB, "SELECT count(*) FROM doc WHERE id IN (" + marker + ", " + (marker + 100) + ")",
                "2", n1, n2);
        String row = "SELECT coalesce((SELECT id || ':' || v || ':' || md5(body) FROM doc WHERE id = " + id + "), 'absent')";
        assertEquals(expected == null ? "absent" : expected, n1.queryString(DB, row), "on n1");
        assertEquals(expected == null ? "absent" : expected, n2.queryString(DB, row), "on n2");
    }
}
