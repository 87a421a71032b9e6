/*-------------------------------------------------------------------------
 *
 * pgactive_columns.c
 *		Tells peers which columns a local UPDATE changed, for tables whose
 *		conflicts are resolved column by column (docs/conflicts.md).
 *
 * A receiver merges concurrent updates of one row column by column: each
 * column it changed keeps the later writer's value, and a counter column
 * adds what the update added.  A row change in the stream carries the whole
 * new row, not what changed, nor the counters' previous values; this BEFORE
 * UPDATE trigger puts both into the transaction, in a message just before
 * the change (as pgactive_causality.c does).  Its arguments are the table's
 * counter columns.  What to make of it is the worker's (ColumnChanges).
 *
 * Content, after the prefix "pgactive_columns":
 *	 <relid> <changed count> <key count>\n, the key as pgactive_causality.c
 *	 writes it, then per changed column, in attribute order, "=" and its
 *	 name, or for a counter "+", its name and its value before the update;
 *	 names and values as "<byte length>:<text>" ("-1:" for NULL).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "replication/message.h"
#include "replication/origin.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "pgactive_causality.h"

#define COLUMNS_PREFIX "pgactive_columns"

PG_FUNCTION_INFO_V1(pgactive_column_changes);

static bool
is_counter(Trigger *trigger, const char *name)
{
	int			i;

	for (i = 0; i < trigger->tgnargs; i++)
		if (strcmp(trigger->tgargs[i], name) == 0)
			return true;
	return false;
}

static bool
column_changed(Form_pg_attribute att, HeapTuple old, HeapTuple new, TupleDesc desc)
{
	bool		old_null;
	bool		new_null;
	Datum		old_value = heap_getattr(old, att->attnum, desc, &old_null);
	Datum		new_value = heap_getattr(new, att->attnum, desc, &new_null);

	if (old_null || new_null)
		return old_null != new_null;
	/* An out-of-line value left as it was keeps its pointer: equal images. */
	return !datum_image_eq(old_value, new_value, att->attbyval, att->attlen);
}

Datum
pgactive_column_changes(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	TupleDesc	desc;
	HeapTuple	old;
	HeapTuple	new;
	StringInfoData columns;
	StringInfoData msg;
	int			changed = 0;
	int			i;
	int			nest;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(trigdata->tg_event)
		|| !TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) || !TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		elog(ERROR, "pgactive_column_changes must run as a BEFORE UPDATE FOR EACH ROW trigger");

	rel = trigdata->tg_relation;
	old = trigdata->tg_trigtuple;
	new = trigdata->tg_newtuple;
	/* Applied changes are told by their own origin; a row needs a key to be named by. */
	if (replorigin_session_origin != InvalidRepOriginId || RelationGetReplicaIndex(rel) == InvalidOid)
		return PointerGetDatum(new);

	desc = RelationGetDescr(rel);
	nest = pgactive_begin_stream_formats();
	initStringInfo(&columns);
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		const char *name = NameStr(att->attname);

		if (att->attisdropped || att->attgenerated || !column_changed(att, old, new, desc))
			continue;
		changed++;
		if (is_counter(trigdata->tg_trigger, name))
		{
			bool		isnull;
			Datum		value = heap_getattr(old, att->attnum, desc, &isnull);
			Oid			output;
			bool		varlena;

			appendStringInfoChar(&columns, '+');
			pgactive_append_text(&columns, name);
			getTypeOutputInfo(att->atttypid, &output, &varlena);
			pgactive_append_text(&columns, isnull ? NULL : OidOutputFunctionCall(output, value));
		}
		else
		{
			appendStringInfoChar(&columns, '=');
			pgactive_append_text(&columns, name);
		}
	}

	initStringInfo(&msg);
	appendStringInfo(&msg, "%u %d", RelationGetRelid(rel), changed);
	pgactive_append_key(&msg, rel, old);
	pgactive_end_stream_formats(nest);
	appendBinaryStringInfo(&msg, columns.data, columns.len);
	LogLogicalMessage(COLUMNS_PREFIX, msg.data, msg.len, true);
	pfree(msg.data);
	pfree(columns.data);
	return PointerGetDatum(new);
}
