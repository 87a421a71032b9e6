package io.pgactive.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgactive.harness.Await;
import io.pgactive.harness.ClusterExtension;
import io.pgactive.harness.PgCluster;
import io.pgactive.harness.SqlFailedException;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.postgresql.PGConnection;

/**
 * A ready 3-node group used as applications use it: an application role ({@code app}, LOGIN,
 * owner of its tables, no superuser, no pgactive privilege) writes; another ordinary role
 * ({@code mallory}) tries to become superuser through what pgactive runs; only administration
 * runs as the superuser (see docs/security.md).
 */
class SecurityTest {

    private static final String DB = "shop";
    private static final String APP = PgCluster.APP_ROLE;
    private static final String MALLORY = "mallory";
    /** Names that break SQL built by concatenation: quotes, $, the old dollar tag, spaces, dots, case, non-ASCII. */
    private static final String ODD_SCHEMA = "Sch \"é\".$x";
    private static final String ODD_TABLE = "Tab $pgactive$ 'q' \"dq\".Ünï";
    private static final String ODD_COLUMN = "Col \"select\" $1 ñ";
    private static final String ODD = ident(ODD_SCHEMA) + "." + ident(ODD_TABLE);

    @RegisterExtension
    static final ClusterExtension clusters = new ClusterExtension();

    private static PgCluster node1;
    private static PgCluster node2;
    private static PgCluster node3;
    private static List<PgCluster> nodes;

    @BeforeAll
    static void buildGroup() {
        node1 = clusters.newCluster("node1");
        node2 = clusters.newCluster("node2");
        node3 = clusters.newCluster("node3");
        nodes = List.of(node1, node2, node3);
        for (PgCluster node : nodes) {
            // Roles are global objects: a DBA creates them on every server, as for any copy of a database.
            // (every test cluster has the application role PgCluster.APP_ROLE from its first start)
            node.execute("postgres", "CREATE ROLE " + MALLORY + " LOGIN");
        }
        node1.createDatabase(DB);
        node1.execute(DB, "CREATE SCHEMA " + APP + " AUTHORIZATION " + APP
                + "; GRANT CREATE ON SCHEMA public TO " + APP + ", " + MALLORY
                + "; CREATE SCHEMA " + ident(ODD_SCHEMA) + " AUTHORIZATION " + APP);
        node1.executeAs(APP, DB, "CREATE TABLE app.orders (id int PRIMARY KEY, item text, qty int);"
                + " CREATE TABLE public.notes (id int PRIMARY KEY, body text);"
                + " CREATE TABLE " + ODD + " (" + ident(ODD_COLUMN) + " int PRIMARY KEY, \"Välue $$\" text);"
                + " INSERT INTO " + ODD + " VALUES (1, 'copied by the join')");
        node1.executeAs(MALLORY, DB, "CREATE TABLE public.mine (id int PRIMARY KEY, v text);"
                + " CREATE TABLE public.trigger_log (who text, what text)");
        Pgactive.formGroup(DB, node1, node2, node3);
    }

    // ------------------------------------------------------------------ application roles lose nothing

    @Test
    void applicationRoleInsertsUpdatesAndDeletesOnEveryNode() {
        int id = 100;
        for (PgCluster node : nodes) {
            id++;
            node.executeAs(APP, DB, "INSERT INTO app.orders VALUES (" + id + ", 'pen', 1)");
            node.executeAs(APP, DB, "UPDATE app.orders SET qty = 2 WHERE id = " + id);
        }
        Pgactive.awaitEverywhere(DB, "SELECT count(*) FROM app.orders WHERE id > 100 AND qty = 2", "3", node1, node2,
                node3);
        for (PgCluster node : nodes) {
            node.executeAs(APP, DB, "DELETE FROM app.orders WHERE id = " + (101 + nodes.indexOf(node)));
        }
        Pgactive.awaitEverywhere(DB, "SELECT count(*) FROM app.orders WHERE id > 100", "0", node1, node2, node3);
    }

    @Test
    void applicationRoleTruncates() {
        node2.executeAs(APP, DB, "INSERT INTO public.notes SELECT g, 'n' FROM generate_series(1, 5) g");
        Pgactive.awaitEverywhere(DB, "SELECT count(*) FROM public.notes", "5", node1, node2, node3);
        node3.executeAs(APP, DB, "TRUNCATE public.notes");
        Pgactive.awaitEverywhere(DB, "SELECT count(*) FROM public.notes", "0", node1, node2, node3);
    }

