package io.pgactive.conn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import org.junit.jupiter.api.Test;

/** The sockets of the worker's TCP connections, over a real loopback connection. */
class ProbeFriendlySocketTest {

    @Test
    void probeWithNothingToReadFailsWithoutStackTraceAndDataIsReadAfterwards() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             Socket client = new TcpKeepAliveSocketFactory("20,20,5")
                     .createSocket(InetAddress.getLoopbackAddress(), server.getLocalPort());
             Socket peer = server.accept()) {
            InputStream in = client.getInputStream();
            client.setSoTimeout(ProbeFriendlySocket.PROBE_TIMEOUT_MILLIS);
            SocketTimeoutException nothing = assertThrows(SocketTimeoutException.class, () -> in.read(new byte[1]));
            assertEquals(0, nothing.getStackTrace().length, "the probe's answer must cost no stack trace");

            peer.getOutputStream().write(42);
            peer.getOutputStream().flush();
            long deadline = System.nanoTime() + 10_000_000_000L;
            int read = -2;
            while (read == -2 && System.nanoTime() < deadline) {
                try {
                    read = in.read();
                } catch (SocketTimeoutException notArrivedYet) {
                    Thread.onSpinWait();
                }
            }
            assertEquals(42, read, "a byte that arrived is read through the probe");

            client.setSoTimeout(0);
            peer.getOutputStream().write(7);
            assertEquals(7, in.read(), "a blocking read is the JDK's own");
        }
    }

    @Test
    void otherTimeoutsWaitAsTheJdkDoes() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             Socket client = new TcpKeepAliveSocketFactory("20,20,5")
                     .createSocket(InetAddress.getLoopbackAddress(), server.getLocalPort());
             Socket peer = server.accept()) {
            client.setSoTimeout(20);
            SocketTimeoutException timeout = assertThrows(SocketTimeoutException.class,
                    () -> client.getInputStream().read());
            assertTrue(timeout.getStackTrace().length > 0, "a real timeout keeps its stack trace");
            assertTrue(peer.isConnected());
        }
    }
}
