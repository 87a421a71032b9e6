package io.pgactive.harness;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A loopback TCP proxy that can cut a network link: it listens on a free 127.0.0.1 port and
 * forwards every connection to {@code 127.0.0.1:<targetPort>}, one thread per direction.
 *
 * <pre>{@code
 * try (TcpProxy proxy = TcpProxy.start(node3.port())) {
 *     String dsn = "host=127.0.0.1 port=" + proxy.port() + " dbname=app user=postgres";
 *     ...
 *     proxy.cut();     // closes every open connection; new ones are closed as soon as accepted
 *     proxy.restore(); // forwards new connections again
 * }
 * }</pre>
 *
 * <p>A cut closes both ends of every connection, as a peer seeing its link reset would; while cut,
 * connection attempts are accepted and closed at once, so clients fail fast instead of hanging.
 */
public final class TcpProxy implements AutoCloseable {

    private final int targetPort;
    private final ServerSocket server;
    private final Thread acceptor;
    /** Both sockets of every open connection, so a cut can close them. */
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private volatile boolean cut;
    private volatile boolean closed;

    private TcpProxy(int targetPort, ServerSocket server) {
        this.targetPort = targetPort;
        this.server = server;
        this.acceptor = new Thread(this::acceptLoop, "tcp-proxy :" + server.getLocalPort() + " -> :" + targetPort);
        this.acceptor.setDaemon(true);
    }

    /** A running proxy to {@code 127.0.0.1:targetPort}. */
    public static TcpProxy start(int targetPort) {
        try {
            ServerSocket server = new ServerSocket();
            server.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0));
            TcpProxy proxy = new TcpProxy(targetPort, server);
            proxy.acceptor.start();
            return proxy;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start a TCP proxy to port " + targetPort, e);
        }
    }

    /** The port clients connect to. */
    public int port() {
        return server.getLocalPort();
    }

    /** Closes every current connection and refuses new ones until {@link #restore()}. */
    public void cut() {
        cut = true;
        closeAll();
    }

    /** Forwards new connections again. */
    public void restore() {
        cut = false;
    }

    public boolean isCut() {
        return cut;
    }

    /** Number of open connections (both directions of one connection count once). */
    public int openConnections() {
        return open.size() / 2;
    }

    @Override
    public void close() {
        closed = true;
        closeQuietly(server);
        closeAll();
    }

    private void acceptLoop() {
        while (!closed) {
            Socket client;
            try {
                client = server.accept();
            } catch (IOException e) {
                if (!closed) {
                    System.out.println("[tcp-proxy] accept failed: " + e);
                }
                return;
            }
            if (cut) {
                closeQuietly(client);
                continue;
            }
            Socket upstream;
            try {
                upstream = new Socket();
                upstream.connect(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), targetPort), 10_000);
            } catch (IOException e) {
                closeQuietly(client); // the target is down: the client sees what it would see directly
                continue;
            }
            open.add(client);
            open.add(upstream);
            if (cut) { // cut() ran while this connection was being set up
                closeQuietly(client);
                closeQuietly(upstream);
                open.remove(client);
                open.remove(upstream);
                continue;
            }
            pump(client, upstream);
            pump(upstream, client);
        }
    }

    /** Copies {@code from} to {@code to} until either side closes, then closes both. */
    private void pump(Socket from, Socket to) {
        Thread t = new Thread(() -> {
            byte[] buffer = new byte[16 * 1024];
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                int n;
                while ((n = in.read(buffer)) >= 0) {
                    out.write(buffer, 0, n);
                    out.flush();
                }
            } catch (IOException ignored) {
                // a cut, or one side went away
            } finally {
                closeQuietly(from);
                closeQuietly(to);
                open.remove(from);
                open.remove(to);
            }
        }, "tcp-proxy :" + from.getLocalPort() + " -> :" + to.getPort());
        t.setDaemon(true);
        t.start();
    }

    private void closeAll() {
        for (Socket s : Set.copyOf(open)) {
            closeQuietly(s);
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception ignored) {
            // already closed
        }
    }

    @Override
    public String toString() {
        return "TcpProxy[:" + port() + " -> :" + targetPort + (cut ? ", cut" : "") + "]";
    }
}
