package io.pgactive.pgoutput;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class TupleDataTest {

    @Test
    void builderMakesEveryKind() {
        byte[] raw = {1, 2, 3};
        TupleData tuple = TupleData.builder().addText("ä").addNull().addUnchangedToast().addBinary(raw)
                .addTextOrNull(null).addTextOrNull("x").build();
        raw[0] = 9;
        assertEquals(6, tuple.size());
        assertEquals(TupleData.Kind.TEXT, tuple.kind(0));
        assertEquals(TupleData.Kind.NULL, tuple.kind(1));
        assertEquals(TupleData.Kind.UNCHANGED_TOAST, tuple.kind(2));
        assertEquals(TupleData.Kind.BINARY, tuple.kind(3));
        assertTrue(tuple.isNull(4));
        assertEquals("x", tuple.text(5));
        assertEquals("ä", tuple.text(0));
        assertArrayEquals("ä".getBytes(StandardCharsets.UTF_8), tuple.bytes(0));
        assertArrayEquals(new byte[] {1, 2, 3}, tuple.bytes(3), "the builder copied the array");
        assertTrue(tuple.isBinary(3));
        assertThrows(IllegalStateException.class, () -> tuple.text(3));
        assertThrows(IndexOutOfBoundsException.class, () -> tuple.kind(6));
        assertThrows(IndexOutOfBoundsException.class, () -> tuple.isNull(-1));
        assertEquals('u', TupleData.Kind.UNCHANGED_TOAST.wireCode());
    }

    @Test
    void bytesAreCopies() {
        TupleData tuple = TupleData.builder().addText("abc").build();
        tuple.bytes(0)[0] = 'z';
        assertEquals("abc", tuple.text(0));
    }

    @Test
    void equalityIsByContent() {
        TupleData a = TupleData.builder().addText("1").addNull().addText("two").build();
        TupleData b = TupleData.builder().addText("1").addNull().addText("two").build();
        assertEquals(a, b);
        assertEquals(a.hashCode(), b.hashCode());
        assertNotEquals(a, TupleData.builder().addText("1").addText("").addText("two").build());
        assertNotEquals(a, TupleData.builder().addText("1").addNull().addText("twO").build());
        assertNotEquals(TupleData.builder().addText("ab").addText("c").build(),
                TupleData.builder().addText("a").addText("bc").build());
        assertEquals(0, TupleData.empty().size());
        assertFalse(TupleData.empty().hasUnchangedToast());
    }

    @Test
    void toStringAbbreviatesLongValues() {
        TupleData tuple = TupleData.builder().addText("x".repeat(1000)).addNull().addUnchangedToast()
                .addBinary(new byte[3]).build();
        assertEquals("TupleData['" + "x".repeat(60) + "...(1000 bytes)', NULL, UNCHANGED_TOAST, <3 bytes>]",
                tuple.toString());
    }
}
