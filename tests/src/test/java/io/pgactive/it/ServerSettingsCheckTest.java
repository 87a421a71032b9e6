package io.pgactive.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgactive.harness.ClusterExtension;
import io.pgactive.harness.PgCluster;
import io.pgactive.harness.SqlFailedException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** pgactive_create_group refuses wrong server settings with a clear error and writes nothing. */
class ServerSettingsCheckTest {

    @RegisterExtension
    static final ClusterExtension clusters = new ClusterExtension();

    private static PgCluster node;

    @BeforeAll
    static void start() {
        node = clusters.newCluster("settings");
        Pgactive.createDatabaseWithExtension(node, "app");
    }

    @ParameterizedTest(name = "{0} = {1}")
    @CsvSource(delimiter = '|', value = {
        "wal_level                | replica | logical  | pgactive requires wal_level = logical, but it is \"replica\"",
        "track_commit_timestamp   | off     | on       | pgactive requires track_commit_timestamp to be enabled",
        "shared_preload_libraries | ''      | pgactive | pgactive must be loaded via shared_preload_libraries",
        "max_replication_slots    | 2       | 16       | max_replication_slots = 2 is too low for pgactive.max_nodes = 4",
        "max_wal_senders          | 2       | 16       | max_wal_senders = 2 is too low for pgactive.max_nodes = 4",
        "max_worker_processes     | 1       | 16       | max_worker_processes = 1 is too low for pgactive",
    })
    void wrongSettingIsRefused(String setting, String bad, String good, String message) {
        node.setSetting(setting, bad).restart();
        try {
            SqlFailedException error = assertThrows(SqlFailedException.class,
                    () -> Pgactive.createGroup(node, "app", "node1"));
            assertTrue(error.getMessage().contains(message), error.getMessage());
            assertEquals(0, node.queryLong("app", "SELECT count(*) FROM pgactive.pgactive_nodes"));
            assertEquals(0, node.queryLong("app", "SELECT count(*) FROM pgactive.pgactive_connections"));
        } finally {
            node.setSetting(setting, good).restart();
        }
    }
}