    @Test
    void applicationRoleCopiesIn() throws Exception {
        try (Connection c = node3.connect(DB, APP)) {
            long rows = c.unwrap(PGConnection.class).getCopyAPI().copyIn("COPY app.orders FROM STDIN",
                    new StringReader("500\tcopied\t1\n501\tcopied\t1\n502\tcopied\t1\n"));
            assertEquals(3, rows);
        }
        Pgactive.awaitEverywhere(DB, "SELECT count(*) FROM app.orders WHERE item = 'copied'", "3", node1, node2, node3);
    }

    @Test
    void applicationRoleCreatesAltersAndDropsItsObjects() {
        for (PgCluster node : nodes) {
            for (String schema : List.of("public", APP)) {
                String t = schema + ".ddl_" + node.name();
                node.executeAs(APP, DB, "CREATE TABLE " + t + " (id int PRIMARY KEY, v text);"
                        + " CREATE TEMP TABLE scratch (id int PRIMARY KEY); INSERT INTO scratch VALUES (1);"
                        + " DELETE FROM scratch; DROP TABLE scratch;"
                        + " ALTER TABLE " + t + " ADD COLUMN w int;"
                        + " CREATE INDEX ON " + t + " (v);"
                        + " CREATE VIEW " + t + "_v AS SELECT id FROM " + t + ";"
                        + " CREATE FUNCTION " + t + "_f() RETURNS int LANGUAGE sql AS 'SELECT 1';"
                        + " CREATE SEQUENCE " + t + "_s; SELECT nextval('" + t + "_s');"
                        + " DROP VIEW " + t + "_v; DROP FUNCTION " + t + "_f(); DROP SEQUENCE " + t + "_s;");
                // Rows written here would travel to nodes without the table: DDL does not replicate.
                assertEquals(1, node.queryLong(DB, "SELECT count(*) FROM pg_trigger WHERE tgrelid = '" + t
                        + "'::regclass AND tgname = 'pgactive_tombstone'"), "the event trigger ran for " + t);
                node.executeAs(APP, DB, "DROP TABLE " + t);
            }
        }
    }

    // ------------------------------------------------------------------ no escalation

