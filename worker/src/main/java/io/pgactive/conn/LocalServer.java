package io.pgactive.conn;

import java.sql.Connection;
import java.sql.SQLException;

/**
 * The PostgreSQL instance this worker belongs to. Under the launcher, connections use the Unix
 * socket and peer authentication as the server's own OS user, which works on a stock installation
 * without passwords; standalone, they use the DSN given on the command line.
 */
public final class LocalServer {

    private final ConnInfo base;

    public LocalServer(ConnInfo base) {
        this.base = base;
    }

    /** The server a launcher describes: its socket directory (or loopback TCP), port and OS user. */
    public static LocalServer ofLauncher(String socketDir, int port, String user) {
        String host = socketDir == null || socketDir.isEmpty() ? "127.0.0.1" : socketDir;
        return new LocalServer(ConnInfo.parse("")
                .with("host", host).with("port", String.valueOf(port)).with("user", user));
    }

    public ConnInfo connInfo(String dbname) {
        return base.with("dbname", dbname);
    }

    public Connection connect(String dbname, String applicationName) throws SQLException {
        return Connector.connect(connInfo(dbname), applicationName);
    }

    @Override
    public String toString() {
        return "local server (" + base + ")";
    }
}
