package io.pgactive.conn;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;

/**
 * Opens pgjdbc connections described by libpq {@link ConnInfo}s. A host that is a directory
 * means a Unix socket, as in libpq; those go through junixsocket.
 */
public final class Connector {

    /** libpq's compiled-in default on Debian, used when a DSN names no host. */
    static final String DEFAULT_SOCKET_DIR = "/var/run/postgresql";
    private static final String UNIX_SOCKET_FACTORY = "org.newsclub.net.unix.AFUNIXSocketFactory$FactoryArg";

    private Connector() {
    }

    public static Connection connect(ConnInfo info, String applicationName) throws SQLException {
        return DriverManager.getConnection(jdbcUrl(info), properties(info, applicationName, false));
    }

    /** A walsender connection for logical replication (pgjdbc's replication API). */
    public static Connection connectReplication(ConnInfo info, String applicationName) throws SQLException {
        return DriverManager.getConnection(jdbcUrl(info), properties(info, applicationName, true));
    }

    static String jdbcUrl(ConnInfo info) {
        String port = info.getOrDefault("port", "5432");
        String db = info.getOrDefault("dbname", user(info));
        String host = host(info);
        String urlHost = isSocketDir(host) ? "localhost" : bracketIpv6(host);
        return "jdbc:postgresql://" + urlHost + ":" + port + "/" + urlEncode(db);
    }

    static Properties properties(ConnInfo info, String applicationName, boolean replication) {
        if (UserMappings.named(info)) {
            throw new IllegalStateException("DSN \"" + info + "\" names a user mapping that was not resolved");
        }
        Properties p = new Properties();
        p.setProperty("user", user(info));
        String password = info.get("password");
        if (password == null && info.get("passfile") != null) {
            password = passFilePassword(info);
        }
        if (password != null) {
            p.setProperty("password", password);
        }
        String host = host(info);
        if (isSocketDir(host)) {
            p.setProperty("socketFactory", UNIX_SOCKET_FACTORY);
            p.setProperty("socketFactoryArg", host + "/.s.PGSQL." + info.getOrDefault("port", "5432"));
            p.setProperty("sslmode", "disable");
        } else {
            copy(info, "sslmode", p, "sslmode");
            copy(info, "sslcert", p, "sslcert");
            copy(info, "sslkey", p, "sslkey");
            copy(info, "sslrootcert", p, "sslrootcert");
            copy(info, "sslpassword", p, "sslpassword");
        }
        // Every session of the worker's runs with pg_catalog first and nothing a non-superuser can
        // create in: an unqualified function or operator can then only be the built-in one, never
        // an object some role placed in public to have the worker (a superuser) run it. Appended
        // after the DSN's own options, so they cannot undo it.
        String options = (info.getOrDefault("options", "") + " -c search_path=pg_catalog,pg_temp").strip();
        if (replication) {
            // The walsender writes values as text in its session's formats; fixing them makes
            // what arrives independent of the sending server's postgresql.conf (floats exact,
            // intervals in the style apply reads).
            options = (options + " -c extra_float_digits=3 -c IntervalStyle=postgres -c DateStyle=ISO").strip();
        }
        p.setProperty("options", options);
        // libpq's connect_timeout bounds the whole connection setup, not just the TCP connect.
        String timeout = info.getOrDefault("connect_timeout", "10");
        p.setProperty("connectTimeout", timeout);
        p.setProperty("loginTimeout", timeout);
        if (!isSocketDir(host) && !"0".equals(info.get("keepalives"))) {
            p.setProperty("socketFactory", TcpKeepAliveSocketFactory.class.getName());
            p.setProperty("socketFactoryArg", TcpKeepAliveSocketFactory.argument(
                    info.getOrDefault("keepalives_idle", "20"), info.getOrDefault("keepalives_interval", "20"),
                    info.getOrDefault("keepalives_count", "5")));
        }
        p.setProperty("ApplicationName", info.getOrDefault("application_name", applicationName));
        if (replication) {
            p.setProperty("replication", "database");
            p.setProperty("assumeMinServerVersion", "15");
            p.setProperty("preferQueryMode", "simple");
        }
        return p;
    }

    /** The password {@code passfile=} holds for this connection, as libpq looks it up; null if none. */
    private static String passFilePassword(ConnInfo info) {
        String host = host(info);
        // libpq matches the default socket directory as "localhost", any other by its path.
        String passHost = host.equals(DEFAULT_SOCKET_DIR) ? "localhost" : host;
        try {
            return PassFile.password(java.nio.file.Path.of(info.get("passfile")), passHost,
                    info.getOrDefault("port", "5432"), info.getOrDefault("dbname", user(info)), user(info)).orElse(null);
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("cannot read passfile \"" + info.get("passfile") + "\": " + e.getMessage(), e);
        }
    }

    private static String host(ConnInfo info) {
        String hostaddr = info.get("hostaddr");
        if (hostaddr != null && !hostaddr.isEmpty()) {
            return hostaddr;
        }
        String host = info.getOrDefault("host", DEFAULT_SOCKET_DIR);
        int comma = host.indexOf(',');
        return comma >= 0 ? host.substring(0, comma) : host;
    }

    private static String user(ConnInfo info) {
        return info.getOrDefault("user", System.getProperty("user.name"));
    }

    private static boolean isSocketDir(String host) {
        return host.startsWith("/") || host.startsWith("@");
    }

    private static String bracketIpv6(String host) {
        return host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
    }

    private static String urlEncode(String s) {
        return java.net.URLEncoder.encode(s, java.nio.charset.StandardCharsets.UTF_8).replace("+", "%20");
    }

    private static void copy(ConnInfo info, String key, Properties p, String property) {
        String v = info.get(key);
        if (v != null && !v.isEmpty()) {
            p.setProperty(property, v);
        }
    }
}
