/*-------------------------------------------------------------------------
 *
 * pgactive_toast.c
 *		Makes every replicated UPDATE carry the full value of its columns.
 *
 * An UPDATE that leaves an out-of-line (TOASTed) value unchanged keeps its
 * pointer to the old value, so the WAL, and so the logical stream, carry
 * no value for that column, only "unchanged".  A node that must turn such
 * an UPDATE into an INSERT (its row was deleted meanwhile) or apply it over
 * a row whose value differs then has nothing to write, and the nodes end
 * up different.  This BEFORE UPDATE trigger inlines such values, so that
 * the toaster writes them again and the stream carries them; the price is
 * rewriting those values on every update of their rows.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heaptoast.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "utils/rel.h"

PG_FUNCTION_INFO_V1(pgactive_full_values);

Datum
pgactive_full_values(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	HeapTuple	newtuple;
	TupleDesc	tupdesc;
	int			i;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(trigdata->tg_event)
		|| !TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) || !TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		elog(ERROR, "pgactive_full_values must run as a BEFORE UPDATE FOR EACH ROW trigger");

	newtuple = trigdata->tg_newtuple;
	tupdesc = RelationGetDescr(trigdata->tg_relation);
	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		bool		isnull;
		Datum		value;

		if (att->attisdropped || att->attlen != -1)
			continue;
		value = heap_getattr(newtuple, i + 1, tupdesc, &isnull);
		if (!isnull && VARATT_IS_EXTERNAL_ONDISK(DatumGetPointer(value)))
			return PointerGetDatum(toast_flatten_tuple(newtuple, tupdesc));
	}
	return PointerGetDatum(newtuple);
}
