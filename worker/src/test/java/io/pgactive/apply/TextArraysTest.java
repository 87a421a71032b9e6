package io.pgactive.apply;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class TextArraysTest {

    @Test
    void quotesEveryElementAndEscapesQuotesAndBackslashes() {
        assertEquals("{\"a\",NULL,\"NULL\",\"x,y\",\"say \\\"hi\\\"\",\"C:\\\\dir\",\"{}\",\"\"}",
                TextArrays.literal(new String[] {"a", null, "NULL", "x,y", "say \"hi\"", "C:\\dir", "{}", ""}));
    }

    @Test
    void emptyArray() {
        assertEquals("{}", TextArrays.literal(new String[0]));
    }
}
