package io.pgactive.pg;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class PgTimestampsTest {

    @Test
    void countsMicrosecondsFrom2000() {
        assertEquals(Instant.parse("2000-01-01T00:00:00Z"), PgTimestamps.toInstant(0));
        assertEquals(Instant.parse("2000-01-01T00:00:01.000001Z"), PgTimestamps.toInstant(1_000_001));
        assertEquals(Instant.parse("1999-12-31T23:59:59.999999Z"), PgTimestamps.toInstant(-1));
        // 2020-01-02T03:04:05.678901Z: 7306 days and 11045.678901 s after 2000-01-01.
        assertEquals(Instant.parse("2020-01-02T03:04:05.678901Z"), PgTimestamps.toInstant(631_249_445_678_901L));
        assertEquals(OffsetDateTime.of(2000, 1, 1, 0, 0, 0, 0, ZoneOffset.UTC), PgTimestamps.toOffsetDateTime(0));
    }

    @Test
    void writesTextThatMeansTheSameInstant() {
        assertEquals("2000-01-01T00:00:00.000000Z", PgTimestamps.toText(0));
        assertEquals("1999-12-31T23:59:59.999999Z", PgTimestamps.toText(-1));
        assertEquals("2020-01-02T03:04:05.678901Z", PgTimestamps.toText(631_249_445_678_901L));
        assertEquals("2024-02-29T23:59:59.000001Z",
                PgTimestamps.toText(PgTimestamps.fromInstant(Instant.parse("2024-02-29T23:59:59.000001Z"))));
        java.util.Random random = new java.util.Random(42);
        for (int i = 0; i < 100_000; i++) { // 1900 to 2100
            long micros = (long) ((random.nextDouble() * 2 - 1) * 100 * 365.25 * 86_400 * 1_000_000);
            assertEquals(PgTimestamps.toInstant(micros), Instant.parse(PgTimestamps.toText(micros)), "micros " + micros);
        }
        // Beyond four-digit years: java.time's own form, still an instant SQL reads.
        long far = PgTimestamps.fromInstant(Instant.parse("+12000-01-01T00:00:00Z"));
        assertEquals(PgTimestamps.toInstant(far), OffsetDateTime.parse(PgTimestamps.toText(far)).toInstant());
    }

    @Test
    void convertsBack() {
        for (long micros : new long[] {0, 1, -1, 631_249_445_678_901L, -631_249_445_678_901L}) {
            assertEquals(micros, PgTimestamps.fromInstant(PgTimestamps.toInstant(micros)));
        }
        assertEquals(-1, PgTimestamps.fromInstant(Instant.parse("1999-12-31T23:59:59.999999999Z")));
    }
}
