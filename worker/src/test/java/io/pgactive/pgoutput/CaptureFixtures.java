package io.pgactive.pgoutput;

import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.TimeZone;
import java.util.concurrent.TimeUnit;
import org.postgresql.PGConnection;
import org.postgresql.PGProperty;
import org.postgresql.replication.PGReplicationStream;

/**
 * Captures pgoutput fixtures from a running PostgreSQL 15 server ({@code wal_level=logical}, a
 * superuser in the URL) for {@link PgOutputDecoderTest}. Not a test: run it by hand when the
 * scenarios change, and commit the files it writes.
 *
 * <pre>
 * java -cp ... io.pgactive.pgoutput.CaptureFixtures 'jdbc:postgresql://127.0.0.1:55499/postgres?user=postgres' \
 *     worker/src/test/resources/pgoutput
 * </pre>
 *
 * <p>For each {@link Scenario} it runs the setup SQL, creates a pgoutput slot, runs the workload,
 * then reads the slot through pgjdbc's replication API exactly as the worker does, and writes
 * {@code <name>.bin} (records of {@code [int32 big-endian length][payload]}, one per XLogData)
 * and {@code <name>.sql} (the SQL, for humans). The database should be fresh: the setup creates
 * fixed object names.
 */
public final class CaptureFixtures {

    /** Prefix of the non-transactional message that marks the end of a workload; not written out. */
    private static final String END_PREFIX = "pgactive.capture.end";

    /**
     * @param setup     run before the slot exists, so none of it is decoded
     * @param workload  run after, and captured
     */
    record Scenario(String name, String description, List<String> setup, List<String> workload, boolean streamed) {

        Scenario(String name, String description, List<String> setup, List<String> workload) {
            this(name, description, setup, workload, false);
        }

        /** The slot options: protocol version 2 with streaming for a streamed scenario. */
        String[] options(String publication) {
            return streamed
                    ? new String[] {"proto_version", "2", "streaming", "on", "publication_names", publication,
                            "messages", "true"}
                    : new String[] {"proto_version", "1", "publication_names", publication, "messages", "true"};
        }
    }

    /**
     * A streamed scenario's transactions pass this much decoded data, so the walsender streams
     * them while in progress instead of at commit.
     */
    private static final String DECODING_WORK_MEM = "64kB";

