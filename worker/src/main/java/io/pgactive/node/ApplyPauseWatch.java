package io.pgactive.node;

import io.pgactive.catalog.LocalState;
import java.sql.SQLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether the user has paused apply on a node, as the node manager last saw it. The manager looks
 * once a second; only a change is logged, so the log says when apply paused and resumed.
 */
final class ApplyPauseWatch {

    private static final Logger log = LoggerFactory.getLogger(ApplyPauseWatch.class);

    private boolean paused;

    boolean paused(LocalState state, String nodeName) throws SQLException {
        boolean now = state.applyPaused();
        if (now != paused) {
            if (now) {
                log.info("apply paused on node \"{}\": its links from the other nodes stop until"
                        + " pgactive_apply_resume() or a server restart", nodeName);
            } else {
                log.info("apply resumed on node \"{}\"", nodeName);
            }
            paused = now;
        }
        return now;
    }
}
