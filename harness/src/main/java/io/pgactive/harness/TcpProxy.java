package io.pgactive.harness;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A loopback TCP proxy in front of a PostgreSQL server, for tests that need to act on network
 * links: it listens on a free 127.0.0.1 port and forwards every connection to
 * {@code 127.0.0.1:<targetPort>}, one thread per direction.
 *
 * <pre>{@code
 * try (TcpProxy proxy = TcpProxy.start(node3.port())) {
 *     String dsn = "host=127.0.0.1 port=" + proxy.port() + " dbname=app user=postgres";
 *     ...
 *     proxy.cut();            // closes every open connection; new ones are closed as soon as accepted
 *     proxy.restore();        // forwards new connections again
 *     proxy.hold(sysid);      // the server's answers to that node's connections wait...
 *     proxy.release(sysid);   // ...until released
 * }
 * }</pre>
 *
 * <p>A cut closes both ends of every connection, as a peer seeing its link reset would; while cut,
 * connection attempts are accepted and closed at once, so clients fail fast instead of hanging.
 *
 * <p>The proxy reads each connection's startup packet and tells pgactive's connections apart by
 * their {@code application_name} ({@code pgactive:<sysid>:<role>}): holding a receiver (a node's
 * sysid) keeps everything the server sends on that node's connections (a walsender's stream, a
 * query's answer) from reaching it, while the connections stay open, until it is released.
 */
public final class TcpProxy implements AutoCloseable {

    private static final int SSL_REQUEST = 80877103;
    private static final int GSSENC_REQUEST = 80877104;

    private final int targetPort;
    private final ServerSocket server;
    private final Thread acceptor;
    /** Receivers (sysids) held back; guarded by this. */
    private final Set<String> held = new HashSet<>();
    private final Set<Conn> open = ConcurrentHashMap.newKeySet();
    private volatile boolean cut;
    private volatile boolean closed;

    /** One proxied connection; {@code receiver} is a sysid, or "" for other clients. */
    private static final class Conn {
        final String receiver;
        final Socket client;
        final Socket upstream;
        /** Guarded by this Conn: checked and honoured under the same lock as each write to the client. */
        private boolean held;
        private boolean gone;

        Conn(String receiver, Socket client, Socket upstream, boolean held) {
            this.receiver = receiver;
            this.client = client;
            this.upstream = upstream;
            this.held = held;
        }

        synchronized void setHeld(boolean held) {
            this.held = held;
            notifyAll();
        }

        /** Writes to the client once not held; false if the connection went away meanwhile. */
        synchronized boolean writeToClient(OutputStream out, byte[] buffer, int n) throws IOException {
            while (held && !gone) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
            if (gone) {
                return false;
            }
            out.write(buffer, 0, n);
            out.flush();
            return true;
        }

