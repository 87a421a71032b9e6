package io.pgactive.it;

import io.pgactive.harness.Await;
import io.pgactive.harness.ClusterExtension;
import io.pgactive.harness.PgCluster;
import java.time.Duration;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A node that joined while the others wrote decides conflicts on the rows it copied exactly as
 * the others do, so all three converge.
 */
class JoinedNodeConflictTest {

    private static final String DB = "app";
    private static final String CONTENTS = "SELECT md5(string_agg(id || ':' || balance, ',' ORDER BY id)) FROM accounts";

    @RegisterExtension
    final ClusterExtension clusters = new ClusterExtension();

    @Test
    void conflictsOnCopiedRowsResolveIdenticallyEverywhere() throws Exception {
        PgCluster node1 = clusters.newCluster("node1");
        PgCluster node2 = clusters.newCluster("node2");
        PgCluster node3 = clusters.newCluster("node3");
        node1.createDatabase(DB);
        node1.execute(DB, "CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL)");
        node1.execute(DB, "CREATE TABLE events (node text, seq int, PRIMARY KEY (node, seq))");
        node1.execute(DB, "ALTER TABLE accounts OWNER TO " + PgCluster.APP_ROLE + "; ALTER TABLE events OWNER TO "
                + PgCluster.APP_ROLE);
        node1.execute(DB, "INSERT INTO accounts SELECT g, 0 FROM generate_series(1, 200) g");
        Pgactive.formDelayedGroup(DB, 700, node1, node2);

        List<Integer> all = IntStream.rangeClosed(1, 200).boxed().toList();
        try (Writers writers = new Writers()) {
            // Both writers update the same rows: concurrent conflicts all through the join.
            writers.start(node1, DB, all);
            writers.start(node2, DB, all);
            Await.until(Duration.ofSeconds(30), "both writers to have committed",
                    () -> writers.all().stream().allMatch(w -> w.committedSeq.get() > 50));
            Pgactive.createDatabaseWithExtension(node3, DB);
            Pgactive.joinGroup(node3, DB, "node3", node1);
            Pgactive.waitReady(node3, DB);
            int seq = writers.all().get(0).committedSeq.get();
            Await.until(Duration.ofSeconds(30), "writers to go on after the join",
                    () -> writers.all().get(0).committedSeq.get() > seq + 100);
            writers.stopAll();
        }
        // And one explicit conflict per copied row after the join.
        node1.execute(DB, "UPDATE accounts SET balance = balance + 1000 WHERE id <= 50");
        node2.execute(DB, "UPDATE accounts SET balance = balance + 1 WHERE id <= 50");
        String expected = Await.value(Duration.ofSeconds(60), "node1 and node2 to agree", () -> {
            String a = node1.queryString(DB, CONTENTS);
            return a.equals(node2.queryString(DB, CONTENTS)) ? a : null;
        });
        Pgactive.awaitEverywhere(DB, CONTENTS, expected, node1, node2, node3);
    }
}
