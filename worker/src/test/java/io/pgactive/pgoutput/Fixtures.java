package io.pgactive.pgoutput;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/** Reads the {@code [int32 length][payload]} fixture files written by {@link CaptureFixtures}. */
final class Fixtures {

    private Fixtures() {
    }

    /** The payloads of {@code /pgoutput/<name>.bin}, in stream order. */
    static List<byte[]> payloads(String name) {
        String resource = "/pgoutput/" + name + ".bin";
        try (InputStream raw = Fixtures.class.getResourceAsStream(resource)) {
            if (raw == null) {
                throw new IllegalStateException("missing test resource " + resource);
            }
            DataInputStream in = new DataInputStream(raw);
            List<byte[]> payloads = new ArrayList<>();
            while (true) {
                int length;
                try {
                    length = in.readInt();
                } catch (EOFException end) {
                    return payloads;
                }
                byte[] payload = new byte[length];
                in.readFully(payload);
                payloads.add(payload);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The decoded messages of a fixture. */
    static List<PgOutputMessage> messages(String name) {
        PgOutputDecoder decoder = new PgOutputDecoder();
        List<PgOutputMessage> messages = new ArrayList<>();
        for (byte[] payload : payloads(name)) {
            messages.add(decoder.decode(payload));
        }
        return messages;
    }

    /** Prints the decoded fixtures named on the command line, to read them while writing tests. */
    public static void main(String[] args) {
        for (String name : args) {
            System.out.println("== " + name);
            List<PgOutputMessage> messages = messages(name);
            for (int i = 0; i < messages.size(); i++) {
                System.out.println(i + ": " + messages.get(i));
            }
        }
    }
}
