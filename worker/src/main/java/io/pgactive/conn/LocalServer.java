package io.pgactive.conn;

import java.sql.Connection;
import java.sql.SQLException;

/**
 * The PostgreSQL instance this worker belongs to. Under the launcher, connections use the Unix
 * socket as the server's own OS user, which works on a stock installation (peer authentication)
 * without passwords; where pg_hba.conf asks for a password, it comes from the password file
 * {@code pgactive.local_passfile} names. Standalone, they use the DSN given on the command line.
 */
public final class LocalServer {

    private final ConnInfo base;

    public LocalServer(ConnInfo base) {
        this.base = base;
    }

    /** The server a launcher describes: its socket directory (or loopback TCP), port, OS user, passfile. */
    public static LocalServer ofLauncher(String socketDir, int port, String user, String passfile) {
        String host = socketDir == null || socketDir.isEmpty() ? "127.0.0.1" : socketDir;
        ConnInfo info = ConnInfo.parse("").with("host", host).with("port", String.valueOf(port)).with("user", user);
        return new LocalServer(passfile == null ? info : info.with("passfile", passfile));
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
