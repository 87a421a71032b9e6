package io.pgactive.conn;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/** The URI form of a libpq connection string: {@code postgresql://user:pw@host:port/db?k=v}. */
final class ConnInfoUriParser {

    private ConnInfoUriParser() {
    }

    static Map<String, String> parse(String uri) {
        Map<String, String> values = new LinkedHashMap<>();
        String rest = uri.substring(uri.indexOf("://") + 3);
        String query = null;
        int q = rest.indexOf('?');
        if (q >= 0) {
            query = rest.substring(q + 1);
            rest = rest.substring(0, q);
        }
        String path = null;
        int slash = rest.indexOf('/');
        if (slash >= 0) {
            path = rest.substring(slash + 1);
            rest = rest.substring(0, slash);
        }
        int at = rest.lastIndexOf('@');
        if (at >= 0) {
            String userInfo = rest.substring(0, at);
            rest = rest.substring(at + 1);
            int colon = userInfo.indexOf(':');
            putDecoded(values, "user", colon >= 0 ? userInfo.substring(0, colon) : userInfo);
            if (colon >= 0) {
                putDecoded(values, "password", userInfo.substring(colon + 1));
            }
        }
        if (!rest.isEmpty()) {
            String host = rest;
            int colon = rest.lastIndexOf(':');
            if (colon >= 0 && !rest.endsWith("]")) {
                host = rest.substring(0, colon);
                putDecoded(values, "port", rest.substring(colon + 1));
            }
            if (host.startsWith("[") && host.endsWith("]")) {
                host = host.substring(1, host.length() - 1);
            }
            putDecoded(values, "host", host);
        }
        if (path != null) {
            putDecoded(values, "dbname", path);
        }
        if (query != null) {
            for (String pair : query.split("&")) {
                if (pair.isEmpty()) {
                    continue;
                }
                int eq = pair.indexOf('=');
                if (eq < 0) {
                    throw new IllegalArgumentException(
                            "invalid URI query parameter: \"" + pair + "\"");
                }
                putDecoded(values, decode(pair.substring(0, eq)), pair.substring(eq + 1));
            }
        }
        return values;
    }

    private static void putDecoded(Map<String, String> values, String key, String raw) {
        if (!raw.isEmpty()) {
            values.put(key, decode(raw));
        }
    }

    private static String decode(String s) {
        return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
    }
}
