package io.pgactive.bench;

import io.pgactive.harness.Await;
import io.pgactive.harness.PgCluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.UnaryOperator;

/**
 * Workload (i), for the scaling note: apply capacity of one node receiving from 1, 2 and 4 peers
 * at once. The {@value #MAX_PEERS} sending nodes are databases of one cluster, the receiving node
 * a database of another; single-row INSERT transactions, {@code scale.smallTransactions()} in
 * all, are split evenly over the peers that write, and the receiver drains that backlog as in
 * {@link Backlog}. Native logical replication gets the same shape: one subscription, and so one
 * apply worker, per sending database.
 */
final class FanIn {

    static final int MAX_PEERS = 4;
    static final int[] PEERS = {1, 2, 4};
    static final String TARGET_DB = "fan";

    private FanIn() {
    }

    /** The sending databases' names. */
    static String sender(int peer) {
        return "fan" + peer;
    }

    static String schema() {
        return """
                CREATE TABLE fan_in (node int, id bigserial, payload text NOT NULL, PRIMARY KEY (node, id));
                CREATE TABLE fan_marker (node int, id int, PRIMARY KEY (node, id));
                """;
    }

    /** One system's fan-in group: pauses and resumes the receiver's apply of every peer. */
    abstract static class Group implements AutoCloseable {
        final PgCluster senders;
        final PgCluster receiver;
        final Figures figures;
        private int lastMarker;

        Group(PgCluster senders, PgCluster receiver, Figures figures) {
            this.senders = senders;
            this.receiver = receiver;
            this.figures = figures;
        }

        abstract String system();

        /** Returns once the receiver applies nothing from any peer. */
        abstract void pauseApply();

        abstract void resumeApply();

        /** Returns once the sending databases have applied each other's writes (pgactive is a mesh). */
        abstract void awaitSendersSettled(int peers, int marker);

        void discard() {
            BenchClusters.discard(senders, receiver);
        }

        @Override
        public void close() {
            senders.close();
            receiver.close();
        }
    }

    /** Warms both systems' appliers up, then measures each peer count on each system, alternating. */
    static void run(Scale scale, List<Group> groups) {
        for (Group group : groups) {
            for (int cycle = 0; cycle < 2; cycle++) {
                drain(group, MAX_PEERS, scale.smallTransactions() / SmallTransactions.WARM_UP_FRACTION);
            }
        }
        for (int peers : PEERS) {
            for (Group group : groups) {
                System.out.println("  (i) " + group.system() + ", " + peers + " peer(s) sending at once");
                double seconds = drain(group, peers, scale.smallTransactions());
                group.figures.put("fanin.peers" + peers + ".rate", scale.smallTransactions() / seconds);
            }
        }
    }

    /** Writes {@code transactions} from {@code peers} senders while the receiver is paused; returns the drain time. */
    private static double drain(Group group, int peers, int transactions) {
        group.pauseApply();
        List<CompletableFuture<Pgbench.Result>> writers = new ArrayList<>();
        for (int peer = 1; peer <= peers; peer++) {
            int node = peer;
            String script = Pgbench.script(group.senders, "fan-in-" + node,
                    "INSERT INTO fan_in (node, payload) VALUES (" + node + ", 'a row from client ' || :client_id);\n")
                    .toString();
            int perClient = transactions / peers / Scale.CLIENTS;
            writers.add(CompletableFuture.supplyAsync(() -> Pgbench.run(group.senders, sender(node),
                    List.of("-c", Integer.toString(Scale.CLIENTS), "-j", "1", "-t", Integer.toString(perClient),
                            "-f", script), Duration.ofMinutes(20))));
        }
        writers.forEach(CompletableFuture::join);
        int marker = ++group.lastMarker;
        for (int peer = 1; peer <= peers; peer++) {
            group.senders.execute(sender(peer), "INSERT INTO fan_marker VALUES (" + peer + ", " + marker + ")");
        }
        group.awaitSendersSettled(peers, marker);
        group.senders.execute("postgres", "CHECKPOINT");
        group.receiver.execute("postgres", "CHECKPOINT");
        long start = System.nanoTime();
        group.resumeApply();
        Backlog.awaitRow(group.receiver, TARGET_DB, "SELECT 1 FROM fan_marker WHERE id = " + marker
                + " HAVING count(*) = " + peers, group.system() + ": " + peers + " markers " + marker);
        return Backlog.seconds(System.nanoTime() - start);
    }

