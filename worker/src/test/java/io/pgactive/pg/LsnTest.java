package io.pgactive.pg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class LsnTest {

    @Test
    void formatsLikePostgres15() {
        assertEquals("0/0", fmt(0));
        assertEquals("0/16B3748", fmt(0x16B3748L));
        assertEquals("1/0", fmt(1L << 32));
        assertEquals("ABCDEF01/2", fmt(0xABCDEF01_00000002L));
        assertEquals("FFFFFFFF/FFFFFFFF", fmt(-1L));
        java.util.Random random = new java.util.Random(42);
        for (int i = 0; i < 100_000; i++) {
            long lsn = random.nextLong() >>> random.nextInt(64);
            assertEquals(Long.toHexString(lsn >>> 32).toUpperCase() + "/" + Long.toHexString(lsn & 0xFFFF_FFFFL).toUpperCase(),
                    fmt(lsn));
        }
    }

    @Test
    void parsesWhatItFormatsAndPaddedForms() {
        for (long lsn : new long[] {0, 0x16B3748L, 1L << 32, 0xABCDEF01_00000002L, -1L, Long.MIN_VALUE}) {
            assertEquals(new Lsn(lsn), Lsn.parse(fmt(lsn)));
        }
        assertEquals(new Lsn(0x16B3748L), Lsn.parse("0/016b3748"));
        assertEquals(new Lsn(0xABCDEF01L), Lsn.parse("00000000/ABCDEF01"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "0", "/1", "1/", "0/0/0", "-1/0", "0/+1", "123456789/0", "0/123456789", "0/G", " 0/1",
            "0/\u0661"})
    void rejectsOtherText(String text) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Lsn.parse(text));
        assertTrue(e.getMessage().contains("not an LSN"), e.getMessage());
    }

    @Test
    void comparesUnsigned() {
        assertTrue(new Lsn(-1L).isAfter(new Lsn(1L)));
        assertTrue(Lsn.ZERO.isBefore(new Lsn(1L)));
        assertEquals(0, new Lsn(5).compareTo(new Lsn(5)));
        assertEquals(new Lsn(-1L), new Lsn(1L).max(new Lsn(-1L)));
    }

    private static String fmt(long lsn) {
        return new Lsn(lsn).toString();
    }
}
