package io.pgactive.decode;

import java.time.Instant;
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

    /** The inverse of {@link #toInstant}; sub-microsecond precision is truncated towards the past. */
    public static long fromInstant(Instant instant) {
        long seconds = instant.getEpochSecond() - POSTGRES_EPOCH_UNIX_SECONDS;
        return Math.addExact(Math.multiplyExact(seconds, MICROS_PER_SECOND), instant.getNano() / 1_000L);
    }
}
