package io.pgactive.it;

import io.pgactive.harness.Await;
import io.pgactive.harness.PgCluster;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/** {@code pg_dump --schema-only} of one schema, and the check that nodes end with the same. */
final class SchemaDumps {

    private SchemaDumps() {
    }

    /** Waits until every one of {@code others} dumps {@code schema} as {@code first} does; the error lists the differing lines. */
    static void awaitSameSchema(String db, String schema, Duration timeout, PgCluster first, PgCluster... others) {
        List<String> expected = dump(first, db, schema).lines().toList();
        for (PgCluster node : others) {
            Await.untilEquals(timeout, "the schema of " + node.name() + " as " + first.name()
                            + "'s (lines of one not in the other)", List.of(), () -> {
                        List<String> actual = dump(node, db, schema).lines().toList();
                        List<String> differences = new ArrayList<>();
                        expected.stream().filter(l -> !actual.contains(l)).forEach(l -> differences.add(first.name() + ": " + l));
                        actual.stream().filter(l -> !expected.contains(l)).forEach(l -> differences.add(node.name() + ": " + l));
                        return differences;
                    });
        }
    }

    static String dump(PgCluster node, String db, String schema) {
        try {
            Process dump = new ProcessBuilder(node.install().binDir().resolve("pg_dump").toString(), "--schema-only",
                    "--schema=" + schema, "--no-owner", "-h", node.socketDir().toString(), "-p", String.valueOf(node.port()),
                    "-U", "postgres", db).redirectErrorStream(true).start();
            String out = new String(dump.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (dump.waitFor() != 0) {
                throw new IllegalStateException("pg_dump failed: " + out);
            }
            // pg_dump 15.14+ fences the script with a random key
            return out.lines().filter(l -> !l.startsWith("\\restrict") && !l.startsWith("\\unrestrict"))
                    .collect(Collectors.joining("\n"));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