    static final List<Scenario> SCENARIOS = List.of(
            new Scenario("dml_types",
                    "Common column types, NULLs, INSERT, UPDATE without and with a key change, DELETE, and a"
                            + " transaction with several changes, on a table in a non-public schema.",
                    List.of("CREATE SCHEMA app",
                            "CREATE TABLE app.items (id integer PRIMARY KEY, label text, price numeric(12,4),"
                                    + " created timestamptz, payload bytea, doc jsonb, tags integer[], code varchar(20))",
                            "CREATE PUBLICATION pub_dml_types FOR TABLE app.items"),
                    List.of("INSERT INTO app.items VALUES (1, 'héllo wörld ✓', 12345.6789,"
                                    + " '2024-02-29 13:14:15.123456+00', '\\x00ff10', '{\"b\": [true, null], \"a\": 1}',"
                                    + " '{1,2,NULL,4}', 'short')",
                            "INSERT INTO app.items (id) VALUES (2)",
                            "UPDATE app.items SET label = 'updated', price = -0.5 WHERE id = 1",
                            "UPDATE app.items SET id = 10 WHERE id = 2",
                            "DELETE FROM app.items WHERE id = 10",
                            "BEGIN",
                            "INSERT INTO app.items (id, label) VALUES (3, E'tab\\there, quote '' and backslash \\\\ and\\nnewline')",
                            "INSERT INTO app.items (id, label) VALUES (4, '')",
                            "DELETE FROM app.items WHERE id = 1",
                            "COMMIT")),
            new Scenario("identity_toast",
                    "REPLICA IDENTITY FULL (old tuple 'O' on UPDATE and DELETE) and an UPDATE leaving a"
                            + " 100 kB TOASTed column unchanged ('u').",
                    List.of("CREATE TABLE audit_full (id integer, note text, amount numeric)",
                            "ALTER TABLE audit_full REPLICA IDENTITY FULL",
                            "CREATE TABLE docs (id integer PRIMARY KEY, title text, body text)",
                            "CREATE PUBLICATION pub_identity_toast FOR TABLE audit_full, docs"),
                    List.of("INSERT INTO audit_full VALUES (1, 'first', 10.5), (2, NULL, 20)",
                            "UPDATE audit_full SET note = 'changed' WHERE id = 1",
                            "DELETE FROM audit_full WHERE id = 2",
                            // md5 hex of consecutive integers barely compresses, so the value is stored out of line.
                            "INSERT INTO docs SELECT 1, 'big', string_agg(md5(i::text), '' ORDER BY i)"
                                    + " FROM generate_series(1, 3200) i",
                            "UPDATE docs SET title = 'renamed' WHERE id = 1",
                            "UPDATE docs SET title = 'renamed again', body = body WHERE id = 1",
                            "UPDATE docs SET body = 'small now' WHERE id = 1",
                            "DELETE FROM docs WHERE id = 1")),
            new Scenario("truncate_messages",
                    "TRUNCATE of one table and of two with RESTART IDENTITY CASCADE; transactional and"
                            + " non-transactional logical messages, including one emitted by a transaction that"
                            + " rolls back.",
                    List.of("CREATE TABLE parent (id serial PRIMARY KEY, name text)",
                            "CREATE TABLE child (id integer PRIMARY KEY, parent_id integer REFERENCES parent (id))",
                            "CREATE TABLE solo (id integer PRIMARY KEY)",
                            "CREATE PUBLICATION pub_truncate_messages FOR TABLE parent, child, solo"),
                    List.of("INSERT INTO parent (name) VALUES ('p1')",
                            "INSERT INTO child VALUES (1, 1)",
                            "INSERT INTO solo VALUES (1)",
                            "TRUNCATE solo",
                            "TRUNCATE parent RESTART IDENTITY CASCADE",
                            "SELECT pg_logical_emit_message(true, 'pgactive', 'hello')",
                            "SELECT pg_logical_emit_message(false, 'pgactive', '\\x00ff00'::bytea)",
                            "BEGIN",
                            "INSERT INTO solo VALUES (2)",
                            "SELECT pg_logical_emit_message(false, 'pgactive.nontx', 'from aborted')",
                            "SELECT pg_logical_emit_message(true, 'pgactive.tx', 'rolled back')",
                            "ROLLBACK")),
            new Scenario("origin",
                    "Transactions written under replication origin pgactive_x, with and without"
                            + " pg_replication_origin_xact_setup, between local ones.",
                    List.of("CREATE TABLE replicated (id integer PRIMARY KEY, v text)",
                            "CREATE PUBLICATION pub_origin FOR TABLE replicated",
                            "SELECT pg_replication_origin_create('pgactive_x')"),
                    List.of("INSERT INTO replicated VALUES (1, 'local')",
                            "SELECT pg_replication_origin_session_setup('pgactive_x')",
                            "BEGIN",
                            "SELECT pg_replication_origin_xact_setup('0/ABCDEF01', '2020-01-02 03:04:05.678901+00')",
                            "INSERT INTO replicated VALUES (2, 'from x')",
                            "COMMIT",
                            "INSERT INTO replicated VALUES (3, 'from x without xact setup')",
                            "SELECT pg_replication_origin_session_reset()",
                            "INSERT INTO replicated VALUES (4, 'local again')")),
            new Scenario("schema_change",
                    "An enum and a domain column (Type messages), then ADD COLUMN, DROP COLUMN and a"
                            + " generated column between inserts (a new Relation message each time).",
                    List.of("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')",
                            "CREATE DOMAIN positive_int AS integer CHECK (VALUE > 0)",
                            "CREATE TABLE people (id integer PRIMARY KEY, name text, feeling mood, score positive_int)",
                            "CREATE PUBLICATION pub_schema_change FOR TABLE people"),
                    List.of("INSERT INTO people VALUES (1, 'ann', 'happy', 5)",
                            "ALTER TABLE people ADD COLUMN nickname text DEFAULT 'none'",
                            "INSERT INTO people VALUES (2, 'bob', 'sad', 7, 'bobby')",
                            "ALTER TABLE people DROP COLUMN score",
                            "INSERT INTO people VALUES (3, 'cy', 'ok', 'c')",
                            "ALTER TABLE people ADD COLUMN total integer GENERATED ALWAYS AS (id * 10) STORED",
                            "INSERT INTO people (id, name) VALUES (4, 'dee')",
                            "UPDATE people SET feeling = 'ok' WHERE id = 1")),
            new Scenario("streamed",
                    "Protocol version 2 with streaming, logical_decoding_work_mem " + DECODING_WORK_MEM + ": a"
                            + " transaction too large to wait for its commit, with a subtransaction rolled back, a"
                            + " logical message and an update, that commits (segments, a Stream Abort of the"
                            + " subtransaction, Stream Commit); then a large one that rolls back (Stream Abort).",
                    List.of("CREATE TABLE big (id integer PRIMARY KEY, v text)",
                            "CREATE PUBLICATION pub_streamed FOR TABLE big"),
                    List.of("BEGIN",
                            "INSERT INTO big SELECT g, repeat('x', 60) FROM generate_series(1, 400) g",
                            "SAVEPOINT s1",
                            "INSERT INTO big SELECT g, repeat('z', 60) FROM generate_series(2001, 2700) g",
                            "ROLLBACK TO SAVEPOINT s1",
                            "SELECT pg_logical_emit_message(true, 'pgactive', 'in a stream')",
                            "UPDATE big SET v = 'last' WHERE id = 1",
                            "COMMIT",
                            "BEGIN",
                            "INSERT INTO big SELECT g, repeat('y', 60) FROM generate_series(3001, 3700) g",
                            "ROLLBACK"),
                    true));

