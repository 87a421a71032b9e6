package io.pgactive.pg;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class SqlTextTest {

    @Test
    void identifiersDoubleTheirQuotes() {
        assertEquals("\"a \"\"b\"\" $c\"", SqlText.identifier("a \"b\" $c"));
        assertEquals("\"Sch.x\".\"T\"", SqlText.qualifiedName("Sch.x", "T"));
    }

    @Test
    void literalsDoubleTheirQuotes() {
        assertEquals("'it''s'", SqlText.literal("it's"));
    }

    @Test
    void theDollarTagNeverOccursInTheBody() {
        assertEquals("$pgactive$SELECT 1$pgactive$", SqlText.dollarQuoted("SELECT 1"));
        assertEquals("$pgactive1$INSERT INTO \"a$pgactive$b\"$pgactive1$",
                SqlText.dollarQuoted("INSERT INTO \"a$pgactive$b\""));
        assertEquals("$pgactive2$x $pgactive$ $pgactive1$$pgactive2$", SqlText.dollarQuoted("x $pgactive$ $pgactive1$"));
    }
}
