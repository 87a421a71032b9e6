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
                "3391; 2620 16411 TRIGGER public My Table audit app");
        List<String> kept = DataCopy.restoreList(toc,
                List.of(new DataCopy.ConnectionServer(16390, "Pgactive server 1", "postgres")));
        assertEquals(List.of(
                "2032; 1417 16391 SERVER - other srv postgres",
                "3344; 0 0 USER MAPPING - USER MAPPING Bob x SERVER other srv postgres",
                "215; 1259 16400 TABLE public My Table app",
                "3391; 2620 16411 TRIGGER public My Table audit app"), kept);
    }
}
