package io.pgactive.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Our stdin is a pipe from the launcher. A "wake" line relays a wake-up from the SQL API; end of
 * file means the launcher (and so probably the postmaster) is gone, and a worker without a server
 * must not linger holding connections and slots.
 */
final class LauncherPipe implements Runnable {

    private static final Logger log = LoggerFactory.getLogger(LauncherPipe.class);

    private final Runnable onWake;
    private final Runnable onClose;

    LauncherPipe(Runnable onWake, Runnable onClose) {
        this.onWake = onWake;
        this.onClose = onClose;
    }

    void start() {
        Thread t = new Thread(this, "launcher pipe");
        t.setDaemon(true);
        t.start();
    }

    @Override
    public void run() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                if (line.strip().equals("wake")) {
                    onWake.run();
                }
            }
        } catch (IOException e) {
            log.warn("reading from the launcher failed: {}", e.getMessage());
        }
        log.info("the pgactive launcher has gone away; worker exits");
        onClose.run();
    }
}