    /**
     * Mallory shadows the functions and operators the worker's conflict lookup and tombstone
     * code call, puts ALWAYS and REPLICA triggers and a row security policy on her own table,
     * and makes each try to make her superuser; then her rows are applied on every node, with
     * conflicts and deletes. She must stay an ordinary role, and her code runs as herself.
     */
    @Test
    void aTableOwnerCannotBecomeSuperuserThroughApply() {
        String escalate = "BEGIN INSERT INTO public.trigger_log VALUES (current_user, TG_NAME);"
                + " BEGIN ALTER ROLE " + MALLORY + " SUPERUSER; EXCEPTION WHEN OTHERS THEN NULL; END;"
                + " RETURN NEW; END";
        for (PgCluster node : nodes) {
            node.executeAs(MALLORY, DB,
                    "CREATE FUNCTION public.row_to_json(public.mine) RETURNS json LANGUAGE plpgsql AS $f$"
                    + " BEGIN ALTER ROLE " + MALLORY + " SUPERUSER; RETURN '{}'; END $f$;"
                    + " CREATE FUNCTION public.to_jsonb(public.mine) RETURNS jsonb LANGUAGE plpgsql AS $f$"
                    + " BEGIN ALTER ROLE " + MALLORY + " SUPERUSER; RETURN '{}'; END $f$;"
                    + " CREATE FUNCTION public.json_populate_record(public.mine, json) RETURNS public.mine"
                    + " LANGUAGE plpgsql AS $f$ BEGIN ALTER ROLE " + MALLORY + " SUPERUSER; RETURN $1; END $f$;"
                    + " CREATE FUNCTION public.evil_eq(int, text) RETURNS bool LANGUAGE plpgsql AS $f$"
                    + " BEGIN ALTER ROLE " + MALLORY + " SUPERUSER; RETURN false; END $f$;"
                    + " CREATE OPERATOR public.= (LEFTARG = int, RIGHTARG = text, FUNCTION = public.evil_eq);"
                    + " CREATE FUNCTION public.escalate() RETURNS trigger LANGUAGE plpgsql AS $f$" + escalate + " $f$;"
                    + " CREATE TRIGGER always_t BEFORE INSERT OR UPDATE ON public.mine"
                    + "   FOR EACH ROW EXECUTE FUNCTION public.escalate();"
                    + " ALTER TABLE public.mine ENABLE ALWAYS TRIGGER always_t;"
                    + " CREATE TRIGGER replica_t BEFORE INSERT OR UPDATE ON public.mine"
                    + "   FOR EACH ROW EXECUTE FUNCTION public.escalate();"
                    + " ALTER TABLE public.mine ENABLE REPLICA TRIGGER replica_t;"
                    + " CREATE FUNCTION public.policy_check(int) RETURNS bool LANGUAGE plpgsql AS $f$"
                    + " BEGIN ALTER ROLE " + MALLORY + " SUPERUSER; RETURN true; EXCEPTION WHEN OTHERS THEN RETURN true; END $f$;"
                    + " ALTER TABLE public.mine ENABLE ROW LEVEL SECURITY;"
                    + " CREATE POLICY p ON public.mine USING (public.policy_check(id))");
        }
        // Single rows, a batch (COPY), an update and a delete from every node.
        for (PgCluster node : nodes) {
            int base = 1000 * (nodes.indexOf(node) + 1);
            node.executeAs(MALLORY, DB, "INSERT INTO public.mine VALUES (" + base + ", 'one')");
            node.executeAs(MALLORY, DB, "INSERT INTO public.mine SELECT g, 'batch' FROM generate_series("
                    + (base + 1) + ", " + (base + 100) + ") g");
            node.executeAs(MALLORY, DB, "UPDATE public.mine SET v = 'updated' WHERE id = " + base);
            node.executeAs(MALLORY, DB, "DELETE FROM public.mine WHERE id = " + (base + 1));
        }
        Pgactive.awaitEverywhere(DB, "SELECT count(*) FROM public.mine", "300", node1, node2, node3);
        // Conflicts: the same key written on two nodes while one does not apply.
        Pgactive.pauseApply(node2, DB, node1, node3);
        try {
            node1.executeAs(MALLORY, DB, "INSERT INTO public.mine VALUES (9000, 'from node1')");
            node2.executeAs(MALLORY, DB, "INSERT INTO public.mine VALUES (9000, 'from node2')");
            node1.executeAs(MALLORY, DB, "UPDATE public.mine SET v = 'node1 again' WHERE id = 1000");
            node2.executeAs(MALLORY, DB, "UPDATE public.mine SET v = 'node2 again' WHERE id = 1000");
        } finally {
            node2.execute(DB, "SELECT pgactive.pgactive_apply_resume()");
        }
        Await.until(Duration.ofSeconds(30), "insert_insert conflict on public.mine logged on node2",
                () -> node2.queryLong(DB, "SELECT count(*) FROM pgactive.pgactive_conflict_history"
                        + " WHERE object_name = 'mine' AND conflict_type = 'insert_insert'") > 0);
        Pgactive.awaitEverywhere(DB, "SELECT count(*) FROM public.mine WHERE id = 9000", "1", node1, node2, node3);
        for (PgCluster node : nodes) {
            assertEquals("false", node.queryString("postgres",
                    "SELECT rolsuper::text FROM pg_roles WHERE rolname = '" + MALLORY + "'"), "mallory on " + node.name());
            // Applied rows ran her triggers, as herself.
            assertTrue(node.queryLong(DB, "SELECT count(*) FROM public.trigger_log") > 0, node.name());
            assertEquals("[mallory]", node.queryColumn(DB, "SELECT DISTINCT who FROM public.trigger_log").toString(),
                    "roles her triggers ran as on " + node.name());
        }
    }

    @Test
    void conflictHandlerFunctionsMustBeOwnedByASuperuserOrTheTableOwner() {
        node1.executeAs(MALLORY, DB, "CREATE FUNCTION public.keep_remote(l public.notes, r public.notes, tag text,"
                + " rel regclass, t pgactive.pgactive_conflict_type, OUT kept public.notes,"
                + " OUT handler_action pgactive.pgactive_conflict_handler_action)"
                + " LANGUAGE sql AS 'SELECT r, ''ROW''::pgactive.pgactive_conflict_handler_action'");
        SqlFailedException e = assertThrows(SqlFailedException.class, () -> node1.execute(DB,
                "SELECT pgactive.pgactive_create_conflict_handler('public.notes', 'h', 'public.keep_remote(public.notes,"
                + " public.notes, text, regclass, pgactive.pgactive_conflict_type)', 'update_update')"));
        assertTrue(e.getMessage().contains("owned by role \"mallory\""), e.getMessage());
        node1.execute(DB, "ALTER FUNCTION public.keep_remote(public.notes, public.notes, text, regclass,"
                + " pgactive.pgactive_conflict_type) OWNER TO " + APP);
        node1.execute(DB, "SELECT pgactive.pgactive_create_conflict_handler('public.notes', 'h', 'public.keep_remote(public.notes,"
                + " public.notes, text, regclass, pgactive.pgactive_conflict_type)', 'update_update')");
        node1.execute(DB, "SELECT pgactive.pgactive_drop_conflict_handler('public.notes', 'h')");
    }

