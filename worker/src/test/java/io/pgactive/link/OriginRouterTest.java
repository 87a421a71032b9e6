package io.pgactive.link;

import io.pgactive.pg.Lsn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import io.pgactive.catalog.Names;
import io.pgactive.catalog.NodeIdentity;
import io.pgactive.pgoutput.PgOutputMessage.Origin;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class OriginRouterTest {

    private static final NodeIdentity SELF = new NodeIdentity("111", 1, 5);
    private static final NodeIdentity UPSTREAM = new NodeIdentity("222", 1, 6);
    private static final NodeIdentity OTHER = new NodeIdentity("333", 1, 7);

    /** The local origins and their progress, as the database would have them. */
    private final Map<String, Lsn> database = new HashMap<>();

    private Lsn progress(String origin) {
        return database.getOrDefault(origin, Lsn.ZERO);
    }

    /** The upstream names the other node's origin with its own database oid. */
    private static Origin forwardedFromOther(long commitLsn) {
        return new Origin(new Lsn(commitLsn), Names.origin(OTHER, UPSTREAM));
    }

    @Test
    void theUpstreamsOwnTransactionsGoUnderItsOriginAtTheirCommitsEnd() throws Exception {
        OriginRouter router = new OriginRouter(SELF, UPSTREAM, false);
        OriginRouter.Apply apply = assertInstanceOf(OriginRouter.Apply.class, router.route(null, this::progress));
        assertEquals(Names.origin(UPSTREAM, SELF), apply.localOrigin());
        assertEquals(UPSTREAM, apply.originator());
        assertEquals(new Lsn(0x5000L), apply.originLsn(new Lsn(0x5000L)));
    }

    @Test
    void forwardedTransactionsAreSkippedOutsideCatchUp() throws Exception {
        OriginRouter router = new OriginRouter(SELF, UPSTREAM, false);
        assertEquals(OriginRouter.Skip.FORWARDED, router.route(forwardedFromOther(0x100), this::progress));
    }

    @Test
    void catchUpAppliesForwardedTransactionsUnderTheOriginatorsOriginHere() throws Exception {
        OriginRouter router = new OriginRouter(SELF, UPSTREAM, true);
        OriginRouter.Apply apply = assertInstanceOf(OriginRouter.Apply.class,
                router.route(forwardedFromOther(0x100), this::progress));
        assertEquals(Names.origin(OTHER, SELF), apply.localOrigin(), "this node's database oid, not the upstream's");
        assertEquals(OTHER, apply.originator());
        assertEquals(Optional.of(new Lsn(0x100)), apply.forwardedLsn());
        assertEquals(new Lsn(0x100), apply.originLsn(new Lsn(0x9999)), "the originator's position, not the upstream's");
    }

    @Test
    void catchUpSkipsWhatItsOriginHasAlreadyAppliedAndTracksCommits() throws Exception {
        database.put(Names.origin(OTHER, SELF), new Lsn(0x200L));
        OriginRouter router = new OriginRouter(SELF, UPSTREAM, true);
        assertEquals(OriginRouter.Skip.APPLIED_BEFORE, router.route(forwardedFromOther(0x200), this::progress));
        OriginRouter.Apply apply = assertInstanceOf(OriginRouter.Apply.class,
                router.route(forwardedFromOther(0x300), this::progress));
        router.committed(apply, apply.originLsn(Lsn.ZERO));
        assertEquals(OriginRouter.Skip.APPLIED_BEFORE, router.route(forwardedFromOther(0x300), this::progress));
    }

    @Test
    void positionsCompareUnsigned() throws Exception {
        database.put(Names.origin(OTHER, SELF), new Lsn(0x7FFF_FFFF_FFFF_FFFFL));
        OriginRouter router = new OriginRouter(SELF, UPSTREAM, true);
        assertInstanceOf(OriginRouter.Apply.class, router.route(forwardedFromOther(0x8000_0000_0000_0000L), this::progress));
    }

    @Test
    void originsOfOtherSoftwareAreNotFollowed() throws Exception {
        OriginRouter router = new OriginRouter(SELF, UPSTREAM, true);
        assertEquals(OriginRouter.Skip.FORWARDED, router.route(new Origin(new Lsn(0x100), "pg_16400"), this::progress));
    }

    @Test
    void aNewSessionTakesEveryOriginsProgressFromTheDatabase() throws Exception {
        OriginRouter router = new OriginRouter(SELF, UPSTREAM, true);
        OriginRouter.Apply apply = assertInstanceOf(OriginRouter.Apply.class,
                router.route(forwardedFromOther(0x300), this::progress));
        router.committed(apply, new Lsn(0x300)); // in memory, but it never committed
        router.reload(this::progress);
        assertEquals(Lsn.ZERO, router.progress(Names.origin(OTHER, SELF)));
        assertInstanceOf(OriginRouter.Apply.class, router.route(forwardedFromOther(0x300), this::progress));
    }
}
