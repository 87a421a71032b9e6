package io.pgactive.pg;

/**
 * The one place that turns names and values into SQL text. Whatever a user names a schema, table
 * or column (quotes, {@code $}, spaces, dots, reserved words, any letters), what comes out is read
 * back by the server as exactly that name or value, never as SQL.
 */
public final class SqlText {

    private SqlText() {
    }

    /** An identifier, always quoted (quoting a name that needs none changes nothing). */
    public static String identifier(String name) {
        return "\"" + name.replace("\"", "\"\"") + "\"";
    }

    /** {@code schema.name}, both quoted. */
    public static String qualifiedName(String schema, String name) {
        return identifier(schema) + "." + identifier(name);
    }

    /**
     * A string literal. The worker's sessions run with {@code standard_conforming_strings = on}
     * (the default since 9.1, and pgjdbc requires it), so only quotes need doubling.
     */
    public static String literal(String value) {
        return "'" + value.replace("'", "''") + "'";
    }

    /**
     * {@code body} as a dollar-quoted string whose tag does not occur in it: a fixed tag would
     * end the string early wherever a table or column name contains that tag.
     */
    public static String dollarQuoted(String body) {
        String tag = "$pgactive$";
        for (int n = 1; body.contains(tag); n++) {
            tag = "$pgactive" + n + "$";
        }
        return tag + body + tag;
    }
}