    private CaptureFixtures() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1 || args.length > 2) {
            System.err.println("usage: CaptureFixtures JDBC_URL [OUTPUT_DIR]");
            System.exit(2);
        }
        // pgjdbc sends the JVM's zone as the session TimeZone, and the walsender formats timestamptz
        // text in it; pin it so the fixtures do not depend on where they were captured.
        TimeZone.setDefault(TimeZone.getTimeZone("UTC"));
        String url = args[0];
        Path outDir = Path.of(args.length > 1 ? args[1] : "worker/src/test/resources/pgoutput");
        String only = System.getProperty("scenario"); // -Dscenario=<name>: capture that one alone
        Files.createDirectories(outDir);
        for (Scenario scenario : SCENARIOS) {
            if (only == null || only.equals(scenario.name())) {
                capture(url, scenario, outDir);
            }
        }
    }

    private static void capture(String url, Scenario scenario, Path outDir) throws Exception {
        String slot = "capture_" + scenario.name();
        String publication = "pub_" + scenario.name();
        List<byte[]> payloads;
        try (Connection sql = DriverManager.getConnection(url)) {
            sql.setAutoCommit(true);
            execute(sql, scenario.setup());
            execute(sql, List.of("SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')"));
            execute(sql, scenario.workload());
            execute(sql, List.of("SELECT pg_logical_emit_message(false, '" + END_PREFIX + "', '')"));

            payloads = stream(url, slot, scenario.options(publication));
            crossCheck(sql, slot, scenario.options(publication), payloads);
            execute(sql, List.of("SELECT pg_drop_replication_slot('" + slot + "')"));
        }
        writeBin(outDir.resolve(scenario.name() + ".bin"), payloads);
        writeSql(outDir.resolve(scenario.name() + ".sql"), scenario);
        System.out.println(scenario.name() + ": " + payloads.size() + " messages");
    }

    private static void execute(Connection connection, List<String> statements) throws SQLException {
        try (Statement statement = connection.createStatement()) {
            for (String sql : statements) {
                statement.execute(sql);
            }
        }
    }

    /** Reads the slot the way the worker will: walsender, pgjdbc replication API. */
    private static List<byte[]> stream(String url, String slot, String[] options) throws Exception {
        Properties props = new Properties();
        PGProperty.REPLICATION.set(props, "database");
        PGProperty.ASSUME_MIN_SERVER_VERSION.set(props, "15");
        PGProperty.PREFER_QUERY_MODE.set(props, "simple");
        PGProperty.OPTIONS.set(props, "-c logical_decoding_work_mem=" + DECODING_WORK_MEM);
        PgOutputDecoder decoder = new PgOutputDecoder();
        List<byte[]> payloads = new ArrayList<>();
        try (Connection replication = DriverManager.getConnection(url, props)) {
            var builder = replication.unwrap(PGConnection.class).getReplicationAPI()
                    .replicationStream()
                    .logical()
                    .withSlotName(slot)
                    .withStatusInterval(1, TimeUnit.SECONDS);
            for (int i = 0; i < options.length; i += 2) {
                builder = builder.withSlotOption(options[i], options[i + 1]);
            }
            PGReplicationStream stream = builder.start();
            boolean inSegment = false;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (true) {
                ByteBuffer buffer = stream.readPending();
                if (buffer == null) {
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("no end marker from slot " + slot + " within 60 s");
                    }
                    TimeUnit.MILLISECONDS.sleep(10);
                    continue;
                }
                byte[] payload = new byte[buffer.remaining()];
                buffer.get(payload);
                // Decoding here too means a capture never writes something the decoder rejects unnoticed.
                PgOutputMessage message = decoder.decode(payload, inSegment);
                inSegment = message instanceof PgOutputMessage.StreamStart
                        || inSegment && !(message instanceof PgOutputMessage.StreamStop);
                if (message instanceof PgOutputMessage.LogicalMessage logical && logical.prefix().equals(END_PREFIX)) {
                    break;
                }
                payloads.add(payload);
            }
            stream.close();
        }
        return payloads;
    }

    /**
     * Compares with what the SQL interface returns for the same (still unconfirmed) slot, which shows
     * that the stream was read to its end and that both paths give the same bytes.
     */
    private static void crossCheck(Connection sql, String slot, String[] options, List<byte[]> payloads)
            throws Exception {
        List<byte[]> peeked = new ArrayList<>();
        execute(sql, List.of("SET logical_decoding_work_mem = '" + DECODING_WORK_MEM + "'"));
        for (int attempt = 0; ; attempt++) {
            // The walsender may take a moment to release the slot after the stream is closed.
            try (PreparedStatement query = sql.prepareStatement("SELECT data FROM pg_logical_slot_peek_binary_changes("
                    + "?, NULL, NULL, VARIADIC ?::text[])")) {
                query.setString(1, slot);
                query.setArray(2, sql.createArrayOf("text", options));
                try (ResultSet rows = query.executeQuery()) {
                    while (rows.next()) {
                        peeked.add(rows.getBytes(1));
                    }
                }
                break;
            } catch (SQLException e) {
                if (attempt >= 50 || !"55006".equals(e.getSQLState())) {
                    throw e;
                }
                TimeUnit.MILLISECONDS.sleep(100);
            }
        }
        // The SQL interface also returns the end marker, which the stream reader dropped.
        peeked.remove(peeked.size() - 1);
        boolean same = peeked.size() == payloads.size();
        for (int i = 0; same && i < peeked.size(); i++) {
            same = Arrays.equals(peeked.get(i), payloads.get(i));
        }
        if (!same) {
            System.err.println("WARNING: slot " + slot + ": the SQL interface returned " + peeked.size()
                    + " messages that differ from the " + payloads.size() + " streamed");
        }
    }

    private static void writeBin(Path file, List<byte[]> payloads) throws IOException {
        try (OutputStream file0 = Files.newOutputStream(file);
             DataOutputStream out = new DataOutputStream(file0)) {
            for (byte[] payload : payloads) {
                out.writeInt(payload.length);
                out.write(payload);
            }
        }
    }

    private static void writeSql(Path file, Scenario scenario) throws IOException {
        StringBuilder text = new StringBuilder();
        text.append("-- pgoutput fixture ").append(scenario.name()).append(".bin, captured by ")
                .append(CaptureFixtures.class.getName()).append(" from PostgreSQL 15\n")
                .append("-- with ").append(String.join(" ", scenario.options("pub_" + scenario.name())))
                .append(", session TimeZone UTC.\n")
                .append("-- ").append(scenario.description()).append("\n\n")
                .append("-- Setup, run before the slot was created (not in the capture):\n");
        for (String sql : scenario.setup()) {
            text.append(sql).append(";\n");
        }
        text.append("\n-- Workload, captured:\n");
        for (String sql : scenario.workload()) {
            text.append(sql).append(";\n");
        }
        Files.writeString(file, text, StandardCharsets.UTF_8);
    }
}
