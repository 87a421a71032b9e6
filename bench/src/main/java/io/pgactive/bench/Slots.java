package io.pgactive.bench;

import io.pgactive.harness.Await;
import io.pgactive.harness.PgCluster;
import java.time.Duration;

/** Replication slots seen from the sending side: whether anyone is reading them. */
final class Slots {

    private Slots() {
    }

    /** Waits until no walsender streams {@code slot}: apply on the other end has really stopped. */
    static void awaitInactive(PgCluster sender, String db, String slot) {
        Await.untilEquals(Duration.ofSeconds(60), "slot " + slot + " on " + sender.name() + " to be idle", "f",
                () -> sender.queryString(db, "SELECT active FROM pg_replication_slots WHERE slot_name = '"
                        + slot + "'"));
    }
}
