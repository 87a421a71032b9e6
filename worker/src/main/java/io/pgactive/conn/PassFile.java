package io.pgactive.conn;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A libpq password file ({@code passfile=} in a DSN): lines of
 * {@code hostname:port:database:username:password}, {@code *} matching anything, {@code \:} and
 * {@code \\} escaping. pgjdbc reads only the file of {@code PGPASSFILE} or {@code ~/.pgpass} for
 * every connection of the JVM, so a file named by one DSN is read here, as libpq would.
 */
final class PassFile {

    private PassFile() {
    }

    /** The first matching entry's password, as libpq picks it; empty when none matches. */
    static Optional<String> password(Path file, String host, String port, String database, String user)
            throws IOException {
        for (String line : Files.readAllLines(file)) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            List<String> fields = split(line);
            if (fields.size() == 5 && matches(fields.get(0), host) && matches(fields.get(1), port)
                    && matches(fields.get(2), database) && matches(fields.get(3), user)) {
                return Optional.of(fields.get(4));
            }
        }
        return Optional.empty();
    }

    private static boolean matches(String pattern, String value) {
        return pattern.equals("*") || pattern.equals(value);
    }

    private static List<String> split(String line) {
        List<String> fields = new ArrayList<>();
        StringBuilder field = new StringBuilder();
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (c == '\\' && i + 1 < line.length()) {
                field.append(line.charAt(++i));
            } else if (c == ':' && fields.size() < 4) {
                fields.add(field.toString());
                field.setLength(0);
            } else {
                field.append(c);
            }
        }
        fields.add(field.toString());
        return fields;
    }
}
