package io.pgactive.cli;

import io.pgactive.conn.ConnInfo;
import io.pgactive.conn.LocalServer;
import java.util.List;

/**
 * Command line of the worker. The launcher passes {@code --socket-dir/--port/--user}; a person
 * debugging runs it standalone with {@code --dsn} for a single database.
 */
record WorkerOptions(String socketDir, int port, String user, String passfile, String dsn, String binDir,
                     String metrics) {

    static final String USAGE = String.join("\n",
            "usage: java -jar pgactive-worker.jar --socket-dir DIR --port PORT --user USER [--passfile FILE]",
            "                                     [--data-dir DIR] [--bin-dir DIR]",
            "       java -jar pgactive-worker.jar --dsn 'host=... dbname=...' [--bin-dir DIR]",
            "  --metrics ADDRESS:PORT: serve Prometheus metrics there (pgactive.metrics_port)",
            "  --bin-dir: where pg_dump and pg_restore are (default /usr/lib/postgresql/15/bin)",
            "  --passfile: a libpq password file for connections to the local server",
            "  The first form is how the pgactive launcher starts the worker for a whole instance;",
            "  the second runs the node of one database in the foreground, for debugging.");

    static WorkerOptions parse(String[] args) {
        String socketDir = null;
        Integer port = null;
        String user = null;
        String passfile = null;
        String dsn = null;
        String binDir = "/usr/lib/postgresql/15/bin";
        String metrics = null;
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (arg.equals("--help") || arg.equals("-h")) {
                throw new IllegalArgumentException(USAGE);
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException("missing value after " + arg + "\n" + USAGE);
            }
            String value = args[++i];
            switch (arg) {
                case "--socket-dir" -> socketDir = value;
                case "--port" -> port = parsePort(value);
                case "--user" -> user = value;
                case "--passfile" -> passfile = value;
                case "--data-dir" -> { } // for ps listings: shows which instance a worker serves
                case "--dsn" -> dsn = value;
                case "--bin-dir" -> binDir = value;
                case "--metrics" -> metrics = value;
                default -> throw new IllegalArgumentException("unknown option " + arg + "\n" + USAGE);
            }
        }
        if (dsn == null && (port == null || user == null)) {
            throw new IllegalArgumentException("give either --dsn or --port and --user\n" + USAGE);
        }
        return new WorkerOptions(socketDir, port == null ? 0 : port, user, passfile, dsn, binDir, metrics);
    }

    private static int parsePort(String value) {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("invalid --port \"" + value + "\"");
        }
    }

    /** Under the launcher the worker serves every database and its stdin is the launcher's pipe. */
    boolean underLauncher() {
        return dsn == null;
    }

    LocalServer localServer() {
        return underLauncher() ? LocalServer.ofLauncher(socketDir, port, user, passfile) : new LocalServer(ConnInfo.parse(dsn));
    }

    List<String> onlyDatabases() {
        if (underLauncher()) {
            return List.of();
        }
        ConnInfo info = ConnInfo.parse(dsn);
        return List.of(info.getOrDefault("dbname", info.getOrDefault("user", System.getProperty("user.name"))));
    }
}