    // ------------------------------------------------------------------ grants as upstream

    /** Every function in schema pgactive, with whether an ordinary role may execute it, as docs/security.md lists them. */
    @Test
    void functionGrantsAreAsDocumented() throws Exception {
        Map<String, String> actual = new TreeMap<>();
        for (String row : node1.queryColumn(DB, "SELECT p.oid::regprocedure::text || '|'"
                + " || CASE WHEN has_function_privilege('" + MALLORY + "', p.oid, 'EXECUTE') THEN 'PUBLIC' ELSE 'superuser' END"
                + " FROM pg_proc p WHERE p.pronamespace = 'pgactive'::regnamespace")) {
            String[] parts = row.split("\\|");
            actual.put(parts[0].replace("pgactive.", ""), parts[1]);
        }
        Map<String, String> documented = new TreeMap<>();
        for (String line : Files.readAllLines(Path.of("..", "docs", "security.md"))) {
            // | `pgactive_version()` | PUBLIC |
            if (line.startsWith("| `") && line.indexOf("` |") > 0) {
                String[] cells = line.split("\\|");
                documented.put(cells[1].strip().replace("`", ""), cells[2].strip());
            }
        }
        assertEquals(documented, actual, "docs/security.md's function table against pg_proc");
        assertFalse(actual.isEmpty());
    }

    // ------------------------------------------------------------------ names

    /**
     * A schema, table and column named with everything that breaks SQL built by concatenation:
     * the join copied the table, and single rows, batches (COPY), compiled procedures, updates,
     * deletes and conflicts all go through.
     */
    @Test
    void oddNamesReplicateThroughEveryPath() {
        String col = ident(ODD_COLUMN);
        Pgactive.awaitEverywhere(DB, "SELECT \"Välue $$\" FROM " + ODD + " WHERE " + col + " = 1", "copied by the join",
                node1, node2, node3);
        node2.executeAs(APP, DB, "INSERT INTO " + ODD + " VALUES (2, 'single')");
        node3.executeAs(APP, DB, "INSERT INTO " + ODD + " SELECT g, 'batch' FROM generate_series(10, 209) g");
        Pgactive.awaitEverywhere(DB, "SELECT count(*) FROM " + ODD, "202", node1, node2, node3);
        node1.executeAs(APP, DB, "UPDATE " + ODD + " SET \"Välue $$\" = 'updated' WHERE " + col + " = 2");
        node1.executeAs(APP, DB, "DELETE FROM " + ODD + " WHERE " + col + " = 10");
        Pgactive.awaitEverywhere(DB, "SELECT count(*) || ' ' || count(*) FILTER (WHERE \"Välue $$\" = 'updated') FROM "
                + ODD, "201 1", node1, node2, node3);
        Pgactive.pauseApply(node3, DB, node1, node2);
        try {
            node1.executeAs(APP, DB, "INSERT INTO " + ODD + " VALUES (5000, 'n1')");
            node3.executeAs(APP, DB, "INSERT INTO " + ODD + " VALUES (5000, 'n3')");
        } finally {
            node3.execute(DB, "SELECT pgactive.pgactive_apply_resume()");
        }
        Await.until(Duration.ofSeconds(30), "the conflict on the oddly named table logged on node3",
                () -> node3.queryLong(DB, "SELECT count(*) FROM pgactive.pgactive_conflict_history"
                        + " WHERE object_schema = '" + ODD_SCHEMA.replace("'", "''") + "' AND object_name = '"
                        + ODD_TABLE.replace("'", "''") + "'") > 0);
        Pgactive.awaitEverywhere(DB, "SELECT \"Välue $$\" FROM " + ODD + " WHERE " + col + " = 5000",
                "n3", node1, node2, node3); // the later insert wins everywhere
    }

    private static String ident(String name) {
        return "\"" + name.replace("\"", "\"\"") + "\"";
    }
}