    /** Native: one publication per sending database, one subscription (one apply worker) per publication. */
    static Group startNative(Figures figures) {
        return start("fanin-native", false, (senders, receiver) -> {
            receiver.createDatabase(TARGET_DB);
            receiver.execute(TARGET_DB, schema());
            for (int peer = 1; peer <= MAX_PEERS; peer++) {
                senders.createDatabase(sender(peer));
                senders.execute(sender(peer), schema() + "CREATE PUBLICATION fan FOR TABLE fan_in, fan_marker;");
                // The tables are empty: nothing to copy, and no table-sync workers to wait for.
                receiver.execute(TARGET_DB, "CREATE SUBSCRIPTION " + sender(peer) + " CONNECTION '"
                        + senders.dsn(sender(peer)) + "' PUBLICATION fan WITH (copy_data = false)");
            }
            return new Group(senders, receiver, figures) {
                @Override
                String system() {
                    return "native";
                }

                @Override
                void pauseApply() {
                    for (int peer = 1; peer <= MAX_PEERS; peer++) {
                        receiver.execute(TARGET_DB, "ALTER SUBSCRIPTION " + sender(peer) + " DISABLE");
                    }
                    for (int peer = 1; peer <= MAX_PEERS; peer++) {
                        Slots.awaitInactive(senders, sender(peer), sender(peer));
                    }
                }

                @Override
                void resumeApply() {
                    for (int peer = 1; peer <= MAX_PEERS; peer++) {
                        receiver.execute(TARGET_DB, "ALTER SUBSCRIPTION " + sender(peer) + " ENABLE");
                    }
                }

                @Override
                void awaitSendersSettled(int peers, int marker) {
                    // the sending databases do not replicate to each other
                }
            };
        });
    }

    /** pgactive: the four sending databases and the receiving one are the five nodes of one group. */
    static Group startPgactive(Figures figures) {
        return start("fanin-pgactive", true, (senders, receiver) -> {
            senders.createDatabase(sender(1));
            senders.execute(sender(1), schema());
            PgactivePair.createGroup(senders, sender(1));
            for (int peer = 2; peer <= MAX_PEERS; peer++) {
                senders.createDatabase(sender(peer));
                PgactivePair.join(senders, sender(peer), senders, sender(1));
            }
            receiver.createDatabase(TARGET_DB);
            PgactivePair.join(receiver, TARGET_DB, senders, sender(1));
            List<String> slots = new ArrayList<>();
            for (int peer = 1; peer <= MAX_PEERS; peer++) {
                slots.add(senders.queryString(sender(peer), "SELECT pgactive.pgactive_format_slot_name(node_sysid,"
                        + " node_timeline, node_dboid, (SELECT oid FROM pg_database WHERE datname = current_database()),"
                        + " '') FROM pgactive.pgactive_nodes WHERE node_name = '" + receiver.name() + "-" + TARGET_DB
                        + "'"));
            }
            return new Group(senders, receiver, figures) {
                @Override
                String system() {
                    return "pgactive";
                }

                @Override
                void pauseApply() {
                    receiver.execute(TARGET_DB, "SELECT pgactive.pgactive_apply_pause()");
                    for (int peer = 1; peer <= MAX_PEERS; peer++) {
                        Slots.awaitInactive(senders, sender(peer), slots.get(peer - 1));
                    }
                }

                @Override
                void resumeApply() {
                    receiver.execute(TARGET_DB, "SELECT pgactive.pgactive_apply_resume()");
                }

                @Override
                void awaitSendersSettled(int peers, int marker) {
                    for (int peer = 1; peer <= MAX_PEERS; peer++) {
                        String db = sender(peer);
                        Await.untilEquals(Duration.ofMinutes(10), "markers " + marker + " on " + db, (long) peers,
                                () -> senders.queryLong(db, "SELECT count(*) FROM fan_marker WHERE id = " + marker));
                    }
                }
            };
        });
    }

    private interface Setup {
        Group prepare(PgCluster senders, PgCluster receiver);
    }

    /** Starts the two clusters and sets the group up; stops both if that fails. */
    private static Group start(String name, boolean pgactive, Setup setup) {
        // pgactive's group has five nodes, one more than its default limit.
        UnaryOperator<PgCluster.Builder> fiveNodes = b -> pgactive ? b.setting("pgactive.max_nodes", "5") : b;
        PgCluster senders = BenchClusters.start(name + "-senders", pgactive, fiveNodes);
        PgCluster receiver = BenchClusters.start(name + "-receiver", pgactive, fiveNodes);
        try {
            return setup.prepare(senders, receiver);
        } catch (RuntimeException e) {
            senders.close();
            receiver.close();
            throw e;
        }
    }
}
