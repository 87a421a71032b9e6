package io.pgactive.catalog;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Slot and replication-origin names, as upstream pgactive spells them, so that a DBA's queries on
 * pg_replication_slots and pg_replication_origin read the same.
 */
public final class Names {

    private static final Pattern ORIGIN = Pattern.compile("pgactive_(\\d+)_(\\d+)_(\\d+)_(\\d+)_");

    /** The publication of pgactive's own tables, which every node streams. */
    public static final String PUBLICATION = "pgactive";
    /** Our output plugin: pgoutput plus an origin filter (launcher/pgactive_output.c). */
    public static final String OUTPUT_PLUGIN = "pgactive";
    /** The built-in plugin, for servers whose output_plugin_libraries does not list ours. */
    public static final String BUILTIN_OUTPUT_PLUGIN = "pgoutput";

    /** Prefix of pgactive's logical messages (control records in the change stream). */
    public static final String MESSAGE_PREFIX = "pgactive";
    /** A control message's content that is a heartbeat, followed by its time (microseconds since 2000). */
    public static final String HEARTBEAT = "heartbeat ";

    private Names() {
    }

    /**
     * The publications a node streams through its slot {@code slot}: pgactive's own tables, and
     * the tables of its replication sets, one publication per kind of change (inserts, updates,
     * deletes and truncates), named after the slot (sql/: pgactive._receiver_publication).
     */
    public static String publicationsOf(String slot) {
        return PUBLICATION + "," + slot + "i," + slot + "u," + slot + "d";
    }

    /** Slot on {@code upstream} from which {@code downstream} streams. */
    public static String slot(NodeIdentity upstream, NodeIdentity downstream) {
        return "pgactive_" + upstream.dboid() + "_" + downstream.sysid() + "_" + downstream.timeline() + "_"
                + downstream.dboid() + "__";
    }

    /**
     * Replication origin, on node {@code self}, for changes that originated on {@code upstream}.
     * Origins belong to the whole instance, so the name holds this database's oid as well, as
     * upstream pgactive's does: two databases of one instance can each apply from one upstream.
     */
    public static String origin(NodeIdentity upstream, NodeIdentity self) {
        return "pgactive_" + upstream.sysid() + "_" + upstream.timeline() + "_" + upstream.dboid() + "_" + self.dboid() + "_";
    }

    /** The node an origin name stands for, if it is one of ours. */
    public static Optional<NodeIdentity> originNode(String originName) {
        Matcher m = ORIGIN.matcher(originName);
        if (!m.matches()) {
            return Optional.empty();
        }
        return Optional.of(new NodeIdentity(m.group(1), Long.parseLong(m.group(2)), Long.parseLong(m.group(3))));
    }

    public static String applicationName(NodeIdentity self, String role) {
        return "pgactive:" + self.sysid() + ":" + role;
    }
}
