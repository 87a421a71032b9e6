package io.pgactive.conn;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A libpq connection string ({@code host=a port=5432 dbname=app} or {@code postgresql://...}),
 * parsed into its keywords. DSNs in pgactive's catalogs are written for libpq because that is what
 * DBAs know; this class is the single place that understands them.
 */
public final class ConnInfo {

    /** Keywords we can honour through pgjdbc; anything else is refused like libpq refuses it. */
    static final Set<String> KNOWN_KEYWORDS = Set.of(
            "host", "hostaddr", "port", "dbname", "user", "password", "passfile",
            "connect_timeout", "application_name", "fallback_application_name", "options",
            "sslmode", "sslcert", "sslkey", "sslrootcert", "sslpassword", "keepalives", "keepalives_idle",
            "keepalives_interval", "keepalives_count",
            "target_session_attrs", "gssencmode", "client_encoding",
            // pgactive's own: resolved by UserMappings before any connection is made
            UserMappings.ROLE, UserMappings.SERVER);

    /** Keywords whose values are masked wherever a DSN is shown. */
    static final Set<String> SECRETS = Set.of("password", "sslpassword");

    private final Map<String, String> values;

    private ConnInfo(Map<String, String> values) {
        this.values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
    }

    /** Parses a conninfo string; throws {@link IllegalArgumentException} naming the problem. */
    public static ConnInfo parse(String dsn) {
        if (dsn == null) {
            throw new IllegalArgumentException("connection string is null");
        }
        String trimmed = dsn.strip();
        Map<String, String> values = trimmed.startsWith("postgresql://") || trimmed.startsWith("postgres://")
                ? ConnInfoUriParser.parse(trimmed)
                : parseKeywordValue(trimmed);
        for (String key : values.keySet()) {
            if (!KNOWN_KEYWORDS.contains(key)) {
                throw new IllegalArgumentException("invalid connection option \"" + key + "\"");
            }
        }
        return new ConnInfo(values);
    }

    private static Map<String, String> parseKeywordValue(String s) {
        Map<String, String> values = new LinkedHashMap<>();
        int i = 0;
        int n = s.length();
        while (true) {
            while (i < n && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
            if (i >= n) {
                return values;
            }
            int keyStart = i;
            while (i < n && s.charAt(i) != '=' && !Character.isWhitespace(s.charAt(i))) {
                i++;
            }
            String key = s.substring(keyStart, i);
            while (i < n && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
            if (i >= n || s.charAt(i) != '=') {
                throw new IllegalArgumentException(
                        "missing \"=\" after \"" + key + "\" in connection info string");
            }
            i++;
            while (i < n && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
            StringBuilder value = new StringBuilder();
            if (i < n && s.charAt(i) == '\'') {
                i++;
                while (true) {
                    if (i >= n) {
                        throw new IllegalArgumentException(
                                "unterminated quoted string in connection info string");
                    }
                    char c = s.charAt(i++);
                    if (c == '\'') {
                        break;
                    }
                    if (c == '\\' && i < n) {
                        c = s.charAt(i++);
                    }
                    value.append(c);
                }
            } else {
                while (i < n && !Character.isWhitespace(s.charAt(i))) {
                    char c = s.charAt(i++);
                    if (c == '\\' && i < n) {
                        c = s.charAt(i++);
                    }
                    value.append(c);
                }
            }
            values.put(key, value.toString());
        }
    }

    public String get(String key) {
        return values.get(key);
    }

    public String getOrDefault(String key, String fallback) {
        String v = values.get(key);
        return v == null || v.isEmpty() ? fallback : v;
    }

    /** A copy with one keyword set, e.g. another dbname on the same server. */
    public ConnInfo with(String key, String value) {
        Map<String, String> copy = new LinkedHashMap<>(values);
        copy.put(key, value);
        return new ConnInfo(copy);
    }

    public ConnInfo without(String key) {
        Map<String, String> copy = new LinkedHashMap<>(values);
        copy.remove(key);
        return new ConnInfo(copy);
    }

    /**
     * The {@code --dbname} argument of a libpq program (pg_dump, pg_restore). A command line
     * names no password: any local user reads it in {@code /proc}. Nor does the environment
     * ({@code PGPASSWORD}), whose values the JVM encodes in its locale, which may lack characters
     * of the password. The password, if any, goes into a password file in {@code privateDir}
     * (created readable by this OS user only, as libpq demands) that the argument names.
     */
    public String libpqProgramArgument(Path privateDir) throws IOException {
        String password = get("password");
        if (password == null) {
            return "--dbname=" + toConnString();
        }
        Path passfile = Files.createTempFile(privateDir, "pgpass", "",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(passfile, "*:*:*:*:" + password.replace("\\", "\\\\").replace(":", "\\:") + "\n");
        return "--dbname=" + without("password").with("passfile", passfile.toString()).toConnString();
    }

    public Map<String, String> values() {
        return values;
    }

    /** The string with the password masked, for log lines and error messages. */
    @Override
    public String toString() {
        return format(true);
    }

    /** The full string, password included: for libpq, which parses it again (see libpqProgramArgument). */
    public String toConnString() {
        return format(false);
    }

    private String format(boolean maskPassword) {
        StringBuilder sb = new StringBuilder();
        values.forEach((k, v) -> {
            if (sb.length() > 0) {
                sb.append(' ');
            }
            sb.append(k).append('=').append(maskPassword && SECRETS.contains(k) ? "********" : quote(v));
        });
        return sb.toString();
    }

    private static String quote(String v) {
        if (!v.isEmpty() && v.chars().noneMatch(c -> Character.isWhitespace(c) || c == '\'' || c == '\\')) {
            return v;
        }
        return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }
}
