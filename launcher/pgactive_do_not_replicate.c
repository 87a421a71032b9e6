/*-------------------------------------------------------------------------
 *
 * pgactive_do_not_replicate.c
 *		pgactive.do_not_replicate: a session's transactions stay on this node.
 *
 * For repairs (docs/schema-changes.md, docs/troubleshooting.md): a superuser
 * sets it in a session, and what that session commits is not sent to any
 * peer.  The commit record is given PostgreSQL's DoNotReplicateId origin,
 * which the walsenders of pgactive's slots leave out ("origin = none" of
 * pgactive_output.c), as they leave out what apply wrote.  The session's own
 * replication origin, if it set one up, is left alone.  Only the commit
 * record carries the origin: enough, since decoding skips a transaction by
 * its commit's origin.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "replication/origin.h"
#include "utils/guc.h"

#include "pgactive_do_not_replicate.h"

static bool do_not_replicate = false;
/* Whether this transaction's origin was set here, and must be reset after it. */
static bool origin_set_here = false;

static void
do_not_replicate_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			if (do_not_replicate && replorigin_session_origin == InvalidRepOriginId)
			{
				replorigin_session_origin = DoNotReplicateId;
				origin_set_here = true;
			}
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
			if (origin_set_here)
			{
				replorigin_session_origin = InvalidRepOriginId;
				origin_set_here = false;
			}
			break;
		default:
			break;
	}
}

void
pgactive_do_not_replicate_init(void)
{
	DefineCustomBoolVariable("pgactive.do_not_replicate",
							 "Keep this session's changes on this node: they are not replicated.",
							 "For repairs; what is changed so differs from the other nodes.",
							 &do_not_replicate, false,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	RegisterXactCallback(do_not_replicate_xact_callback, NULL);
}
