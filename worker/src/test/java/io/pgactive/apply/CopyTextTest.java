package io.pgactive.apply;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.pgactive.pgoutput.TupleData;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class CopyTextTest {

    @Test
    void tabSeparatedRowsWithNullsAndEscapes() {
        TupleData plain = TupleData.builder().addText("1").addNull().addText("").build();
        TupleData awkward = TupleData.builder().addText("2").addText("a\tb\nc\rd\\e \\N").addText("ünï €").build();
        assertEquals("1\t\\N\t\n2\ta\\tb\\nc\\rd\\\\e \\\\N\tünï €\n",
                new String(CopyText.of(List.of(plain, awkward)), StandardCharsets.UTF_8));
    }

    @Test
    void rowsOfNullsAndEscapesOutgrowTheEstimate() {
        TupleData.Builder nulls = TupleData.builder();
        for (int i = 0; i < 100; i++) {
            nulls.addNull();
        }
        TupleData tabs = TupleData.builder().addText("\t".repeat(1000)).build();
        String text = new String(CopyText.of(List.of(nulls.build(), tabs)), StandardCharsets.UTF_8);
        assertEquals("\\N" + "\t\\N".repeat(99) + "\n" + "\\t".repeat(1000) + "\n", text);
    }

    @Test
    void noRowsNoBytes() {
        assertEquals(0, CopyText.of(List.of()).length);
    }

    @Test
    void refusesValuesCopyTextCannotCarry() {
        TupleData unchanged = TupleData.builder().addText("1").addUnchangedToast().build();
        assertThrows(IllegalStateException.class, () -> CopyText.of(List.of(unchanged)));
    }
}
