package io.pgactive.conflict;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.pgactive.conflict.ColumnChanges.Column;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Messages as launcher/pgactive_columns.c writes them, captured from a PostgreSQL 15 server
 * (test_decoding) for a table {@code "Acc ö" (id int, "k 2" text, "Balance ö" bigint, note text,
 * PRIMARY KEY (id, "k 2"))} with counter column {@code "Balance ö"}, row {@code (7, 'a:b ö', NULL, 'x')}.
 */
class ColumnChangesTest {

    @Test
    void aCounterFromNullAndAnotherColumn() {
        // UPDATE "Acc ö" SET "Balance ö" = 5, note = 'y' WHERE id = 7
        ColumnChanges c = ColumnChanges.parse("16931 2 2\n1:76:a:b ö+10:Balance ö-1:=4:note");
        assertEquals(new ColumnChanges(16931, List.of("7", "a:b ö"),
                List.of(new Column("Balance ö", true, null), new Column("note", false, null))), c);
    }

    @Test
    void aCounterWithItsPreviousValue() {
        // UPDATE "Acc ö" SET "Balance ö" = 6 WHERE id = 7
        assertEquals(List.of(new Column("Balance ö", true, "5")),
                ColumnChanges.parse("16931 1 2\n1:76:a:b ö+10:Balance ö1:5").changed());
    }

    @Test
    void anUpdateThatChangedNothing() {
        // UPDATE "Acc ö" SET id = id WHERE id = 7
        assertEquals(List.of(), ColumnChanges.parse("16931 0 2\n1:76:a:b ö").changed());
    }

    @Test
    void malformedMessagesAreErrors() {
        assertThrows(IllegalArgumentException.class, () -> ColumnChanges.parse("16931 1 2\n1:76:a:b ö"));
        assertThrows(IllegalArgumentException.class, () -> ColumnChanges.parse("16931 1 2\n1:76:a:b ö?4:note"));
        assertThrows(IllegalArgumentException.class, () -> ColumnChanges.parse("16931 0 2\n1:76:a:b öextra"));
        assertThrows(IllegalArgumentException.class, () -> ColumnChanges.parse("16931 0\n"));
    }
}
