package io.pgactive.conn;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import javax.net.SocketFactory;
import jdk.net.ExtendedSocketOptions;

/**
 * TCP sockets with libpq's {@code keepalives_idle/interval/count} applied. A peer that vanishes
 * without closing its connection (a network partition) would otherwise leave a link waiting
 * for hours on the kernel's defaults; with upstream pgactive's defaults (20 s idle, probes every
 * 20 s, 5 probes) the link notices within two minutes and reconnects. pgjdbc creates it through
 * its {@code socketFactory}/{@code socketFactoryArg} properties, the argument being
 * {@code "idle,interval,count"} in seconds. The sockets are {@link ProbeFriendlySocket}s.
 */
public final class TcpKeepAliveSocketFactory extends SocketFactory {

    private final int idle;
    private final int interval;
    private final int count;

    public TcpKeepAliveSocketFactory(String arg) {
        String[] parts = arg.split(",");
        if (parts.length != 3) {
            throw new IllegalArgumentException("keepalive settings must be \"idle,interval,count\", not \"" + arg + "\"");
        }
        this.idle = Integer.parseInt(parts[0].strip());
        this.interval = Integer.parseInt(parts[1].strip());
        this.count = Integer.parseInt(parts[2].strip());
    }

    static String argument(String idle, String interval, String count) {
        return idle + "," + interval + "," + count;
    }

    @Override
    public Socket createSocket() throws IOException {
        Socket socket = new ProbeFriendlySocket();
        socket.setKeepAlive(true);
        socket.setOption(ExtendedSocketOptions.TCP_KEEPIDLE, idle);
        socket.setOption(ExtendedSocketOptions.TCP_KEEPINTERVAL, interval);
        socket.setOption(ExtendedSocketOptions.TCP_KEEPCOUNT, count);
        return socket;
    }

    @Override
    public Socket createSocket(String host, int port) throws IOException {
        Socket socket = createSocket();
        socket.connect(new java.net.InetSocketAddress(host, port));
        return socket;
    }

    @Override
    public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
        Socket socket = createSocket();
        socket.bind(new java.net.InetSocketAddress(localHost, localPort));
        socket.connect(new java.net.InetSocketAddress(host, port));
        return socket;
    }

    @Override
    public Socket createSocket(InetAddress host, int port) throws IOException {
        Socket socket = createSocket();
        socket.connect(new java.net.InetSocketAddress(host, port));
        return socket;
    }

    @Override
    public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort)
            throws IOException {
        Socket socket = createSocket();
        socket.bind(new java.net.InetSocketAddress(localAddress, localPort));
        socket.connect(new java.net.InetSocketAddress(address, port));
        return socket;
    }
}
