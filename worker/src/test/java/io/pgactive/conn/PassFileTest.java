package io.pgactive.conn;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PassFileTest {

    @TempDir
    Path dir;

    @Test
    void firstMatchingLineWinsWithWildcardsAndEscapes() throws Exception {
        Path file = dir.resolve("pgpass");
        Files.writeString(file, "# comment\n"
                + "10.0.0.1:5432:app:alice:first\n"
                + "*:5433:*:alice:p\\:w\\\\d\n"
                + "*:*:*:*:fallback\n");
        assertEquals(Optional.of("first"), PassFile.password(file, "10.0.0.1", "5432", "app", "alice"));
        assertEquals(Optional.of("p:w\\d"), PassFile.password(file, "db.example", "5433", "other", "alice"));
        assertEquals(Optional.of("fallback"), PassFile.password(file, "10.0.0.1", "5432", "app", "bob"));
    }

    @Test
    void noMatchIsEmpty() throws Exception {
        Path file = dir.resolve("pgpass");
        Files.writeString(file, "h:1:d:u:pw\n");
        assertEquals(Optional.empty(), PassFile.password(file, "h", "2", "d", "u"));
    }
}
