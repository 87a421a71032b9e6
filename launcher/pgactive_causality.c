/*-------------------------------------------------------------------------
 *
 * pgactive_causality.c
 *		Tells peers which version of a row a local UPDATE or DELETE replaced.
 *
 * A remote change to a row last written by a third node is a conflict only
 * if its author had not seen that version (docs/conflicts.md, "How a
 * conflict is detected").  The author knows: the row it changed was that
 * version or not.  So when a user session here changes a row whose current
 * version came from another node, this BEFORE UPDATE OR DELETE trigger puts
 * a transactional message in the stream just before the change, naming the
 * version replaced: its writer's replication origin, its commit time, and
 * the row's key.  Rows last written here need none (the receiver's version
 * of them is either this node's, the next change from the same node, or
 * another's, which this node had not seen).  What to make of it is the
 * worker's (ConflictRules).
 *
 * For tables with conflict handlers, receivers need more: every version the
 * writer had seen, not only the one it replaced (docs/conflicts.md, "Handlers
 * that converge"); pgactive_seen_versions_message, at the end, puts that in.
 *
 * Content, after the prefix "pgactive_prior":
 *	 <relid> <commit time, microseconds since 2000> <origin name> <key count>
 *	 then, per key column in attribute order, "<byte length>:<text value>"
 *	 (a NULL key part is "-1:").
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/commit_ts.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/transam.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "nodes/bitmapset.h"
#include "replication/message.h"
#include "replication/origin.h"
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"

#include "pgactive_causality.h"

#define PRIOR_PREFIX "pgactive_prior"
#define SEEN_PREFIX "pgactive_seen"

PG_FUNCTION_INFO_V1(pgactive_prior_version);
PG_FUNCTION_INFO_V1(pgactive_seen_versions_message);
PG_FUNCTION_INFO_V1(pgactive_key_columns);

/* "<byte length>:<text>", or "-1:" for NULL. */
void
pgactive_append_text(StringInfo out, const char *text)
{
	if (text == NULL)
		appendStringInfoString(out, "-1:");
	else
		appendStringInfo(out, "%zu:%s", strlen(text), text);
}

/*
 * Text output in the formats the receiver's walsender writes values in (the
 * worker connects with them, in UTC), whatever the local session's settings:
 * a key must read the same in a message as in the change it names.
 */
