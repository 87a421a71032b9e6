package io.pgactive.it;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.pgactive.harness.Await;
import io.pgactive.harness.ClusterExtension;
import io.pgactive.harness.PgCluster;
import io.pgactive.harness.SqlFailedException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Every built-in type, user-defined types, NULLs, generated columns, TOASTed values and every kind
 * of replica identity replicate exactly, in both directions.
 *
 * <p>Rows are written on both nodes; after a {@linkplain #sync round trip of markers} (each link
 * applies in commit order, so a node that has its peer's marker has everything the peer wrote
 * before it) the tables are compared row by row in their text form, read in one fixed session
 * setup, and floats additionally bit for bit ({@code float4send}/{@code float8send}), so that -0
 * and NaN are exact.
 *
 * <p>A failed apply blocks its link (it retries the same transaction), so the tests of the shared
 * two-node group run in a fixed order, and the scenarios known to be able to block a link (no key,
 * identity columns, column names, per-server session defaults) each get a pair of nodes of their own.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ValueReplicationTest {

    private static final String DB = "app";
    private static final Duration SYNC_TIMEOUT = Duration.ofSeconds(90);
    /** Rows per transaction that make apply insert them as one batch (COPY), not one by one. */
    private static final int MANY_ROWS = 150;

    /** Session settings for every read and write of this test: values print and parse one way. */
    private static final String SESSION = "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY';"
            + " SET IntervalStyle = 'postgres'; SET extra_float_digits = 3; SET bytea_output = 'hex'";

    private static final String SCHEMA = """
            CREATE TABLE markers (node text, seq int, PRIMARY KEY (node, seq));
            CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'with space', 'ünï', 'quote''s');
            CREATE DOMAIN posint AS int CHECK (VALUE > 0);
            CREATE DOMAIN email AS text CHECK (VALUE LIKE '%@%');
            CREATE TYPE pair AS (a int, b text, c numeric[]);
            CREATE TYPE outer_t AS (p pair, m mood, r int4range, f float8);
            CREATE TYPE floatrange AS RANGE (subtype = float8);

            CREATE TABLE numbers (id int PRIMARY KEY, i2 int2, i4 int4, i8 int8, n numeric, ns numeric(20,5),
                                  m money, b bool, o oid);
            CREATE TABLE floats (id int PRIMARY KEY, f4 float4, f8 float8);
            CREATE TABLE datetimes (id int PRIMARY KEY, d date, tm time, ttz timetz, ts timestamp, tstz timestamptz,
                                    iv interval, ts0 timestamp(0), tstz3 timestamptz(3), iv2 interval(2));
            CREATE TABLE texts (id int PRIMARY KEY, tx text, vc varchar(10), c char(5), ch "char", nm name,
                                by bytea, bi bit(12), vb varbit, tc text COLLATE "C");
            CREATE TABLE misc (id int PRIMARY KEY, u uuid, ip inet, cn cidr, mac macaddr, mac8 macaddr8,
                               lsn pg_lsn, tsv tsvector, tsq tsquery, j json, jb jsonb, jp jsonpath, rt regtype);
            CREATE TABLE geometry (id int PRIMARY KEY, p point, l line, ls lseg, bx box, pa path, pg polygon,
                                   ci circle);
            CREATE TABLE arrays (id int PRIMARY KEY, ia int[], ta text[], na numeric[], m2 int[][], m3 text[][][],
                                 tsa timestamptz[], ja jsonb[], ea mood[], ba bytea[], fa float8[], ua uuid[]);
            CREATE TABLE ranges (id int PRIMARY KEY, i4r int4range, i8r int8range, nr numrange, tsr tsrange,
                                 tstzr tstzrange, dr daterange, fr floatrange, i4mr int4multirange,
                                 nmr nummultirange, dmr datemultirange, fmr floatmultirange,
                                 tstzmr tstzmultirange);
            CREATE TABLE usertypes (id int PRIMARY KEY, mo mood, pi posint, em email, co pair, cos pair[],
                                    ot outer_t, dm posint[]);
            CREATE TABLE gen (id int PRIMARY KEY, a int, b text,
                              g int GENERATED ALWAYS AS (a * 2 + coalesce(length(b), 0)) STORED,
                              gu text GENERATED ALWAYS AS (upper(b)) STORED);
            CREATE TABLE toasted (id int PRIMARY KEY, note text, big text, bigb bytea);
            CREATE TABLE multikey (a int, b text, c date, v text, PRIMARY KEY (a, b, c));
            CREATE TABLE fullident (a int, b text, j json, f float8, n numeric, ts timestamptz, big text, v text);
            ALTER TABLE fullident REPLICA IDENTITY FULL;
            ALTER TABLE fullident ALTER COLUMN big SET STORAGE EXTERNAL;
            CREATE TABLE riindex (a int NOT NULL, b text NOT NULL, v text, extra int);
            CREATE UNIQUE INDEX riindex_ab ON riindex (a, b);
            ALTER TABLE riindex REPLICA IDENTITY USING INDEX riindex_ab;
            """;

    @RegisterExtension
    static final ClusterExtension clusters = new ClusterExtension();

    private static final AtomicInteger MARKERS = new AtomicInteger();
    /** Cluster pairs whose link stopped applying, with the failure that stopped it. */
    private static final java.util.Map<String, String> STUCK_LINKS = new java.util.concurrent.ConcurrentHashMap<>();

    private static PgCluster node1;
    private static PgCluster node2;
    private static boolean xmlSupported;

    @BeforeAll
    static void buildGroup() {
        // Different server time zones: values must not depend on either node's session defaults.
        node1 = clusters.builder("node1").setting("timezone", "America/New_York").start();
        node2 = clusters.builder("node2").setting("timezone", "Asia/Kathmandu").start();
        node1.createDatabase(DB);
        node1.execute(DB, SCHEMA);
        try {
            node1.execute(DB, "SELECT '<a/>'::xml");
            xmlSupported = true;
        } catch (SqlFailedException e) {
            xmlSupported = false; // server built without libxml
        }
        if (xmlSupported) {
            node1.execute(DB, "CREATE TABLE xmls (id int PRIMARY KEY, x xml)");
        }
        node1.execute(DB, "CREATE EXTENSION pgactive");
        Pgactive.createGroup(node1, DB, "node1");
        Pgactive.waitReady(node1, DB);
        Pgactive.createDatabaseWithExtension(node2, DB);
        Pgactive.joinGroup(node2, DB, "node2", node1);
        Pgactive.waitReady(node2, DB);
    }

    // ------------------------------------------------------------------------------------ types

    @Test
    @Order(1)
    void numbers() {
        roundTrip("numbers", "i2, i4, i8, n, ns, m, b, o", List.of(
                "-32768, -2147483648, -9223372036854775808, 'NaN', '0', '-92233720368547758.08', false, 0",
                "32767, 2147483647, 9223372036854775807, 'Infinity', '999999999999999.99999',"
                        + " '92233720368547758.07', true, 4294967295",
                "0, 0, 0, '-Infinity', '-0.00001', '0', true, 1",
                // the largest numeric: 131072 digits before the point, 16383 after
                "1, 1, 1, (repeat('9', 131072) || '.' || repeat('9', 16383))::numeric, '1.50000', '0.01', false, 2",
                "-1, -1, -1, ('-0.' || repeat('0', 16382) || '1')::numeric, '-0.5', '-0.01', true, 3",
                "2, 2, 2, '1.000000000000000000000000000000', '123.45678', '1234.5', true, 4",
                "3, 3, 3, '-123456789012345678901234567890.123456789012345678901234567890', '1e10', '1000', false, 5",
                "4, 4, 4, '1e-100', '0.00000', '-0', true, 6",
                nulls(8)));
    }

    @Test
    @Order(2)
    void floatsAreBitExact() {
        // rows 1 and 3 are overwritten and deleted by roundTrip; the specials follow from row 4 on
        List<String> rows = List.of(
                "'1', '1'",
                "'Infinity', 'Infinity'",
                "'2', '2'",
                "'-Infinity', '-Infinity'",
                "'NaN', 'NaN'",
                "'-0', '-0'",
                "'0', '0'",
                "'1e-45', '4.9e-324'", // smallest subnormals
                "'1.1754942e-38', '2.225073858507201e-308'", // largest subnormals
                "'1.17549435e-38', '2.2250738585072014e-308'", // smallest normals
                "'3.4028235e38', '1.7976931348623157e308'",
                "'-3.4028235e38', '-1.7976931348623157e308'",
                "'0.1', '0.1'",
                "'0.33333334', 1 / 3::float8",
                "'3.1415927', pi()",
                "'-1e-40', '-1e-310'",
                "'16777217', '9007199254740993'",
                nulls(2));
        roundTrip("floats", "f4, f8", rows);
        String bits = "SELECT id || ':' || coalesce(encode(float4send(f4), 'hex'), 'null') || ':'"
                + " || coalesce(encode(float8send(f8), 'hex'), 'null') FROM floats ORDER BY id";
        assertSameRows("float bits", query(node1, bits), query(node2, bits));
        // the specials really are what they claim to be on the peer that received them
        String specials = "SELECT id %% 1000 || ':' || encode(float4send(f4), 'hex') || ':' || encode(float8send(f8), 'hex')"
                + " FROM floats WHERE id IN (%s) ORDER BY id";
        List<String> expected = List.of("4:ff800000:fff0000000000000", "5:7fc00000:7ff8000000000000",
                "6:80000000:8000000000000000", "7:00000000:0000000000000000", "8:00000001:0000000000000001");
        assertEquals(expected, query(node2, String.format(specials, "4, 5, 6, 7, 8")), "node1's floats on node2");
        assertEquals(expected, query(node1, String.format(specials, "1004, 1005, 1006, 1007, 1008")),
                "node2's floats on node1");
        // +Infinity: row 2 inserted on node1, and copied into row 1 by an UPDATE on node2
        assertEquals(List.of("2:7f800000:7ff0000000000000"), query(node2, String.format(specials, "2")));
        assertEquals(List.of("1:7f800000:7ff0000000000000"), query(node1, String.format(specials, "1")));

        // For information only: a NaN computed by the CPU carries the sign bit; its text form is plain "NaN"
        exec(node1, "INSERT INTO floats VALUES (500, 'Infinity'::float4 - 'Infinity'::float4,"
                + " 'Infinity'::float8 - 'Infinity'::float8)");
        sync();
        String nan = "SELECT encode(float4send(f4), 'hex') || ':' || encode(float8send(f8), 'hex') FROM floats WHERE id = 500";
        System.out.println("[ValueReplicationTest] computed NaN on node1 " + query(node1, nan) + ", on node2 "
                + query(node2, nan));
    }

    @Test
    @Order(3)
    void datesTimesAndIntervals() {
        roundTrip("datetimes", "d, tm, ttz, ts, tstz, iv, ts0, tstz3, iv2", List.of(
                "'infinity', '00:00:00', '00:00:00+15:59', 'infinity', 'infinity', '178000000 years', 'infinity',"
                        + " 'infinity', '1 day'",
                "'-infinity', '24:00:00', '24:00:00-15:59', '-infinity', '-infinity', '-178000000 years',"
                        + " '-infinity', '-infinity', '-1 day'",
                "'4713-01-01 BC', '23:59:59.999999', '12:34:56.789012+05:45', '4713-01-01 00:00:00 BC',"
                        + " '4714-11-24 00:00:00+00 BC', '178000000 years 2147483647 days 2562047788:00:54.775807',"
                        + " '2000-01-01 00:00:00.5', '2000-01-01 00:00:00.1235+00', '00:00:00.125'",
                "'5874897-12-31', '00:00:00.000001', '01:02:03-03:30', '294276-12-31 23:59:59.999999',"
                        + " '294276-12-31 23:59:59.999999+00',"
                        + " '-178000000 years -2147483648 days -2562047788:00:54.775807', '2024-02-29 23:59:59.6',"
                        + " '2024-02-29 23:59:59.9995+00', '1.005 seconds'",
                "'2024-02-29', '13:14:15', '13:14:15+00', '2024-02-29 12:00:00', '2024-11-03 01:30:00-04',"
                        + " '1 mon -2 days 03:04:05.678901', '1999-12-31 23:59:59', '1999-12-31 23:59:59+14',"
                        + " '-00:00:00.01'",
                "'1999-12-31', '12:00', '12:00:00+05:53:28', '1883-11-18 12:00:00',"
                        + " '1883-11-18 12:00:00 America/New_York', '1 year -1 mons', '1970-01-01', '1970-01-01 00:00:00-00:00:01',"
                        + " '1 year 2 mons'",
                "'2000-01-01', '00:00:01', '00:00:01+00', '2000-01-01 00:00:00', '2000-01-01 00:00:00+00',"
                        + " '-1 days -02:00:00', '2000-01-01', '2000-01-01 00:00:00+00', '24:00:00'",
                "'2038-01-19', '03:14:07', '03:14:07-12', '2038-01-19 03:14:07', '2038-01-19 03:14:07+00',"
                        + " '-1 years -2 mons +3 days -04:05:06.5', '2038-01-19 03:14:07', '2038-01-19 03:14:07+00',"
                        + " '-1 mons +1 day'",
                nulls(9)));
    }

    @Test
    @Order(4)
    void textsBinaryAndBits() {
        String unicode = "'héllo wörld — ünïcödé ✓ \uD83C\uDF89 漢字 مرحبا שלום \uD835\uDD18\uD835\uDD2B\uD835\uDD26"
                + " e\u0301 \uD83D\uDC69\u200D\uD83D\uDC69\u200D\uD83D\uDC67 \u200B\uFEFF'";
        roundTrip("texts", "tx, vc, c, ch, nm, by, bi, vb, tc", List.of(
                unicode + ", 'ünï\uD83C\uDF89', 'ab', 'x', 'ñame', '\\x00ff10', B'101010101010', B'1', 'Z'",
                // standard_conforming_strings: a backslash is itself
                "'quotes '' \" backslash \\ tab ' || chr(9) || ' newline ' || chr(10) || ' cr ' || chr(13)"
                        + " || ' \\N end', '\\', 'a b', '\"', 'quote\"name', '\\x5c27', B'000000000000',"
                        + " B'0101010101010101010101010101010101010101', 'NULL'",
                "'', '', '', '', '', '\\x', B'111111111111', B'', ''",
                "'NULL', ' ', ' ', '\\377', ' ', '\\x00', B'100000000001', B'0', ' '",
                "repeat('abc', 50000), repeat('x', 10), 'abcde', 'a', repeat('n', 63),"
                        + " decode(repeat('00ff', 3000), 'hex'), B'100000000001', repeat('1', 2000)::varbit,"
                        + " repeat('é', 3000)",
                nulls(9)));
    }

    @Test
    @Order(5)
    void jsonNetworkSearchAndOthers() {
        roundTrip("misc", "u, ip, cn, mac, mac8, lsn, tsv, tsq, j, jb, jp, rt", List.of(
                "'00000000-0000-0000-0000-000000000000', '0.0.0.0', '0.0.0.0/0', '00:00:00:00:00:00',"
                        + " '00:00:00:00:00:00:00:00', '0/0', '', '', '{}', '{}', '$', 'int4'",
                "'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '2001:db8::1/64', '2001:db8::/32', '08:00:2B:01:02:03',"
                        + " '08:00:2b:01:02:03:04:05', 'FFFFFFFF/FFFFFFFF', 'a:1A fat:2B,4C cat:5D ''don''''t'':3',"
                        + " 'fat & (rat | !cat) <-> dog',"
                        + " '{\"b\": 1,  \"a\": [1, 2.50, null, \"ü\\u00e9\\n\"], \"a\": 2}',"
                        + " '{\"b\": 1, \"a\": {\"nested\": [true, false, null, 1.000e10, -0]},"
                        + " \"big\": 123456789012345678901234567890.123, \"s\": \"\\\"q\\\" \\\\ \\n ü\"}',"
                        + " '$.a[*] ? (@ > 1)', 'timestamp with time zone[]'",
                "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', '192.168.1.1/24', '192.168.0.0/16', 'ff:ff:ff:ff:ff:ff',"
                        + " 'ff:ff:ff:ff:ff:ff:ff:ff', '10/0', 'simple', 'a', '[1, \"two\", {\"three\": 3.0}]',"
                        + " '[1, \"two\", {\"three\": 3.0}]', 'strict $.x.y', 'mood'",
                "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a13', '::ffff:1.2.3.4', '::/0', '01:02:03:04:05:06',"
                        + " '01:02:03:04:05:06:07:08', '0/1', '''ü'':1 ''ß'':2', '''ü'' & !''ß''', 'null', 'null',"
                        + " 'lax $', '\"char\"'",
                nulls(12)));
    }

    @Test
    @Order(6)
    void xml() {
        Assumptions.assumeTrue(xmlSupported, "server built without libxml");
        roundTrip("xmls", "x", List.of(
                "'<a/>'",
                "'<?xml version=\"1.0\"?><doc a=\"1\">text &amp; ü</doc>'",
                "'text <b>bold</b> more ü'",
                "''",
                nulls(1)));
    }

    @Test
    @Order(7)
    void geometry() {
        roundTrip("geometry", "p, l, ls, bx, pa, pg, ci", List.of(
                "'(0,0)', '{1,-1,0}', '[(0,0),(1,1)]', '(1,1),(0,0)', '[(0,0),(1,1),(2,0)]', '((0,0),(1,1),(1,0))',"
                        + " '<(0,0),1>'",
                "'(Infinity,-Infinity)', '{0.1,-0.3,1e300}', '[(-0,NaN),(1e-300,1.7976931348623157e308)]',"
                        + " '(0.1,0.2),(-0.3,-0.4)', '((0,0),(0.1,0.2),(1e10,-1e-10))', '((1,1))', '<(1.5,2.5),0.1>'",
                "'(-0,NaN)', '{-1,0,5e-324}', '[(1,1),(1,1)]', '(0,0),(0,0)', '[(1,2)]', '((-0,-0),(NaN,1))',"
                        + " '<(-0,-0),0>'",
                nulls(7)));
    }

    @Test
    @Order(8)
    void arrays() {
        roundTrip("arrays", "ia, ta, na, m2, m3, tsa, ja, ea, ba, fa, ua", List.of(
                "'{1,2,3}', '{\"a\",\"b c\",\"d,e\",\"f\\\"g\",\"h\\\\i\",\"NULL\",NULL,\"\",\"{}\",\" x \"}',"
                        + " '{NaN,1.50,-0.001,Infinity}', '{{1,2},{3,NULL}}', '{{{a,b},{c,d}},{{e,f},{g,h}}}',"
                        + " '{infinity,\"2020-01-01 00:00:00+00\",NULL}',"
                        + " '{\"{\\\"a\\\": 1}\",\"[]\",NULL,\"\\\"s\\\"\"}',"
                        + " '{sad,happy,\"with space\",\"quote''s\",ünï}', '{\"\\\\x00ff\",NULL,\"\\\\x\"}',"
                        + " '{-0,NaN,Infinity,-Infinity,4.9e-324}', '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,NULL}'",
                "'[0:2]={1,2,3}', '{}', '{}', '[-5:-4][1:2]={{1,2},{3,4}}', '{{{NULL,NULL}}}', '{}', '{}', '{}',"
                        + " '{}', '{}', '{}'",
                "'{NULL}', '{NULL}', '{NULL}', '{{NULL}}', '{{{NULL}}}', '{NULL}', '{NULL}', '{NULL}', '{NULL}',"
                        + " '{NULL}', '{NULL}'",
                "ARRAY(SELECT generate_series(1, 10000)), ARRAY(SELECT md5(g::text) FROM generate_series(1, 2000) g),"
                        + " '{1e-100}', '{{-2147483648,2147483647}}', '{{{\"\"}}}', '{-infinity}', '{\"{}\"}', '{ok}',"
                        + " '{\"\\\\x\"}', '{1e-310,-1e-310}', '{}'",
                nulls(11)));
    }

    @Test
    @Order(9)
    void rangesAndMultiranges() {
        roundTrip("ranges", "i4r, i8r, nr, tsr, tstzr, dr, fr, i4mr, nmr, dmr, fmr, tstzmr", List.of(
                "'empty', 'empty', 'empty', 'empty', 'empty', 'empty', 'empty', '{}', '{}', '{}', '{}', '{}'",
                "'(,)', '[-9223372036854775808,9223372036854775807)', '[1.50,2.5)',"
                        + " '[2020-01-01 00:00:00.000001,infinity)', '(\"2020-01-01 00:00:00+00\",)',"
                        + " '[2020-01-01,2020-02-01)', '[-0,NaN]', '{[1,3),[5,7)}', '{[1.5,2.5],(3,4)}',"
                        + " '{[2020-01-01,2020-01-05),[2020-02-01,)}', '{[1e-300,1],[NaN,NaN]}',"
                        + " '{[-infinity,\"2020-01-01 00:00:00+00\"),[\"2021-01-01 00:00:00+05:45\",infinity]}'",
                "'[1,2)', '(,5)', '(,)', '[-infinity,infinity]', '(,)', '(,)', '(-Infinity,Infinity)', '{(,)}',"
                        + " '{(,)}', '{(,)}', '{(,)}', '{(,)}'",
                "'[-2147483648,2147483647)', '[0,1)', '[NaN,NaN]', '(,2000-01-01)', '[,)', '[-infinity,infinity)',"
                        + " '[1e-310,1e-310]', '{[1,2),[3,4),[5,6)}', '{[NaN,NaN]}', '{[-infinity,infinity)}',"
                        + " '{(-Infinity,-0],[0,Infinity)}', '{}'",
                nulls(12)));
    }

    @Test
    @Order(10)
    void enumsDomainsAndComposites() {
        roundTrip("usertypes", "mo, pi, em, co, cos, ot, dm", List.of(
                "'ünï', 1, 'a@b', '(1,\"x y\",\"{1.5,NaN}\")', '{\"(1,a,{})\",\"(2,,)\"}',"
                        + " '(\"(1,\\\"\\\",)\",happy,\"[1,5)\",-0)', '{1,2}'",
                "'quote''s', 2147483647, 'quote''s@x', '(,,)', '{}', '(,,,)', '{}'",
                "'with space', 5, '\"@\"', '(-1,\"\",{})', '{NULL,\"(,,)\"}', '(\"(,,)\",,empty,NaN)', '{NULL}'",
                "'sad', 7, 'ü@ß', ROW(3, 'a\"b\\c,d(e)', ARRAY[1e-100, NULL]::numeric[])::pair,"
                        + " ARRAY[ROW(4, ' ', '{}')::pair], ROW(ROW(5, NULL, NULL)::pair, 'ok', '(,)', 'Infinity')::outer_t,"
                        + " '{3,4}'",
                nulls(7)));
    }

    // ------------------------------------------------------------------------ generated columns

    @Test
    @Order(11)
    void generatedColumnsStayGenerated() {
        exec(node1, "INSERT INTO gen (id, a, b) VALUES (1, 10, 'abc'), (2, NULL, NULL), (3, -5, 'ünï'), (4, 0, '')");
        exec(node2, "INSERT INTO gen (id, a, b) VALUES (1001, 7, 'xyz')");
        sync();
        exec(node2, "UPDATE gen SET a = 20 WHERE id = 1");
        exec(node1, "UPDATE gen SET b = 'longer' WHERE id = 1001");
        exec(node1, "UPDATE gen SET a = 1, b = 'q' WHERE id = 2");
        sync();
        String all = "SELECT t::text FROM gen t ORDER BY id";
        assertSameRows("gen", query(node1, all), query(node2, all));
        assertEquals(List.of("(1,20,abc,43,ABC)", "(2,1,q,3,Q)", "(3,-5,ünï,-7,üNï)" /* upper() in the C locale */, "(4,0,\"\",0,\"\")",
                "(1001,7,longer,20,LONGER)"), query(node2, all));
        for (PgCluster node : List.of(node1, node2)) {
            assertEquals(0, node.queryLong(DB, "SELECT count(*) FROM gen"
                    + " WHERE g IS DISTINCT FROM a * 2 + coalesce(length(b), 0) OR gu IS DISTINCT FROM upper(b)"),
                    "generated values on " + node.name());
            assertEquals("g:s,gu:s", node.queryString(DB, "SELECT string_agg(attname || ':' || attgenerated::text, ','"
                    + " ORDER BY attname) FROM pg_attribute WHERE attrelid = 'gen'::regclass AND attgenerated <> ''"),
                    "generated columns on " + node.name());
            SqlFailedException e = assertThrows(SqlFailedException.class,
                    () -> node.execute(DB, "INSERT INTO gen (id, a, b, g) VALUES (5000, 1, 'x', 99)"));
            assertEquals("428C9", e.sqlState(), e.getMessage());
        }
    }

    // ------------------------------------------------------------------------------------ TOAST

    @Test
    @Order(12)
    void toastedValuesOfTenMegabytes() {
        // 10 MB of md5 hex (text) and 10 MB of md5 bytes (bytea, incompressible)
        exec(node1, "INSERT INTO toasted VALUES (1, 'v1',"
                + " (SELECT string_agg(md5(g::text), '' ORDER BY g) FROM generate_series(1, 327680) g),"
                + " (SELECT decode(string_agg(md5((-g)::text), '' ORDER BY g), 'hex') FROM generate_series(1, 655360) g))");
        exec(node2, "INSERT INTO toasted VALUES (2, 'n1',"
                + " (SELECT string_agg(md5((g * 7)::text), '' ORDER BY g) FROM generate_series(1, 327680) g),"
                + " (SELECT decode(string_agg(md5((g * 11)::text), '' ORDER BY g), 'hex') FROM generate_series(1, 655360) g))");
        String sizes = "SELECT length(big) || '/' || octet_length(bigb) FROM toasted WHERE id = 1";
        assertEquals("10485760/10485760", node1.queryString(DB, sizes));
        assertTrue(node1.queryLong(DB, "SELECT pg_relation_size(reltoastrelid) FROM pg_class"
                + " WHERE oid = 'toasted'::regclass") > 10_000_000, "values stored out of line");
        String digest = "SELECT id || ':' || note || ':' || md5(big) || ':' || md5(bigb) || ':' || length(big)"
                + " || ':' || octet_length(bigb) FROM toasted ORDER BY id";
        List<String> before = query(node1, digest).subList(0, 1);
        sync();
        assertSameRows("toasted", query(node1, digest), query(node2, digest));

        // an UPDATE that leaves the TOASTed columns alone keeps them on the peer, both ways
        exec(node1, "UPDATE toasted SET note = 'v2' WHERE id = 1");
        exec(node2, "UPDATE toasted SET note = 'n2' WHERE id = 2");
        sync();
        assertSameRows("toasted", query(node1, digest), query(node2, digest));
        assertEquals(before.get(0).replace(":v1:", ":v2:"), query(node2, digest).get(0));
        exec(node2, "UPDATE toasted SET note = 'v3' WHERE id = 1");
        sync();
        assertEquals(before.get(0).replace(":v1:", ":v3:"), query(node1, digest).get(0));

        // key change with unchanged TOAST, a changed TOASTed value, and one set to NULL
        exec(node1, "UPDATE toasted SET id = 3 WHERE id = 2");
        exec(node2, "UPDATE toasted SET big = big || 'x', bigb = NULL WHERE id = 1");
        sync();
        List<String> after = query(node1, digest);
        assertSameRows("toasted", after, query(node2, digest));
        assertEquals(2, after.size());
        assertTrue(after.get(1).startsWith("3:n2:"), after.get(1));
        assertEquals(1, node2.queryLong(DB, "SELECT count(*) FROM toasted WHERE id = 1 AND bigb IS NULL"
                + " AND length(big) = 10485761"));
    }

    // ------------------------------------------------------------------------ replica identities

    @Test
    @Order(13)
    void multiColumnPrimaryKey() {
        exec(node1, "INSERT INTO multikey VALUES (1, 'x', '2020-01-01', 'one'), (1, 'y', '2020-01-01', 'two'),"
                + " (2, 'x', '2020-01-02', 'three')");
        exec(node2, "INSERT INTO multikey VALUES (3, 'ü', 'infinity', 'four'), (1, 'x', '2020-01-02', 'five')");
        sync();
        exec(node2, "UPDATE multikey SET v = 'one!' WHERE a = 1 AND b = 'x' AND c = '2020-01-01'");
        exec(node1, "UPDATE multikey SET b = 'z' WHERE a = 1 AND b = 'y'"); // key change
        exec(node1, "UPDATE multikey SET c = c + 1, v = 'three!' WHERE a = 2"); // key change
        exec(node1, "UPDATE multikey SET v = NULL WHERE a = 3");
        exec(node2, "DELETE FROM multikey WHERE a = 1 AND b = 'x' AND c = '2020-01-02'");
        sync();
        String all = "SELECT t::text FROM multikey t ORDER BY a, b, c";
        assertSameRows("multikey", query(node1, all), query(node2, all));
        assertEquals(List.of("(1,x,2020-01-01,one!)", "(1,z,2020-01-01,two)", "(2,x,2020-01-03,three!)",
                "(3,ü,infinity,)"), query(node2, all));
    }

    @Test
    @Order(14)
    void replicaIdentityFull() {
        exec(node1, "INSERT INTO fullident VALUES"
                + " (1, 'x', '{\"k\":  [1, 2]}', '-0', 1.50, '2020-01-01 00:00:00.123456+00', NULL, 'r1'),"
                + " (2, 'dup', NULL, NULL, NULL, NULL, NULL, 'd'), (2, 'dup', NULL, NULL, NULL, NULL, NULL, 'd'),"
                + " (3, NULL, '[]', 'NaN', 'NaN', 'infinity',"
                + "  (SELECT string_agg(md5(g::text), '' ORDER BY g) FROM generate_series(1, 8000) g), 'r3'),"
                + " (4, 'w', '{}', 1e-300, 0, '1883-11-18 12:00:00 America/New_York', NULL, 'r4')");
        exec(node2, "INSERT INTO fullident VALUES (5, 'n2', '{\"a\":1}', 1, 1, '2000-01-01 00:00:00+05:45', NULL, 'r5'),"
                + " (6, 'ü', 'null', '1e308', '-0.000', '-infinity', NULL, 'r6')");
        sync();
        String all = "SELECT t::text FROM fullident t ORDER BY t::text";
        assertSameRows("fullident", query(node1, all), query(node2, all));
        assertEquals("f", node2.queryString(DB, "SELECT relreplident FROM pg_class WHERE oid = 'fullident'::regclass"));

        exec(node2, "UPDATE fullident SET v = 'r1!' WHERE a = 1");
        exec(node1, "UPDATE fullident SET v = 'd!' WHERE ctid = (SELECT ctid FROM fullident WHERE a = 2 LIMIT 1)");
        exec(node1, "UPDATE fullident SET v = 'r3!' WHERE a = 3"); // unchanged TOASTed value
        exec(node1, "UPDATE fullident SET f = 2, ts = ts + interval '1 microsecond' WHERE a = 5");
        exec(node2, "UPDATE fullident SET b = 'ß' WHERE a = 6");
        exec(node1, "UPDATE fullident SET v = 'r4!' WHERE a = 4");
        sync();
        assertSameRows("fullident", query(node1, all), query(node2, all));
        exec(node2, "DELETE FROM fullident WHERE a = 2 AND v = 'd'"); // one of the two duplicates is left
        exec(node1, "DELETE FROM fullident WHERE a = 6");
        exec(node2, "DELETE FROM fullident WHERE a = 1");
        sync();
        List<String> rows = query(node1, all);
        assertSameRows("fullident", rows, query(node2, all));
        assertEquals("2,3,4,5", String.join(",", query(node2, "SELECT a::text FROM fullident ORDER BY a")));
        assertEquals("d!,r3!,r4!,r5", String.join(",", query(node2, "SELECT v FROM fullident ORDER BY a")));
        assertEquals(query(node1, "SELECT md5(big) FROM fullident WHERE a = 3"),
                query(node2, "SELECT md5(big) FROM fullident WHERE a = 3"));
    }

    @Test
    @Order(15)
    void replicaIdentityUsingIndex() {
        exec(node1, "INSERT INTO riindex VALUES (1, 'a', 'one', 1), (2, 'b', 'two', 2), (3, 'c', 'three', 3)");
        exec(node2, "INSERT INTO riindex VALUES (4, 'd', 'four', 4)");
        sync();
        exec(node2, "UPDATE riindex SET v = 'one!' WHERE a = 1");
        exec(node1, "UPDATE riindex SET b = 'B', extra = NULL WHERE a = 2"); // identity change
        exec(node1, "UPDATE riindex SET v = 'four!' WHERE a = 4");
        exec(node2, "DELETE FROM riindex WHERE a = 3");
        sync();
        String all = "SELECT t::text FROM riindex t ORDER BY a";
        assertSameRows("riindex", query(node1, all), query(node2, all));
        assertEquals(List.of("(1,a,one!,1)", "(2,B,two,)", "(4,d,four!,4)"), query(node2, all));
    }

    // ----------------------------------------------------- tests that may block a link: own nodes
    //
    // A change that fails to apply is retried forever and holds up everything behind it on that
    // link, so each of these runs on a pair of nodes of its own.

    @Test
    @Order(16)
    void tableWithoutKeyReplicatesInsertsAndRefusesUpdatesAndDeletes() {
        PgCluster[] pair = newPair("nokey", "CREATE TABLE nopk (a int, b text);");
        PgCluster n1 = pair[0];
        PgCluster n2 = pair[1];
        exec(n1, "INSERT INTO nopk VALUES (1, 'one'), (2, 'two'), (2, 'two')");
        exec(n2, "INSERT INTO nopk VALUES (3, 'three')");
        sync(n1, n2);
        String all = "SELECT t::text FROM nopk t ORDER BY a, b";
        assertSameRows("nopk", query(n1, all), query(n2, all));
        assertEquals(List.of("(1,one)", "(2,two)", "(2,two)", "(3,three)"), query(n2, all));

        for (PgCluster node : pair) {
            SqlFailedException update = assertThrows(SqlFailedException.class,
                    () -> node.execute(DB, "UPDATE nopk SET b = 'changed' WHERE a = 1"));
            assertEquals("55000", update.sqlState(), update.getMessage());
            assertTrue(update.getMessage().contains("cannot update table \"nopk\" because it does not have a"
                    + " replica identity and publishes updates"), update.getMessage());
            SqlFailedException delete = assertThrows(SqlFailedException.class,
                    () -> node.execute(DB, "DELETE FROM nopk WHERE a = 1"));
            assertEquals("55000", delete.sqlState(), delete.getMessage());
            assertTrue(delete.getMessage().contains("cannot delete from table \"nopk\" because it does not have a"
                    + " replica identity and publishes deletes"), delete.getMessage());
        }
        // nothing changed, and the links still work
        exec(n1, "INSERT INTO nopk VALUES (4, 'four')");
        sync(n1, n2);
        assertSameRows("nopk", query(n1, all), query(n2, all));
        assertEquals(List.of("(1,one)", "(2,two)", "(2,two)", "(3,three)", "(4,four)"), query(n2, all));
    }

    /**
     * User columns may have any name, including the short aliases apply's own SQL might use
     * (t, c, o, ...): a column named like an alias must not change what a statement means.
     */
    @Test
    @Order(17)
    void columnsNamedLikeSqlAliases() {
        PgCluster[] pair = newPair("names", """
                CREATE TABLE aliases (id int PRIMARY KEY, t time, c text, o int, l text, r text, "row" text,
                                      "select" text, h text);
                """);
        PgCluster n1 = pair[0];
        PgCluster n2 = pair[1];
        exec(n1, "INSERT INTO aliases VALUES (1, '01:02:03', 'c', 1, 'l', 'r', 'row', 'select', 'h'),"
                + " (2, '04:05:06', 'c2', 2, 'l2', 'r2', 'row2', 'select2', 'h2')");
        exec(n2, "INSERT INTO aliases VALUES (3, '07:08:09', 'c3', 3, 'l3', 'r3', 'row3', 'select3', 'h3')");
        sync(n1, n2);
        exec(n2, "UPDATE aliases SET t = '10:11:12', c = 'c!' WHERE id = 1");
        exec(n1, "UPDATE aliases SET o = 33 WHERE id = 3");
        exec(n1, "DELETE FROM aliases WHERE id = 2");
        sync(n1, n2);
        String all = "SELECT x::text FROM aliases x ORDER BY id";
        assertSameRows("aliases", query(n1, all), query(n2, all));
        assertEquals(List.of("(1,10:11:12,c!,1,l,r,row,select,h)", "(3,07:08:09,c3,33,l3,r3,row3,select3,h3)"),
                query(n1, all));
    }

    /** Not in the list, but as common as generated columns: identity columns. */
    @Test
    @Order(18)
    void identityColumns() {
        PgCluster[] pair = newPair("ident", """
                CREATE TABLE ident (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text);
                CREATE TABLE ident_bd (id int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, v text);
                """);
        PgCluster n1 = pair[0];
        PgCluster n2 = pair[1];
        exec(n1, "INSERT INTO ident (v) VALUES ('a'), ('b')");
        exec(n1, "INSERT INTO ident_bd (v) VALUES ('a'), ('b')");
        exec(n2, "INSERT INTO ident OVERRIDING SYSTEM VALUE VALUES (1001, 'c')");
        exec(n2, "INSERT INTO ident_bd VALUES (1001, 'c')");
        exec(n2, "INSERT INTO ident OVERRIDING SYSTEM VALUE SELECT g, 'many' FROM generate_series(2001, "
                + (2000 + MANY_ROWS) + ") g");
        sync(n1, n2);
        exec(n2, "UPDATE ident SET v = 'a!' WHERE id = 1");
        exec(n1, "UPDATE ident SET v = 'c!' WHERE id = 1001");
        exec(n1, "UPDATE ident_bd SET v = 'c!' WHERE id = 1001");
        sync(n1, n2);
        for (String table : List.of("ident", "ident_bd")) {
            String all = "SELECT t::text FROM " + table + " t ORDER BY id";
            assertSameRows(table, query(n1, all), query(n2, all));
        }
        assertEquals(List.of("(1,a!)", "(2,b)", "(1001,c!)"), query(n2, "SELECT t::text FROM ident t WHERE id < 2000"
                + " ORDER BY id"));
        assertEquals(MANY_ROWS, n1.queryLong(DB, "SELECT count(*) FROM ident WHERE id > 2000 AND v = 'many'"));
        for (PgCluster node : pair) {
            assertEquals("a", node.queryString(DB, "SELECT attidentity FROM pg_attribute"
                    + " WHERE attrelid = 'ident'::regclass AND attname = 'id'"), "still an identity column");
        }
    }

    /**
     * Values do not depend on either node's session defaults (postgresql.conf): two more nodes whose
     * DateStyle, IntervalStyle, TimeZone, extra_float_digits and bytea_output differ from each other's
     * and from PostgreSQL's defaults, including a REPLICA IDENTITY FULL table, which finds rows by
     * comparing text forms.
     */
    @Test
    @Order(19)
    void valuesDoNotDependOnServerSessionDefaults() {
        PgCluster s1 = clusters.builder("styles1").setting("timezone", "Pacific/Chatham")
                .setting("datestyle", "SQL, DMY").setting("intervalstyle", "sql_standard")
                .setting("extra_float_digits", "-15").setting("bytea_output", "escape").build();
        PgCluster s2 = clusters.builder("styles2").setting("timezone", "America/St_Johns")
                .setting("datestyle", "German, DMY").setting("intervalstyle", "iso_8601")
                .setting("extra_float_digits", "0").build();
        buildPair(s1, s2, """
                CREATE TABLE sv (id int PRIMARY KEY, d date, ts timestamp, tstz timestamptz, iv interval,
                                 f4 float4, f8 float8, by bytea, iva interval[], tsr tstzrange);
                CREATE TABLE svfull (tstz timestamptz, iv interval, f8 float8, d date, ts timestamp, v text);
                ALTER TABLE svfull REPLICA IDENTITY FULL;
                """);

        List<String> rows = List.of(
                "'2024-03-04', '2024-03-04 05:06:07.123456', '2024-03-04 05:06:07.123456+00', '-1 days -02:00:00',"
                        + " '0.1', '0.1', '\\x00ff5c27', '{\"-1 days -02:00:00\",\"1 year -1 mons\"}',"
                        + " '[\"2024-03-04 05:06:07+00\",\"2024-12-13 14:15:16.5+00\")'",
                "'2001-12-11', '2001-12-11 00:00:00', '2001-12-11 23:59:59.999999+13:45', '1 year -1 mons',"
                        + " '0.33333334', 1 / 3::float8, '\\x', '{}', 'empty'",
                "'1999-01-02', '1999-01-02 03:04:05', '1999-01-02 03:04:05-03:30',"
                        + " '-1 years -2 mons +3 days -04:05:06.5', '3.1415927', pi(), '\\x80', '{\"-00:00:01.5\"}',"
                        + " '(,)'",
                "'2024-12-13', '2024-12-13 00:00:00.5', '2024-12-13 00:00:00.5+00', '1 day 02:00:00', '1e-45',"
                        + " '1e-300', '\\x0a0d09', '{\"3 days\"}', '[\"2024-12-13 00:00:00+00\",infinity]'");
        String cols = "d, ts, tstz, iv, f4, f8, by, iva, tsr";
        exec(s1, insert("sv", cols, rows, 0));
        exec(s2, insert("sv", cols, rows, 1000));
        exec(s1, "INSERT INTO svfull VALUES ('2024-03-04 05:06:07.123456+00', '-1 days -02:00:00', 0.1,"
                + " '2024-03-04', '2024-03-04 05:06:07', 'a'), ('2001-12-11 23:59:59+13:45', '1 year -1 mons',"
                + " 1 / 3::float8, '2001-12-11', '2001-12-11 00:00:00.5', 'b')");
        exec(s2, "INSERT INTO svfull VALUES ('1999-01-02 03:04:05-03:30', '-1 years -2 mons +3 days -04:05:06.5',"
                + " pi(), '1999-01-02', '1999-01-02 03:04:05', 'c')");
        sync(s1, s2);
        String all = "SELECT t::text FROM sv t ORDER BY id";
        String bits = "SELECT id || ':' || encode(float4send(f4), 'hex') || ':' || encode(float8send(f8), 'hex')"
                + " FROM sv ORDER BY id";
        String full = "SELECT t::text FROM svfull t ORDER BY v";
        List<String> sv1 = query(s1, all);
        List<String> sv2 = query(s2, all);
        List<String> bits1 = query(s1, bits);
        List<String> bits2 = query(s2, bits);
        List<String> full1 = query(s1, full);
        List<String> full2 = query(s2, full);
        // each node's rows as the peer has them, vs. as the writer has them
        List<String> ownS1 = query(s1, "SELECT t::text FROM sv t WHERE id < 1000 ORDER BY id");
        List<String> s1OnS2 = query(s2, "SELECT t::text FROM sv t WHERE id < 1000 ORDER BY id");
        List<String> ownS2 = query(s2, "SELECT t::text FROM sv t WHERE id > 1000 ORDER BY id");
        List<String> s2OnS1 = query(s1, "SELECT t::text FROM sv t WHERE id > 1000 ORDER BY id");

        // REPLICA IDENTITY FULL finds the row by its old values, as text, in both directions
        exec(s1, "UPDATE svfull SET v = 'c!' WHERE v = 'c'");
        exec(s2, "UPDATE svfull SET v = 'a!' WHERE v = 'a'");
        exec(s2, "DELETE FROM svfull WHERE v = 'b'");
        sync(s1, s2);
        List<String> fullAfter1 = query(s1, full);
        List<String> fullAfter2 = query(s2, full);
        List<String> vs1 = query(s1, "SELECT v FROM svfull ORDER BY v");
        List<String> vs2 = query(s2, "SELECT v FROM svfull ORDER BY v");
        // The writes never overlap, so every change must have found its row and been applied.
        // (Changing a row another node wrote last is recorded as a conflict that keeps the remote
        // change; anything else means a value did not survive the trip.)
        String conflicts = "SELECT object_name || ': ' || conflict_type || ' -> ' || conflict_resolution"
                + " || ', remote ' || coalesce(remote_tuple::text, '-') FROM pgactive.pgactive_conflict_history"
                + " WHERE object_schema <> 'pgactive' AND conflict_resolution <> 'last_update_wins_keep_remote'"
                + " ORDER BY conflict_id";
        List<String> conflicts1 = query(s1, conflicts);
        List<String> conflicts2 = query(s2, conflicts);

        assertAll(
                () -> assertSameRows("styles1's rows: on styles1 (first) vs on styles2 (second)", ownS1, s1OnS2),
                () -> assertSameRows("styles2's rows: on styles2 (first) vs on styles1 (second)", ownS2, s2OnS1),
                () -> assertSameRows("sv", sv1, sv2),
                () -> assertSameRows("sv float bits", bits1, bits2),
                () -> assertSameRows("svfull", full1, full2),
                () -> assertSameRows("svfull after update/delete", fullAfter1, fullAfter2),
                () -> assertEquals(List.of("a!", "c!"), vs1, "svfull on styles1 after update/delete"),
                () -> assertEquals(List.of("a!", "c!"), vs2, "svfull on styles2 after update/delete"),
                () -> assertEquals(List.of(), conflicts1, "conflicts recorded on styles1"),
                () -> assertEquals(List.of(), conflicts2, "conflicts recorded on styles2"));
    }

    // ------------------------------------------------------------------------------- helpers

    /** Two more nodes (started, test-scoped) in a group of their own, with {@code schema} and a markers table. */
    private static PgCluster[] newPair(String prefix, String schema) {
        PgCluster a = clusters.builder(prefix + "1").build();
        PgCluster b = clusters.builder(prefix + "2").build();
        buildPair(a, b, schema);
        return new PgCluster[] {a, b};
    }

    private static void buildPair(PgCluster a, PgCluster b, String schema) {
        a.start();
        b.start();
        a.createDatabase(DB);
        a.execute(DB, "CREATE TABLE markers (node text, seq int, PRIMARY KEY (node, seq));\n" + schema
                + "\nCREATE EXTENSION pgactive;");
        Pgactive.createGroup(a, DB, a.name());
        Pgactive.waitReady(a, DB);
        Pgactive.createDatabaseWithExtension(b, DB);
        Pgactive.joinGroup(b, DB, b.name(), a);
        Pgactive.waitReady(b, DB);
    }

    /**
     * Inserts {@code rows} (value lists for {@code columns}) on node1 with ids 1.., and on node2 with
     * ids 1001..; then node2 overwrites node1's row 1 with row 2's values, node1 overwrites node2's
     * first row with the last row's (typically all NULL), and each deletes one of the other's rows.
     * Compares the tables afterwards.
     */
    private static void roundTrip(String table, String columns, List<String> rows) {
        exec(node1, insert(table, columns, rows, 0));
        exec(node2, insert(table, columns, rows, 1000));
        sync();
        String all = "SELECT t::text FROM " + table + " t ORDER BY id";
        List<String> node1Rows = query(node1, all);
        assertEquals(2 * rows.size(), node1Rows.size(), table + " rows on node1");
        assertSameRows(table, node1Rows, query(node2, all));

        exec(node2, "UPDATE " + table + " a SET (" + columns + ") = (SELECT " + columns + " FROM " + table
                + " b WHERE b.id = 2) WHERE a.id = 1");
        exec(node1, "UPDATE " + table + " a SET (" + columns + ") = (SELECT " + columns + " FROM " + table
                + " b WHERE b.id = " + (1000 + rows.size()) + ") WHERE a.id = 1001");
        exec(node1, "DELETE FROM " + table + " WHERE id = 1002");
        exec(node2, "DELETE FROM " + table + " WHERE id = 3");
        sync();
        node1Rows = query(node1, all);
        assertEquals(2 * rows.size() - 2, node1Rows.size(), table + " rows on node1");
        assertSameRows(table + " after updates and deletes", node1Rows, query(node2, all));
        // row 1 now holds row 2's values (its id aside): compare on node1, which got them by replication
        String row1 = query(node1, "SELECT row(" + columns + ")::text FROM " + table + " WHERE id = 1").get(0);
        String row2 = query(node1, "SELECT row(" + columns + ")::text FROM " + table + " WHERE id = 2").get(0);
        assertSameRows(table + " row 1 updated on node2, as seen on node1", List.of(row2), List.of(row1));

        // The same values, many rows per transaction: those are applied by COPY, whose text
        // format has escapes and a NULL marker of its own.
        List<String> many = new ArrayList<>();
        while (many.size() < MANY_ROWS) {
            many.addAll(rows);
        }
        exec(node1, insert(table, columns, many, 2000));
        exec(node2, insert(table, columns, many, 3000));
        sync();
        node1Rows = query(node1, all);
        assertEquals(2 * rows.size() - 2 + 2 * many.size(), node1Rows.size(), table + " rows on node1");
        assertSameRows(table + " inserted many rows per transaction", node1Rows, query(node2, all));
    }

    private static String insert(String table, String columns, List<String> rows, int idOffset) {
        StringBuilder sql = new StringBuilder("INSERT INTO ").append(table).append(" (id, ").append(columns)
                .append(") VALUES ");
        for (int i = 0; i < rows.size(); i++) {
            sql.append(i == 0 ? "" : ", ").append('(').append(idOffset + i + 1).append(", ").append(rows.get(i))
                    .append(')');
        }
        return sql.toString();
    }

    private static String nulls(int count) {
        return String.join(", ", Collections.nCopies(count, "NULL"));
    }

    /**
     * Each node writes a marker and waits for the other's: since each link applies in commit order,
     * everything either node wrote before has then been applied on the other.
     */
    static void sync() {
        sync(node1, node2);
    }

    static void sync(PgCluster a, PgCluster b) {
        int seq = MARKERS.incrementAndGet();
        for (PgCluster node : List.of(a, b)) {
            exec(node, "INSERT INTO markers VALUES ('" + node.name() + "', " + seq + ")");
        }
        String pair = a.name() + "/" + b.name();
        // Once a link is stuck (it retries a change that fails), later tests need not wait long to see it.
        Duration timeout = STUCK_LINKS.containsKey(pair) ? Duration.ofSeconds(10) : SYNC_TIMEOUT;
        for (PgCluster[] link : new PgCluster[][] {{a, b}, {b, a}}) {
            String sql = "SELECT count(*) FROM markers WHERE node = '" + link[0].name() + "' AND seq = " + seq;
            try {
                Await.until(timeout, "marker " + seq + " of " + link[0].name() + " on " + link[1].name(),
                        () -> link[1].queryLong(DB, sql) == 1);
            } catch (AssertionError e) {
                String failures = linkFailures(link[1]);
                STUCK_LINKS.putIfAbsent(pair, failures);
                throw new AssertionError(e.getMessage() + "\n  last link failures in " + link[1].name()
                        + "'s server log:\n" + failures
                        + "\n  (the link first got stuck with: " + STUCK_LINKS.get(pair) + ")", e);
            }
        }
    }

    /** The last distinct "link ... failed" lines of a node's log. */
    private static String linkFailures(PgCluster node) {
        List<String> lines = node.serverLogText().lines().filter(l -> l.contains("PeerLink") && l.contains("failed"))
                .map(l -> l.substring(l.indexOf("link from"))).distinct().toList();
        return lines.isEmpty() ? "(none)" : String.join("\n", lines.subList(Math.max(0, lines.size() - 3), lines.size()));
    }

    static void exec(PgCluster node, String sql) {
        try (Connection c = node.connect(DB); Statement st = c.createStatement()) {
            st.execute(SESSION);
            st.execute(sql);
        } catch (SQLException e) {
            throw new AssertionError(node.name() + ": " + e.getMessage() + " [SQLSTATE " + e.getSQLState()
                    + "]\n  in: " + abbreviate(sql, 2000), e);
        }
    }

    /** First column of every row, as text, in the fixed session setup. */
    static List<String> query(PgCluster node, String sql) {
        try (Connection c = node.connect(DB); Statement st = c.createStatement()) {
            st.execute(SESSION);
            List<String> values = new ArrayList<>();
            try (ResultSet rs = st.executeQuery(sql)) {
                while (rs.next()) {
                    values.add(rs.getString(1));
                }
            }
            return values;
        } catch (SQLException e) {
            throw new AssertionError(node.name() + ": " + e.getMessage() + "\n  in: " + sql, e);
        }
    }

    /** Fails naming the differing rows, abbreviated around the first difference (values can be megabytes). */
    static void assertSameRows(String what, List<String> expected, List<String> actual) {
        if (expected.equals(actual)) {
            return;
        }
        StringBuilder msg = new StringBuilder(what).append(": rows differ between the nodes (")
                .append(expected.size()).append(" vs ").append(actual.size()).append(" rows)");
        int shown = 0;
        for (int i = 0; i < Math.max(expected.size(), actual.size()) && shown < 10; i++) {
            String e = i < expected.size() ? expected.get(i) : "<missing>";
            String a = i < actual.size() ? actual.get(i) : "<missing>";
            if (!String.valueOf(e).equals(String.valueOf(a))) {
                int at = firstDifference(String.valueOf(e), String.valueOf(a));
                msg.append("\n  row ").append(i).append(" differs at char ").append(at)
                        .append("\n    first : ").append(excerpt(e, at))
                        .append("\n    second: ").append(excerpt(a, at));
                shown++;
            }
        }
        fail(msg.toString());
    }

    private static int firstDifference(String a, String b) {
        int n = Math.min(a.length(), b.length());
        for (int i = 0; i < n; i++) {
            if (a.charAt(i) != b.charAt(i)) {
                return i;
            }
        }
        return n;
    }

    private static String excerpt(String s, int at) {
        if (s == null) {
            return "NULL";
        }
        int from = Math.max(0, at - 150);
        int to = Math.min(s.length(), at + 150);
        return (from > 0 ? "..." : "") + s.substring(from, to) + (to < s.length() ? "...(" + s.length() + " chars)" : "");
    }

    private static String abbreviate(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max) + "...";
    }
}
