package io.pgactive.pg;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;

/**
 * Converts PostgreSQL {@code TimestampTz} values as the replication protocol carries them: microseconds
 * since 2000-01-01 00:00:00 UTC (the "PostgreSQL epoch"), not since 1970.
 */
public final class PgTimestamps {

    /** 2000-01-01T00:00:00Z in seconds since the Unix epoch. */
    private static final long POSTGRES_EPOCH_UNIX_SECONDS = 946_684_800L;
    private static final long MICROS_PER_SECOND = 1_000_000L;
    private static final long MICROS_PER_DAY = 86_400L * MICROS_PER_SECOND;
    private static final long POSTGRES_EPOCH_DAY = POSTGRES_EPOCH_UNIX_SECONDS / 86_400L;

    private PgTimestamps() {
    }

    public static Instant toInstant(long pgMicros) {
        long seconds = Math.floorDiv(pgMicros, MICROS_PER_SECOND);
        long micros = Math.floorMod(pgMicros, MICROS_PER_SECOND);
        return Instant.ofEpochSecond(POSTGRES_EPOCH_UNIX_SECONDS + seconds, micros * 1_000L);
    }

    public static OffsetDateTime toOffsetDateTime(long pgMicros) {
        return toInstant(pgMicros).atOffset(ZoneOffset.UTC);
    }

    /**
     * The time as SQL accepts it for a {@code timestamptz}, in UTC with all six digits of its
     * microseconds ({@code 2026-11-26T12:00:00.123456Z}). Written digit by digit: apply sends a
     * commit time with every transaction, and {@code OffsetDateTime.toString()} took a seventh of
     * the link thread's time in a stream of small transactions.
     */
    public static String toText(long pgMicros) {
        LocalDate date = LocalDate.ofEpochDay(POSTGRES_EPOCH_DAY + Math.floorDiv(pgMicros, MICROS_PER_DAY));
        if (date.getYear() < 1 || date.getYear() > 9999) {
            return toOffsetDateTime(pgMicros).toString();
        }
        long micros = Math.floorMod(pgMicros, MICROS_PER_DAY);
        long seconds = micros / MICROS_PER_SECOND;
        byte[] text = "0000-00-00T00:00:00.000000Z".getBytes(StandardCharsets.US_ASCII);
        digits(text, 0, 4, date.getYear());
        digits(text, 5, 2, date.getMonthValue());
        digits(text, 8, 2, date.getDayOfMonth());
        digits(text, 11, 2, seconds / 3600);
        digits(text, 14, 2, seconds / 60 % 60);
        digits(text, 17, 2, seconds % 60);
        digits(text, 20, 6, micros % MICROS_PER_SECOND);
        return new String(text, StandardCharsets.US_ASCII);
    }

    /** Writes {@code value} as {@code count} decimal digits ending at {@code text[at + count - 1]}. */
    private static void digits(byte[] text, int at, int count, long value) {
        for (int i = at + count - 1; i >= at; i--) {
            text[i] = (byte) ('0' + value % 10);
            value /= 10;
        }
    }

    /** The inverse of {@link #toInstant}; sub-microsecond precision is truncated towards the past. */
    /** The current time in PostgreSQL's microseconds, without allocating (per-transaction paths ask it). */
    public static long nowMicros() {
        return (System.currentTimeMillis() - POSTGRES_EPOCH_UNIX_SECONDS * 1000L) * 1000L;
    }

    public static long fromInstant(Instant instant) {
        long seconds = instant.getEpochSecond() - POSTGRES_EPOCH_UNIX_SECONDS;
        return Math.addExact(Math.multiplyExact(seconds, MICROS_PER_SECOND), instant.getNano() / 1_000L);
    }
}