int
pgactive_begin_stream_formats(void)
{
	int			nest = NewGUCNestLevel();

	set_config_option("TimeZone", "UTC", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	set_config_option("DateStyle", "ISO", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	set_config_option("IntervalStyle", "postgres", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	set_config_option("extra_float_digits", "3", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	return nest;
}

void
pgactive_end_stream_formats(int nest)
{
	AtEOXact_GUC(true, nest);
}

/*
 * " <key count>\n", then each key column's value in attribute order; call
 * between pgactive_begin/end_stream_formats.
 */
void
pgactive_append_key(StringInfo out, Relation rel, HeapTuple tuple)
{
	Bitmapset  *key = RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_IDENTITY_KEY);
	TupleDesc	desc = RelationGetDescr(rel);
	int			member = -1;

	appendStringInfo(out, " %d\n", bms_num_members(key));
	while ((member = bms_next_member(key, member)) >= 0)
	{
		AttrNumber	attnum = member + FirstLowInvalidHeapAttributeNumber;
		bool		isnull;
		Datum		value = heap_getattr(tuple, attnum, desc, &isnull);
		Oid			output;
		bool		varlena;
		char	   *text;

		if (isnull)
		{
			pgactive_append_text(out, NULL);
			continue;
		}
		getTypeOutputInfo(TupleDescAttr(desc, attnum - 1)->atttypid, &output, &varlena);
		text = OidOutputFunctionCall(output, value);
		pgactive_append_text(out, text);
	}
}

Datum
pgactive_prior_version(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	HeapTuple	old;
	TransactionId xmin;
	TimestampTz ts;
	RepOriginId origin;
	char	   *origin_name;
	StringInfoData msg;
	int			nest;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(trigdata->tg_event)
		|| !TRIGGER_FIRED_FOR_ROW(trigdata->tg_event)
		|| !(TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) || TRIGGER_FIRED_BY_DELETE(trigdata->tg_event)))
		elog(ERROR, "pgactive_prior_version must run as a BEFORE UPDATE OR DELETE FOR EACH ROW trigger");

	old = trigdata->tg_trigtuple;
	xmin = HeapTupleHeaderGetXmin(old->t_data);

	/*
	 * Only versions another node wrote, committed before this transaction (a
	 * version this transaction wrote has no commit time yet), and only where
	 * the row has a key to name it by.
	 */
	if (replorigin_session_origin == InvalidRepOriginId
		&& TransactionIdIsNormal(xmin) && !TransactionIdIsCurrentTransactionId(xmin)
		&& !HeapTupleHeaderXminFrozen(old->t_data)
		&& RelationGetReplicaIndex(trigdata->tg_relation) != InvalidOid
		&& TransactionIdGetCommitTsData(xmin, &ts, &origin)
		&& origin != InvalidRepOriginId && origin != DoNotReplicateId
		&& replorigin_by_oid(origin, true, &origin_name))
	{
		initStringInfo(&msg);
		appendStringInfo(&msg, "%u " INT64_FORMAT " %s", RelationGetRelid(trigdata->tg_relation), (int64) ts,
						 origin_name);
		nest = pgactive_begin_stream_formats();
		pgactive_append_key(&msg, trigdata->tg_relation, old);
		pgactive_end_stream_formats(nest);
		LogLogicalMessage(PRIOR_PREFIX, msg.data, msg.len, true);
		pfree(msg.data);
	}
	return PointerGetDatum(TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ? trigdata->tg_newtuple : old);
}

/*
 * For tables with conflict handlers, the trigger pgactive._record_row_version
 * (PL/pgSQL: it reads pgactive's record of the row) works out which versions
 * of a row the writer of its next change had seen; this puts them in the
 * stream before the change, with the row's key as above.  The trigger passes
 * the row the change names (NEW of an INSERT, OLD otherwise) and the versions,
 * already written as "<length>:<node sysid><length>:<commit time>" each.
 *
 * Content, after the prefix "pgactive_seen":
 *	 <relid> <version count> <key count>\n, the key, then the versions.
 */
Datum
pgactive_seen_versions_message(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	HeapTupleHeader named = PG_GETARG_HEAPTUPLEHEADER(1);
	int32		count = PG_GETARG_INT32(2);
	text	   *versions = PG_GETARG_TEXT_PP(3);
	HeapTupleData tuple;
	Relation	rel;
	StringInfoData msg;
	int			nest;

	tuple.t_len = HeapTupleHeaderGetDatumLength(named);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = relid;
	tuple.t_data = named;

	rel = table_open(relid, AccessShareLock);
	if (HeapTupleHeaderGetTypeId(named) != rel->rd_rel->reltype)
		elog(ERROR, "pgactive_seen_versions_message: the row is not one of table %u", relid);
	initStringInfo(&msg);
	appendStringInfo(&msg, "%u %d", relid, count);
	nest = pgactive_begin_stream_formats();
	pgactive_append_key(&msg, rel, &tuple);
	pgactive_end_stream_formats(nest);
	appendBinaryStringInfo(&msg, VARDATA_ANY(versions), VARSIZE_ANY_EXHDR(versions));
	table_close(rel, AccessShareLock);
	LogLogicalMessage(SEEN_PREFIX, msg.data, msg.len, true);
	pfree(msg.data);
	PG_RETURN_VOID();
}

/*
 * The names of a table's replica identity key columns, in attribute order,
 * or NULL when it has none (REPLICA IDENTITY FULL or NOTHING): what
 * pgactive._identity_columns says, from the relcache, for triggers that run
 * on every write (a catalog query there costs more than the write).
 */
Datum
pgactive_key_columns(PG_FUNCTION_ARGS)
{
	Relation	rel = table_open(PG_GETARG_OID(0), AccessShareLock);
	ArrayBuildState *names = NULL;
	Bitmapset  *key;
	int			member = -1;

	if (RelationGetReplicaIndex(rel) == InvalidOid)
	{
		table_close(rel, AccessShareLock);
		PG_RETURN_NULL();
	}
	key = RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_IDENTITY_KEY);
	while ((member = bms_next_member(key, member)) >= 0)
	{
		AttrNumber	attnum = member + FirstLowInvalidHeapAttributeNumber;

		names = accumArrayResult(names,
								 CStringGetTextDatum(NameStr(TupleDescAttr(RelationGetDescr(rel), attnum - 1)->attname)),
								 false, TEXTOID, CurrentMemoryContext);
	}
	table_close(rel, AccessShareLock);
	if (names == NULL)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(makeArrayResult(names, CurrentMemoryContext));
}