        void close() {
            closeQuietly(client); // first: unblocks a write in progress, which holds the lock
            closeQuietly(upstream);
            synchronized (this) {
                gone = true;
                notifyAll();
            }
        }
    }

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
        open.forEach(Conn::close);
    }

    /** Forwards new connections again. */
    public void restore() {
        cut = false;
    }

    public boolean isCut() {
        return cut;
    }

    /** Number of open connections. */
    public int openConnections() {
        return open.size();
    }

    /** Number of open connections of the node with this sysid. */
    public int openConnections(String receiverSysid) {
        return (int) open.stream().filter(c -> c.receiver.equals(receiverSysid)).count();
    }

    /** Holds back what the server sends to the node with this sysid, now and on later connections. */
    public synchronized void hold(String receiverSysid) {
        setHeld(receiverSysid, true);
    }

    public synchronized void release(String receiverSysid) {
        setHeld(receiverSysid, false);
    }

    public synchronized void releaseAll() {
        for (String receiver : Set.copyOf(held)) {
            release(receiver);
        }
    }

    private void setHeld(String receiverSysid, boolean hold) {
        if (hold) {
            held.add(receiverSysid);
        } else {
            held.remove(receiverSysid);
        }
        for (Conn c : open) {
            if (c.receiver.equals(receiverSysid)) {
                c.setHeld(hold);
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        closeQuietly(server);
        open.forEach(Conn::close);
        open.clear();
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket client = server.accept();
                if (cut) {
                    closeQuietly(client);
                    continue;
                }
                Thread t = new Thread(() -> handle(client), acceptor.getName() + " handshake");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                if (!closed) {
                    System.out.println("[tcp-proxy] accept failed: " + e);
                }
                return;
            }
        }
    }

    /** Forwards the startup packet (and an SSL or GSS request before it), then both directions. */
    private void handle(Socket client) {
        Socket upstream = new Socket();
        try {
            upstream.connect(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), targetPort), 10_000);
            client.setTcpNoDelay(true);
            upstream.setTcpNoDelay(true);
            DataInputStream fromClient = new DataInputStream(client.getInputStream()); // unbuffered
            InputStream fromServer = upstream.getInputStream();
            OutputStream toServer = upstream.getOutputStream();
            OutputStream toClient = client.getOutputStream();
            String receiver = "";
            while (true) {
                int length = fromClient.readInt();
                if (length < 8 || length > 100_000) {
                    throw new IOException("unexpected startup packet length " + length);
                }
                byte[] body = new byte[length - 4];
                fromClient.readFully(body);
                int code = ByteBuffer.wrap(body).getInt();
                toServer.write(ByteBuffer.allocate(length).putInt(length).put(body).array());
                toServer.flush();
                if (code == SSL_REQUEST || code == GSSENC_REQUEST) {
                    int answer = fromServer.read();
                    if (answer < 0) {
                        throw new EOFException("server closed during the handshake");
                    }
                    toClient.write(answer);
                    toClient.flush();
                    if (answer == 'N') {
                        continue; // the startup packet follows, in the clear
                    }
                    break; // encrypted from here on: cannot tell whose connection it is
                }
                receiver = receiverOf(body);
                break;
            }
            Conn conn;
            synchronized (this) {
                conn = new Conn(receiver, client, upstream, held.contains(receiver));
                open.add(conn);
            }
            if (cut || closed) { // cut() or close() ran while this connection was being set up
                conn.close();
                open.remove(conn);
                return;
            }
            pump(conn, fromClient, toServer, false);
            pump(conn, fromServer, toClient, true);
        } catch (IOException e) {
            closeQuietly(client); // e.g. the target is down: the client sees what it would see directly
            closeQuietly(upstream);
        }
    }

    /** The sysid in {@code application_name = pgactive:<sysid>:<role>}, or "". */
    private static String receiverOf(byte[] startupBody) {
        List<String> strings = new ArrayList<>();
        int i = 4; // after the protocol version
        while (i < startupBody.length) {
            int end = i;
            while (end < startupBody.length && startupBody[end] != 0) {
                end++;
            }
            if (end == i) {
                break; // the terminating empty name
            }
            strings.add(new String(startupBody, i, end - i, StandardCharsets.UTF_8));
            i = end + 1;
        }
        for (int p = 0; p + 1 < strings.size(); p += 2) {
            if (strings.get(p).equals("application_name")) {
                String[] parts = strings.get(p + 1).split(":");
                return parts.length == 3 && parts[0].equals("pgactive") ? parts[1] : "";
            }
        }
        return "";
    }

    /** Copies one direction until either side closes, then closes the connection. */
    private void pump(Conn conn, InputStream in, OutputStream out, boolean toClient) {
        Thread t = new Thread(() -> {
            byte[] buffer = new byte[16 * 1024];
            try {
                int n;
                while ((n = in.read(buffer)) >= 0) {
                    if (toClient) {
                        if (!conn.writeToClient(out, buffer, n)) {
                            break;
                        }
                    } else {
                        out.write(buffer, 0, n);
                        out.flush();
                    }
                }
            } catch (IOException ignored) {
                // a cut, or one side went away
            } finally {
                conn.close();
                open.remove(conn);
            }
        }, acceptor.getName() + (toClient ? " to client" : " to server"));
        t.setDaemon(true);
        t.start();
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
