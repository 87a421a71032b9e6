package io.pgactive.apply;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The apply session's threading contract; the connection is an inert stand-in: no SQL runs here. */
class ApplySessionTest {

    private static Connection inertConnection() {
        return (Connection) Proxy.newProxyInstance(Connection.class.getClassLoader(), new Class<?>[] {Connection.class},
                (proxy, method, args) -> method.getReturnType() == boolean.class ? false : null);
    }

    @Test
    void theOwnerUsesTheConnectionAndOtherThreadsMayNot() throws Exception {
        Connection conn = inertConnection();
        ApplySession session = new ApplySession(conn);
        assertSame(conn, session.connection());
        ExecutionException misuse = assertThrows(ExecutionException.class,
                () -> CompletableFuture.runAsync(session::connection).get(10, TimeUnit.SECONDS));
        assertTrue(misuse.getCause() instanceof IllegalStateException, misuse.toString());
        session.close();
    }

    @Test
    void theSenderHoldsTheConnectionUntilItsWorkIsAwaited() throws Exception {
        ApplySession session = new ApplySession(inertConnection());
        CountDownLatch working = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Future<String> sent = session.submit(() -> {
            session.connection(); // the sender's now
            working.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return "done";
        });
        assertTrue(working.await(10, TimeUnit.SECONDS));
        IllegalStateException early = assertThrows(IllegalStateException.class, session::connection);
        assertTrue(early.getMessage().contains("sender"), early.getMessage());
        release.countDown();
        assertEquals("done", ApplySession.await(sent));
        session.connection(); // back with the owner
        session.close();
    }
}
