package io.pgactive.apply;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.pgactive.decode.TupleData;
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
    void noRowsNoBytes() {
        assertEquals(0, CopyText.of(List.of()).length);
    }

    @Test
    void refusesValuesCopyTextCannotCarry() {
        TupleData unchanged = TupleData.builder().addText("1").addUnchangedToast().build();
        assertThrows(IllegalStateException.class, () -> CopyText.of(List.of(unchanged)));
    }
}
