/*-------------------------------------------------------------------------
 *
 * pgactive_output.c
 *		The logical decoding output plugin of pgactive's slots: pgoutput,
 *		plus PostgreSQL 16's "origin" option on PostgreSQL 15.
 *
 * In a mesh every node applies every other node's changes, and pgoutput on
 * PostgreSQL 15 sends those applied changes on to everyone again: each node
 * would decode, ship and discard the whole group's traffic a second time.
 * With origin 'none' the walsender skips changes that carry a replication
 * origin before decoding them, as upstream pgactive's plugin does.  A join's
 * catch-up still asks for 'any', since it replays what the upstream applied.
 *
 * Everything else, including the wire format, is pgoutput's own: its
 * callbacks are loaded and used unchanged.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/defrem.h"
#include "fmgr.h"
#include "replication/logical.h"
#include "replication/origin.h"
#include "replication/output_plugin.h"

typedef void (*OutputPluginInit) (OutputPluginCallbacks *cb);

extern PGDLLEXPORT void _PG_output_plugin_init(OutputPluginCallbacks *cb);

static LogicalDecodeStartupCB pgoutput_startup = NULL;

/* One decoding session per process at a time; set at each startup. */
static bool only_local_changes = false;

static void pgactive_output_startup(LogicalDecodingContext *ctx,
									OutputPluginOptions *opt, bool is_init);
static bool pgactive_output_filter_by_origin(LogicalDecodingContext *ctx,
											 RepOriginId origin_id);

void
_PG_output_plugin_init(OutputPluginCallbacks *cb)
{
	OutputPluginInit pgoutput_init;

	pgoutput_init = (OutputPluginInit)
		load_external_function("pgoutput", "_PG_output_plugin_init", false, NULL);
	pgoutput_init(cb);

	pgoutput_startup = cb->startup_cb;
	cb->startup_cb = pgactive_output_startup;
	cb->filter_by_origin_cb = pgactive_output_filter_by_origin;
}

/* Takes our option out of the list (pgoutput rejects options it does not know). */
static void
pgactive_output_startup(LogicalDecodingContext *ctx, OutputPluginOptions *opt,
						bool is_init)
{
	List	   *pgoutput_options = NIL;
	ListCell   *lc;

	only_local_changes = false;
	foreach(lc, ctx->output_plugin_options)
	{
		DefElem    *elem = lfirst(lc);

		if (strcmp(elem->defname, "origin") == 0)
		{
			char	   *value = defGetString(elem);

			if (pg_strcasecmp(value, "none") == 0)
				only_local_changes = true;
			else if (pg_strcasecmp(value, "any") != 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("unrecognized origin value: \"%s\"", value),
						 errhint("Use \"none\" or \"any\".")));
		}
		else
			pgoutput_options = lappend(pgoutput_options, elem);
	}
	ctx->output_plugin_options = pgoutput_options;

	pgoutput_startup(ctx, opt, is_init);
}

static bool
pgactive_output_filter_by_origin(LogicalDecodingContext *ctx, RepOriginId origin_id)
{
	return only_local_changes && origin_id != InvalidRepOriginId;
}
