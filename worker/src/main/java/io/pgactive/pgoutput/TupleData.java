package io.pgactive.pgoutput;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * The column values of one row as pgoutput sends them (the protocol's TupleData).
 *
 * <p>This sits on the apply hot path, so it does not allocate an object per column: the decoder
 * copies the whole tuple region of the message into one array once, and three parallel arrays hold
 * each column's kind and where its bytes are. Text is turned into a {@code String} only when asked
 * for, because apply often binds only some columns (e.g. the key of a delete).
 *
 * <p>Instances are immutable: the arrays are never handed out, and {@link #bytes(int)} copies.
 */
public final class TupleData {

    /** How a column value is represented on the wire. */
    public enum Kind {
        /** 'n': the value is SQL NULL. */
        NULL('n'),
        /**
         * 'u': a TOASTed value the update did not change; pgoutput omits it to avoid re-sending
         * large values, so apply must keep the existing value of the column.
         */
        UNCHANGED_TOAST('u'),
        /** 't': the type's text output, in the client encoding of the replication connection. */
        TEXT('t'),
        /** 'b': the type's binary send format (only with the {@code binary} option). */
        BINARY('b');

        private final char wireCode;

        Kind(char wireCode) {
            this.wireCode = wireCode;
        }

        /** The marker byte that introduces such a value on the wire. */
        public char wireCode() {
            return wireCode;
        }
    }

    private static final TupleData EMPTY = new TupleData(new byte[0], new byte[0], new int[0], new int[0]);

    /** The wire marker byte of each column ('n', 'u', 't', 'b'). */
    private final byte[] kinds;
    /** Backing bytes; values of TEXT/BINARY columns are slices of it. */
    private final byte[] data;
    private final int[] offsets;
    private final int[] lengths;

    /** Takes ownership of the arrays: callers must not keep or change them. */
    TupleData(byte[] kinds, byte[] data, int[] offsets, int[] lengths) {
        this.kinds = kinds;
        this.data = data;
        this.offsets = offsets;
        this.lengths = lengths;
    }

    /** The columns at {@code columns}, in that order; the values are shared, not copied. */
    public TupleData project(int[] columns) {
        byte[] k = new byte[columns.length];
        int[] o = new int[columns.length];
        int[] l = new int[columns.length];
        for (int i = 0; i < columns.length; i++) {
            k[i] = kinds[columns[i]];
            o[i] = offsets[columns[i]];
            l[i] = lengths[columns[i]];
        }
        return new TupleData(k, data, o, l);
    }

    /** A tuple with no columns. */
    public static TupleData empty() {
        return EMPTY;
    }

    /** Builds tuples without going through the wire format, e.g. for tests of apply code. */
    public static Builder builder() {
        return new Builder();
    }

    /** Number of columns, which matches the column count of the Relation the tuple belongs to. */
    public int size() {
        return kinds.length;
    }

    public Kind kind(int column) {
        return switch (kinds[checkIndex(column)]) {
            case 'n' -> Kind.NULL;
            case 'u' -> Kind.UNCHANGED_TOAST;
            case 't' -> Kind.TEXT;
            case 'b' -> Kind.BINARY;
            default -> throw new IllegalStateException("corrupt kind byte " + kinds[column]);
        };
    }

    public boolean isNull(int column) {
        return kinds[checkIndex(column)] == 'n';
    }

    public boolean isUnchangedToast(int column) {
        return kinds[checkIndex(column)] == 'u';
    }

    public boolean isText(int column) {
        return kinds[checkIndex(column)] == 't';
    }

    public boolean isBinary(int column) {
        return kinds[checkIndex(column)] == 'b';
    }

    /**
     * The text form of a TEXT column, decoded as UTF-8 (pgjdbc always runs the replication
     * connection with {@code client_encoding=UTF8}, and the server converts to it).
     *
     * @throws IllegalStateException if the column is not of kind TEXT; asking for the text of a NULL
     *                               or unchanged value is an apply bug, not a null to pass along
     */
    public String text(int column) {
        if (kinds[checkIndex(column)] != 't') {
            throw new IllegalStateException("column " + column + " is " + kind(column) + ", not TEXT");
        }
        return new String(data, offsets[column], lengths[column], StandardCharsets.UTF_8);
    }

    /** The text of a TEXT column, or null for a NULL column; other kinds are refused as by {@link #text}. */
    public String textOrNull(int column) {
        return isNull(column) ? null : text(column);
    }

    /**
     * A copy of the raw bytes of a TEXT or BINARY column.
     *
     * @throws IllegalStateException for NULL and UNCHANGED_TOAST columns, which carry no bytes
     */
    public byte[] bytes(int column) {
        byte kind = kinds[checkIndex(column)];
        if (kind != 't' && kind != 'b') {
            throw new IllegalStateException("column " + column + " is " + kind(column) + " and carries no bytes");
        }
        return Arrays.copyOfRange(data, offsets[column], offsets[column] + lengths[column]);
    }

    /**
     * The raw bytes of a TEXT or BINARY column, read-only and not copied: for writers that
     * re-encode values (COPY data) and need no string in between.
     *
     * @throws IllegalStateException for NULL and UNCHANGED_TOAST columns, which carry no bytes
     */
    public ByteBuffer view(int column) {
        byte kind = kinds[checkIndex(column)];
        if (kind != 't' && kind != 'b') {
            throw new IllegalStateException("column " + column + " is " + kind(column) + " and carries no bytes");
        }
        return ByteBuffer.wrap(data, offsets[column], lengths[column]).asReadOnlyBuffer();
    }

    /** Length in bytes of a TEXT or BINARY value, 0 for the other kinds. */
    public int byteLength(int column) {
        checkIndex(column);
        return lengths[column];
    }

    /** Whether any column is UNCHANGED_TOAST, i.e. whether apply must merge with the stored row. */
    public boolean hasUnchangedToast() {
        for (byte kind : kinds) {
            if (kind == 'u') {
                return true;
            }
        }
        return false;
    }

    private int checkIndex(int column) {
        return Objects.checkIndex(column, kinds.length);
    }

    /** Equal when both have the same kinds and the same bytes per column, regardless of layout. */
    @Override
    public boolean equals(Object other) {
        if (this == other) {
            return true;
        }
        if (!(other instanceof TupleData that) || !Arrays.equals(kinds, that.kinds)) {
            return false;
        }
        for (int i = 0; i < kinds.length; i++) {
            if (!Arrays.equals(data, offsets[i], offsets[i] + lengths[i],
                    that.data, that.offsets[i], that.offsets[i] + that.lengths[i])) {
                return false;
            }
        }
        return true;
    }

    @Override
    public int hashCode() {
        int hash = Arrays.hashCode(kinds);
        for (int i = 0; i < kinds.length; i++) {
            for (int j = offsets[i], end = offsets[i] + lengths[i]; j < end; j++) {
                hash = 31 * hash + data[j];
            }
        }
        return hash;
    }

    /** Lists the values, abbreviating long ones so that a 100 kB TOAST value does not flood a log. */
    @Override
    public String toString() {
        StringBuilder out = new StringBuilder("TupleData[");
        for (int i = 0; i < kinds.length; i++) {
            if (i > 0) {
                out.append(", ");
            }
            switch (kinds[i]) {
                case 'n' -> out.append("NULL");
                case 'u' -> out.append("UNCHANGED_TOAST");
                case 'b' -> out.append("<").append(lengths[i]).append(" bytes>");
                default -> {
                    String text = text(i);
                    if (text.length() > 60) {
                        text = text.substring(0, 60) + "...(" + lengths[i] + " bytes)";
                    }
                    out.append('\'').append(text).append('\'');
                }
            }
        }
        return out.append(']').toString();
    }

    /** Accumulates columns in order; not thread-safe. */
    public static final class Builder {

        private final ByteArrayOutputStream data = new ByteArrayOutputStream();
        private byte[] kinds = new byte[8];
        private int[] offsets = new int[8];
        private int[] lengths = new int[8];
        private int size;

        private Builder() {
        }

        public Builder addNull() {
            return add('n', null);
        }

        public Builder addUnchangedToast() {
            return add('u', null);
        }

        public Builder addText(String text) {
            return add('t', text.getBytes(StandardCharsets.UTF_8));
        }

        /** Adds a TEXT value, or NULL when {@code text} is null. */
        public Builder addTextOrNull(String text) {
            return text == null ? addNull() : addText(text);
        }

        public Builder addBinary(byte[] value) {
            return add('b', value.clone());
        }

        private Builder add(char kind, byte[] value) {
            if (size == kinds.length) {
                kinds = Arrays.copyOf(kinds, size * 2);
                offsets = Arrays.copyOf(offsets, size * 2);
                lengths = Arrays.copyOf(lengths, size * 2);
            }
            kinds[size] = (byte) kind;
            offsets[size] = data.size();
            lengths[size] = value == null ? 0 : value.length;
            if (value != null) {
                data.writeBytes(value);
            }
            size++;
            return this;
        }

        public TupleData build() {
            return new TupleData(Arrays.copyOf(kinds, size), data.toByteArray(),
                    Arrays.copyOf(offsets, size), Arrays.copyOf(lengths, size));
        }
    }
}
