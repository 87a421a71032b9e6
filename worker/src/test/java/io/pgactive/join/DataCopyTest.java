package io.pgactive.join;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The restore list, over lines as {@code pg_restore --list} prints them (PostgreSQL 15). */
class DataCopyTest {

    @Test
    void leavesOutPgactiveItsTriggersAndTheUpstreamsConnectionServers() {
        List<String> toc = List.of(
                "2;3079 16385 EXTENSION - pgactive",
                "3380;0 0 COMMENT - EXTENSION pgactive",
                "2031; 1417 16390 SERVER - Pgactive server 1 postgres",
                "2032; 1417 16391 SERVER - other srv postgres",
                "3343; 0 0 USER MAPPING - USER MAPPING postgres SERVER Pgactive server 1 postgres",
                "3344; 0 0 USER MAPPING - USER MAPPING Bob x SERVER other srv postgres",
                "215; 1259 16400 TABLE public My Table app",
                "3390; 2620 16410 TRIGGER public My Table pgactive_tombstone app",
                "3392; 2620 16412 TRIGGER public My Table pgactive_full_values app",
                "3393; 2620 16413 TRIGGER public My Table pgactive_truncate_tombstone app",
                "3394; 2620 16414 TRIGGER public My Table pgactive_column_changes app",
                "3395; 2620 16415 TRIGGER public My Table pgactive_column_versions app",
                "3391; 2620 16411 TRIGGER public My Table audit app");
        List<String> kept = DataCopy.restoreList(toc,
                List.of(new DataCopy.ConnectionServer(16390, "Pgactive server 1", "postgres")));
        assertEquals(List.of(
                "2032; 1417 16391 SERVER - other srv postgres",
                "3344; 0 0 USER MAPPING - USER MAPPING Bob x SERVER other srv postgres",
                "215; 1259 16400 TABLE public My Table app",
                "3391; 2620 16411 TRIGGER public My Table audit app"), kept);
    }

    @Test
    void spreadsTheLargestTablesFirstOverThePipesAndLeavesWhatIsNotCopiedToNone() {
        List<DataCopy.Table> tables = List.of(
                new DataCopy.Table("\"public\".\"small\"", 10, true),
                new DataCopy.Table("\"public\".\"big\"", 1000, true),
                new DataCopy.Table("\"public\".\"medium\"", 600, true),
                new DataCopy.Table("\"public\".\"medium 2\"", 500, true),
                new DataCopy.Table("\"public\".\"local only\"", 5000, false));
        assertEquals(List.of(
                        List.of("\"public\".\"big\"", "\"public\".\"small\""),
                        List.of("\"public\".\"medium\"", "\"public\".\"medium 2\"")),
                DataCopy.spread(tables, 2));
        assertEquals(List.of(List.of("\"public\".\"big\"", "\"public\".\"medium\"", "\"public\".\"medium 2\"",
                "\"public\".\"small\"")), DataCopy.spread(tables, 1));
    }

    @Test
    void startsNoPipeWithoutTables() {
        List<DataCopy.Table> one = List.of(new DataCopy.Table("\"public\".\"t\"", 0, true));
        assertEquals(List.of(List.of("\"public\".\"t\"")), DataCopy.spread(one, 4));
        assertEquals(List.of(List.of()), DataCopy.spread(List.of(), 4), "the first pipe still copies sequences");
    }
}
