/*
 * pgactive_sequence.c: advance a sequence to at least a given value, atomically.
 *
 * Snowflake ids (pgactive_snowflake_id_nextval, in SQL) keep their state in an ordinary local
 * sequence: its value is "milliseconds since the epoch, then a 14-bit counter", so the next id
 * is the larger of one more than the last and the clock now. SQL offers nextval and setval but
 * nothing that takes that maximum without two sessions interleaving (one setval moving the
 * sequence back past what the other handed out), so this one step is C: nextval, and setval to
 * the floor if the clock is ahead, under one lock. The layout, epoch and node id stay in SQL.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_sequence.h"
#include "commands/sequence.h"
#include "fmgr.h"
#include "storage/lmgr.h"
#include "storage/lwlock.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "pgactive_sequence.h"

#define TRANCHE_NAME "pgactive_sequence"

/* Set in the postmaster when preloaded, so inherited by every backend it starts. */
static bool tranche_requested = false;

PG_FUNCTION_INFO_V1(pgactive_sequence_advance);

void
pgactive_sequence_shmem_request(void)
{
	RequestNamedLWLockTranche(TRANCHE_NAME, 1);
	tranche_requested = true;
}

/*
 * Other backends' caches would hand out values the floor has passed, and a step other than 1
 * would skip the counter's carry into the milliseconds: refused rather than silently wrong.
 */
static void
check_sequence(Oid seqoid)
{
	HeapTuple	tuple = SearchSysCache1(SEQRELID, ObjectIdGetDatum(seqoid));
	Form_pg_sequence seq;

	if (!HeapTupleIsValid(tuple))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a sequence", get_rel_name(seqoid))));
	seq = (Form_pg_sequence) GETSTRUCT(tuple);
	if (seq->seqcache != 1 || seq->seqincrement != 1 || seq->seqmax != PG_INT64_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("sequence \"%s\" cannot hold snowflake ids", get_rel_name(seqoid)),
				 errdetail("It needs INCREMENT 1, CACHE 1 and NO MAXVALUE on bigint."),
				 errhint("ALTER SEQUENCE %s AS bigint INCREMENT 1 CACHE 1 NO MAXVALUE;",
						 quote_identifier(get_rel_name(seqoid)))));
	ReleaseSysCache(tuple);
}

/* pgactive._sequence_advance(seq regclass, floor bigint) RETURNS bigint */
Datum
pgactive_sequence_advance(PG_FUNCTION_ARGS)
{
	Oid			seqoid = PG_GETARG_OID(0);
	int64		floor = PG_GETARG_INT64(1);
	int64		value;
	LWLock	   *lock;

	if (!tranche_requested)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pgactive is not in shared_preload_libraries")));
	check_sequence(seqoid);

	/*
	 * The sequence's own lock first: waiting for it (an ALTER SEQUENCE, say) while holding ours
	 * would hold every other caller.  nextval finds it held and does not wait again.
	 */
	LockRelationOid(seqoid, RowExclusiveLock);
	lock = &(GetNamedLWLockTranche(TRANCHE_NAME))->lock;
	LWLockAcquire(lock, LW_EXCLUSIVE); /* released by an error's abort too */
	value = nextval_internal(seqoid, true);
	if (value < floor)
	{
		DirectFunctionCall2(setval_oid, ObjectIdGetDatum(seqoid), Int64GetDatum(floor));
		value = floor;
	}
	LWLockRelease(lock);
	PG_RETURN_INT64(value);
}
