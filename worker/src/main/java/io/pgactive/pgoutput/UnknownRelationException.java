package io.pgactive.pgoutput;

/**
 * A change referred to a relation oid for which no Relation message has been seen on this stream.
 *
 * <p>pgoutput always sends a Relation message before the first change of a relation in a walsender
 * session, so this means the cache was created after the stream started or was fed only part of it.
 */
public final class UnknownRelationException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final int relationOid;

    public UnknownRelationException(int relationOid) {
        super("no Relation message seen for relation oid " + Integer.toUnsignedString(relationOid)
                + " on this replication stream");
        this.relationOid = relationOid;
    }

    public int relationOid() {
        return relationOid;
    }
}
