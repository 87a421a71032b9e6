package io.pgactive.bench;

import io.pgactive.pgoutput.PgOutputDecoder;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Throughput of the pgoutput decoder alone, over messages captured from a real server (the
 * decoder's test fixtures), so that decoder regressions show without a cluster.
 *
 * <p>Usage: {@code DecoderBench <fixture directory> [seconds]}. Prints messages and megabytes
 * decoded per second, best of five rounds after a warm-up.
 */
public final class DecoderBench {

    private DecoderBench() {
    }

    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args.length > 0 ? args[0] : "worker/src/test/resources/pgoutput");
        double seconds = args.length > 1 ? Double.parseDouble(args[1]) : 2.0;
        List<byte[]> messages = load(dir);
        long bytes = messages.stream().mapToLong(m -> m.length).sum();
        PgOutputDecoder decoder = new PgOutputDecoder();

        round(decoder, messages, seconds); // warm-up: let the JIT compile the decoder
        double bestRate = 0;
        for (int i = 0; i < 5; i++) {
            bestRate = Math.max(bestRate, round(decoder, messages, seconds));
        }
        double mbPerSecond = bestRate * bytes / messages.size() / (1024 * 1024);
        System.out.printf("decoder: %d captured messages (%d bytes) from %s%n", messages.size(), bytes, dir);
        System.out.printf("decoder: %,.0f messages/s, %,.1f MB/s (best of 5 rounds of %.1f s)%n",
                bestRate, mbPerSecond, seconds);
    }

    /** Decodes the messages over and over for about {@code seconds}; returns messages per second. */
    private static double round(PgOutputDecoder decoder, List<byte[]> messages, double seconds) {
        long deadline = System.nanoTime() + (long) (seconds * 1e9);
        long start = System.nanoTime();
        long decoded = 0;
        int sink = 0;
        while (System.nanoTime() < deadline) {
            for (byte[] m : messages) {
                sink += decoder.decode(ByteBuffer.wrap(m)).hashCode() & 1;
                decoded++;
            }
        }
        if (sink == -1) {
            System.out.println(); // keeps the results observable, so the JIT cannot drop the work
        }
        return decoded / ((System.nanoTime() - start) / 1e9);
    }

    /** Fixture files are a sequence of [int32 length][payload] records. */
    private static List<byte[]> load(Path dir) throws IOException {
        List<byte[]> messages = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            // Protocol version 1 fixtures: the streamed one's messages depend on the segments around
            // them, and would change what the figures have measured since the first run.
            for (Path f : files.filter(p -> p.toString().endsWith(".bin") && !p.endsWith("streamed.bin"))
                    .sorted().toList()) {
                try (InputStream in = Files.newInputStream(f); DataInputStream data = new DataInputStream(in)) {
                    while (true) {
                        int length;
                        try {
                            length = data.readInt();
                        } catch (EOFException end) {
                            break;
                        }
                        byte[] payload = new byte[length];
                        data.readFully(payload);
                        messages.add(payload);
                    }
                }
            }
        }
        if (messages.isEmpty()) {
            throw new IOException("no captured messages (*.bin) in " + dir);
        }
        return messages;
    }
}
