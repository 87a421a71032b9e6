package io.pgactive.pg;

/**
 * A WAL position (PostgreSQL's {@code XLogRecPtr}, SQL type {@code pg_lsn}): an unsigned 64-bit
 * value, ordered unsigned, printed as the server prints it. {@link #ZERO} ("0/0") is the start of
 * WAL, before every position: what a replication origin that has applied nothing reports.
 */
public record Lsn(long value) implements Comparable<Lsn> {

    public static final Lsn ZERO = new Lsn(0);

    @Override
    public int compareTo(Lsn other) {
        return Long.compareUnsigned(value, other.value);
    }

    public boolean isAfter(Lsn other) {
        return compareTo(other) > 0;
    }

    public boolean isBefore(Lsn other) {
        return compareTo(other) < 0;
    }

    /** The later of the two. */
    public Lsn max(Lsn other) {
        return isAfter(other) ? this : other;
    }

    /** As PostgreSQL 15 prints a {@code pg_lsn}, e.g. {@code 0/16B3748}. */
    @Override
    public String toString() {
        return format(value);
    }

    /**
     * Formats as PostgreSQL 15 prints a {@code pg_lsn}: upper and lower 32 bits in upper-case hex without
     * zero padding, e.g. {@code 0/16B3748}, so the text matches what the server's own functions show.
     */
    private static String format(long lsn) {
        // By hand, not Long.toHexString().toUpperCase(): apply formats one per transaction.
        char[] text = new char[17];
        int end = hex(text, 0, lsn >>> 32);
        text[end] = '/';
        end = hex(text, end + 1, lsn & 0xFFFF_FFFFL);
        return new String(text, 0, end);
    }

    /** Writes {@code value} (at most 32 bits) in upper-case hex from {@code text[at]}; returns the end. */
    private static int hex(char[] text, int at, long value) {
        int digits = Math.max(1, (64 - Long.numberOfLeadingZeros(value) + 3) / 4);
        for (int i = at + digits - 1; i >= at; i--) {
            text[i] = "0123456789ABCDEF".charAt((int) (value & 0xF));
            value >>>= 4;
        }
        return at + digits;
    }

    /**
     * Parses {@code X/X} with one to eight hex digits on each side, in either case and with or without
     * zero padding (newer servers pad the lower half to eight digits).
     *
     * @throws IllegalArgumentException if the text is not of that form
     */
    public static Lsn parse(String text) {
        int slash = text.indexOf('/');
        int lowDigits = text.length() - slash - 1;
        if (slash < 1 || slash > 8 || lowDigits < 1 || lowDigits > 8) {
            throw notAnLsn(text);
        }
        long high = 0;
        long low = 0;
        for (int i = 0; i < text.length(); i++) {
            if (i == slash) {
                continue;
            }
            int digit = hexDigit(text.charAt(i));
            if (digit < 0) {
                throw notAnLsn(text);
            }
            if (i < slash) {
                high = high << 4 | digit;
            } else {
                low = low << 4 | digit;
            }
        }
        return new Lsn(high << 32 | low);
    }

    /** ASCII only: Long.parseLong would also take a sign, Character.digit non-Latin digits. */
    private static int hexDigit(char c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        return -1;
    }

    private static IllegalArgumentException notAnLsn(String text) {
        return new IllegalArgumentException("not an LSN (expected X/X with 1-8 hex digits each side): \"" + text + "\"");
    }
}
