/*-------------------------------------------------------------------------
 *
 * pgactive_locks.c
 *		The global DDL lock's shared state, and the waits only C can do.
 *
 * One lock per database, held by one node at a time, in upstream's two modes:
 * ddl_lock (no other node runs replicated DDL) and write_lock (besides, no
 * other node's user sessions write).  The protocol runs in non-transactional
 * logical messages of each node's own stream (docs/schema-changes.md):
 *
 *	 acquirer A:  "global_lock acquire <mode> <A> <id>"   (this file, then waits)
 *	 each peer P: "global_lock confirm <A> <id> <P>"      (Java, once P is ready)
 *			  or  "global_lock decline <A> <id> <P>"      (Java, P is locked by another)
 *	 acquirer A:  "global_lock release <A> <id>"          (this file, at A's commit or abort)
 *
 * Here: the state in shared memory, the acquirer's wait for confirmations,
 * the release when its transaction ends, and the wait of user writes on a
 * node whose lock a peer holds in write_lock mode.  Who counts as a peer, how
 * long to wait for local writers and when to cancel them are decided in SQL
 * and Java (pgactive_acquire_global_lock, GlobalLockPeer).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/trigger.h"
#include "access/xlog.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "replication/message.h"
#include "storage/condition_variable.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"

#include "pgactive_locks.h"

#define TRANCHE_NAME "pgactive_global_lock"
#define MESSAGE_PREFIX "pgactive"
#define MAX_LOCK_DATABASES 16
#define MAX_PEERS 64
#define NODE_ID_LEN 64

typedef enum GlobalLockMode
{
	GLOBAL_LOCK_NONE = 0,
	GLOBAL_LOCK_DDL = 1,
	GLOBAL_LOCK_WRITE = 2
} GlobalLockMode;

/* upstream's lock_state names */
typedef enum LockState
{
	STATE_NOLOCK,
	STATE_ACQUIRE_TALLY,
	STATE_ACQUIRE_ACQUIRED,
	STATE_PEER_CANCEL_XACTS,
	STATE_PEER_CONFIRMED
} LockState;

static const char *const mode_names[] = {"nolock", "ddl_lock", "write_lock"};
static const char *const state_names[] = {"nolock", "acquire_tally_confirmations", "acquire_acquired",
"peer_cancel_xacts", "peer_confirmed"};

typedef struct DatabaseLock
{
	Oid			dboid;			/* InvalidOid: slot unused */
	GlobalLockMode	mode;
	LockState	state;
	bool		owner_is_local;
	int			owner_pid;		/* the acquiring backend, when local */
	char		owner[NODE_ID_LEN];	/* "sysid:timeline:dboid" of the holder */
	int64		lock_id;
	TimestampTz since;
	int			npeers;
	int			ndeclined;
	int			nconfirmed;
	char		confirmed[MAX_PEERS][NODE_ID_LEN];	/* who confirmed: a replayed confirm counts once */
} DatabaseLock;

typedef struct LocksShmem
{
	LWLock	   *lock;
	ConditionVariable changed;	/* a tally moved or a lock was released */
	DatabaseLock databases[MAX_LOCK_DATABASES];
} LocksShmem;

static LocksShmem *locks = NULL;
static bool tranche_requested = false;

/* Settings (pgactive_locks_init) */
static int	ddl_lock_timeout = -1;
static int	max_ddl_lock_delay = -1;
static int	trace_level = 3;

static const struct config_enum_entry trace_levels[] = {
	{"debug", 0, false},
	{"peers", 1, false},
	{"acquire_release", 2, false},
	{"statement", 3, false},
	{"none", 4, false},
	{NULL, 0, false}
};

#define TRACE_ACQUIRE_RELEASE 2

/* The lock this backend's transaction acquired, released when it ends. */
static int64 held_lock_id = 0;
static bool xact_callback_registered = false;

PG_FUNCTION_INFO_V1(pgactive_global_lock_acquire);
PG_FUNCTION_INFO_V1(pgactive_global_lock_grant);
PG_FUNCTION_INFO_V1(pgactive_global_lock_peer_confirmed);
PG_FUNCTION_INFO_V1(pgactive_global_lock_release);
PG_FUNCTION_INFO_V1(pgactive_global_lock_tally);
PG_FUNCTION_INFO_V1(pgactive_global_lock_state);
PG_FUNCTION_INFO_V1(pgactive_emit_control_message);

static void
trace(int level, const char *fmt, const char *a, const char *b)
{
	ereport(level >= trace_level ? LOG : DEBUG1,
			(errmsg_internal("DDL LOCK TRACE: %s", psprintf(fmt, a, b))));
}

void
pgactive_locks_shmem_request(void)
{
	RequestAddinShmemSpace(MAXALIGN(sizeof(LocksShmem)));
	RequestNamedLWLockTranche(TRANCHE_NAME, 1);
	tranche_requested = true;
}

void
pgactive_locks_shmem_startup(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	locks = ShmemInitStruct("pgactive global locks", sizeof(LocksShmem), &found);
	if (!found)
	{
		memset(locks, 0, sizeof(LocksShmem));
		locks->lock = &(GetNamedLWLockTranche(TRANCHE_NAME))->lock;
		ConditionVariableInit(&locks->changed);
	}
	LWLockRelease(AddinShmemInitLock);
}

void
pgactive_locks_init(void)
{
	DefineCustomIntVariable("pgactive.ddl_lock_timeout",
							"How long to wait for the global DDL lock, and how long writes wait while a peer holds it.",
							"-1: lock_timeout; 0: for ever.",
							&ddl_lock_timeout, -1, -1, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("pgactive.max_ddl_lock_delay",
							"How long a node waits for its writing transactions before cancelling them for a peer's global write lock.",
							"-1: max_standby_streaming_delay.",
							&max_ddl_lock_delay, -1, -1, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomEnumVariable("pgactive.debug_trace_ddl_locks_level",
							 "Global DDL lock events at or above this level are logged at LOG, the others at DEBUG1.",
							 NULL,
							 &trace_level, 3, trace_levels,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
}

static void
check_available(void)
{
	if (!tranche_requested || locks == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pgactive is not in shared_preload_libraries")));
}

/* This database's slot; made if asked. Under locks->lock. */
static DatabaseLock *
database_lock(bool make)
{
	DatabaseLock *free_slot = NULL;

	for (int i = 0; i < MAX_LOCK_DATABASES; i++)
	{
		if (locks->databases[i].dboid == MyDatabaseId)
			return &locks->databases[i];
		if (free_slot == NULL && locks->databases[i].dboid == InvalidOid)
			free_slot = &locks->databases[i];
	}
	if (!make)
		return NULL;
	if (free_slot == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("global locks are in use in %d databases already", MAX_LOCK_DATABASES)));
	memset(free_slot, 0, sizeof(DatabaseLock));
	free_slot->dboid = MyDatabaseId;
	return free_slot;
}

static void
clear(DatabaseLock *dl)
{
	Oid			dboid = dl->dboid;

	memset(dl, 0, sizeof(DatabaseLock));
	dl->dboid = dboid;
}

static GlobalLockMode
parse_mode(const char *name)
{
	if (pg_strcasecmp(name, "ddl_lock") == 0)
		return GLOBAL_LOCK_DDL;
	if (pg_strcasecmp(name, "write_lock") == 0)
		return GLOBAL_LOCK_WRITE;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown lock type %s", name),
			 errhint("The lock modes are ddl_lock and write_lock.")));
	return GLOBAL_LOCK_NONE;			/* keep the compiler quiet */
}

static void
copy_node_id(char *dest, text *id)
{
	char	   *s = text_to_cstring(id);

	if (strlen(s) >= NODE_ID_LEN)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("node id \"%s\" is too long", s)));
	strlcpy(dest, s, NODE_ID_LEN);
}

/* The message written at once, not at commit: peers act on it while the transaction waits. */
static XLogRecPtr
emit(const char *content)
{
	XLogRecPtr	lsn = LogLogicalMessage(MESSAGE_PREFIX, content, strlen(content), false);

	XLogFlush(lsn);
	return lsn;
}

/* Ends the lock this backend acquired when its transaction ends, whichever way. */
static void
locks_xact_callback(XactEvent event, void *arg)
{
	DatabaseLock *dl;
	char		owner[NODE_ID_LEN] = "";
	int64		id = held_lock_id;

	if (held_lock_id == 0 || (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT))
		return;
	held_lock_id = 0;
	LWLockAcquire(locks->lock, LW_EXCLUSIVE);
	dl = database_lock(false);
	if (dl != NULL && dl->owner_is_local && dl->owner_pid == MyProcPid && dl->lock_id == id)
	{
		strlcpy(owner, dl->owner, NODE_ID_LEN);
		clear(dl);
	}
	LWLockRelease(locks->lock);
	ConditionVariableBroadcast(&locks->changed);
	if (owner[0] != '\0')
	{
		emit(psprintf("global_lock release %s " INT64_FORMAT, owner, id));
		trace(TRACE_ACQUIRE_RELEASE, "released the global lock held as node %s%s", owner, "");
	}
}

/* Whether this backend's transaction holds the global lock. */
bool
pgactive_locks_held_by_my_transaction(void)
{
	return held_lock_id != 0;
}

static int
effective_timeout(void)
{
	if (ddl_lock_timeout >= 0)
		return ddl_lock_timeout;
	return atoi(GetConfigOption("lock_timeout", false, false));
}

/*
 * pgactive._global_lock_acquire(mode text, self text, npeers int) RETURNS void
 *
 * Takes the lock for this transaction: says so in this node's stream, then
 * waits until all npeers peers confirmed, one declined, or ddl_lock_timeout
 * (counted from the call: waiting for another holder's release included).
 * Asking again in a mode already held is a no-op; ddl_lock can become
 * write_lock.
 */
Datum
pgactive_global_lock_acquire(PG_FUNCTION_ARGS)
{
	GlobalLockMode	mode = parse_mode(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	char		self[NODE_ID_LEN];
	int			npeers = PG_GETARG_INT32(2);
	DatabaseLock *dl;
	int64		id;
	int			timeout = effective_timeout();
	TimestampTz start = GetCurrentTimestamp();

	check_available();
	copy_node_id(self, PG_GETARG_TEXT_PP(1));
	if (npeers > MAX_PEERS)
		ereport(ERROR, (errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
						errmsg("the global lock supports at most %d peers", MAX_PEERS)));
	if (!xact_callback_registered)
	{
		RegisterXactCallback(locks_xact_callback, NULL);
		xact_callback_registered = true;
	}

	/*
	 * Held by a peer, or by another backend here: wait for its release, as a
	 * lock does, at most ddl_lock_timeout.  (Two nodes that ask at once each
	 * hold their own and decline the other's: both fail, as upstream.)
	 */
	ConditionVariablePrepareToSleep(&locks->changed);
	for (;;)
	{
		char		holder[NODE_ID_LEN];
		int			pid;

		LWLockAcquire(locks->lock, LW_EXCLUSIVE);
		dl = database_lock(true);
		if (dl->mode == GLOBAL_LOCK_NONE)
			break;
		if (dl->owner_is_local && dl->owner_pid == MyProcPid && held_lock_id == dl->lock_id)
		{
			if (dl->mode >= mode)
			{
				LWLockRelease(locks->lock);
				ConditionVariableCancelSleep();
				PG_RETURN_VOID();
			}
			break;				/* ddl_lock becomes write_lock */
		}
		strlcpy(holder, dl->owner, NODE_ID_LEN);
		pid = dl->owner_is_local ? dl->owner_pid : 0;
		LWLockRelease(locks->lock);
		if (timeout > 0 && TimestampDifferenceExceeds(start, GetCurrentTimestamp(), timeout))
		{
			ConditionVariableCancelSleep();
			if (pid != 0)
				ereport(ERROR,
						(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
						 errmsg("database is locked against ddl by another node"),
						 errhint("Backend %d of this node holds the global lock; retry when its transaction ends.", pid)));
			ereport(ERROR,
					(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
					 errmsg("database is locked against ddl by another node"),
					 errhint("Node %s in the cluster is already performing DDL.", holder)));
		}
		ConditionVariableTimedSleep(&locks->changed, 1000, PG_WAIT_EXTENSION);
		CHECK_FOR_INTERRUPTS();
	}
	ConditionVariableCancelSleep();
	id = (int64) GetCurrentTimestamp();
	dl->mode = mode;
	dl->state = npeers == 0 ? STATE_ACQUIRE_ACQUIRED : STATE_ACQUIRE_TALLY;
	dl->owner_is_local = true;
	dl->owner_pid = MyProcPid;
	strlcpy(dl->owner, self, NODE_ID_LEN);
	dl->lock_id = id;
	dl->since = start;
	dl->npeers = npeers;
	dl->nconfirmed = 0;
	dl->ndeclined = 0;
	held_lock_id = id;
	LWLockRelease(locks->lock);

	trace(TRACE_ACQUIRE_RELEASE, "acquiring the global lock in mode %s as node %s", mode_names[mode], self);
	if (npeers == 0)
		PG_RETURN_VOID();
	emit(psprintf("global_lock acquire %s %s " INT64_FORMAT, mode_names[mode], self, id));

	ConditionVariablePrepareToSleep(&locks->changed);
	for (;;)
	{
		int			confirmed,
					declined;
		long		waited = TimestampDifferenceMilliseconds(start, GetCurrentTimestamp());

		LWLockAcquire(locks->lock, LW_EXCLUSIVE);
		confirmed = dl->nconfirmed;
		declined = dl->ndeclined;
		if (declined == 0 && confirmed >= npeers)
			dl->state = STATE_ACQUIRE_ACQUIRED;
		LWLockRelease(locks->lock);
		if (declined > 0)
		{
			ConditionVariableCancelSleep();
			ereport(ERROR,
					(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
					 errmsg("could not acquire global lock - another node has declined our lock request"),
					 errhint("Likely the other node is acquiring the global lock itself.")));
		}
		if (confirmed >= npeers)
			break;
		if (timeout > 0 && waited >= timeout)
		{
			ConditionVariableCancelSleep();
			ereport(ERROR,
					(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
					 errmsg("could not acquire global lock in mode %s: %d of %d peer nodes confirmed within %d ms",
							mode_names[mode], confirmed, npeers, timeout),
					 errhint("A node that is down or far behind cannot confirm; see pgactive.pgactive_global_locks_info "
							 "and pgactive.pgactive_links. pgactive.ddl_lock_timeout sets how long to wait.")));
		}
		ConditionVariableTimedSleep(&locks->changed, timeout > 0 ? Min(1000, timeout - waited) : 1000,
									PG_WAIT_EXTENSION);
		CHECK_FOR_INTERRUPTS();
	}
	ConditionVariableCancelSleep();
	trace(TRACE_ACQUIRE_RELEASE, "acquired the global lock in mode %s as node %s", mode_names[mode], self);
	PG_RETURN_VOID();
}

/*
 * pgactive._global_lock_grant(owner text, lock_id bigint, mode text) RETURNS text
 *
 * A peer asks for the lock: 'granted' if it is now held for it here (from now
 * on user writes wait, in write_lock mode); 'held_here' if this node holds or
 * asks for it itself (the peer is declined: two requests at once both fail);
 * 'held_by_peer' if another peer holds it here (ask again once it is released).
 */
Datum
pgactive_global_lock_grant(PG_FUNCTION_ARGS)
{
	char		owner[NODE_ID_LEN];
	int64		id = PG_GETARG_INT64(1);
	GlobalLockMode mode = parse_mode(text_to_cstring(PG_GETARG_TEXT_PP(2)));
	DatabaseLock *dl;
	const char *answer;

	check_available();
	copy_node_id(owner, PG_GETARG_TEXT_PP(0));
	LWLockAcquire(locks->lock, LW_EXCLUSIVE);
	dl = database_lock(true);
	if (dl->mode == GLOBAL_LOCK_NONE || (!dl->owner_is_local && strcmp(dl->owner, owner) == 0))
	{
		if (dl->mode == GLOBAL_LOCK_NONE)
			dl->since = GetCurrentTimestamp();
		dl->owner_is_local = false;
		pg_write_barrier();
		dl->mode = Max(dl->mode, mode);
		dl->state = STATE_PEER_CANCEL_XACTS;
		dl->owner_pid = 0;
		strlcpy(dl->owner, owner, NODE_ID_LEN);
		dl->lock_id = id;
		answer = "granted";
	}
	else
		answer = dl->owner_is_local ? "held_here" : "held_by_peer";
	LWLockRelease(locks->lock);
	PG_RETURN_TEXT_P(cstring_to_text(answer));
}

/* pgactive._global_lock_peer_confirmed(owner text, lock_id bigint) RETURNS void: this node is ready for the holder's DDL. */
Datum
pgactive_global_lock_peer_confirmed(PG_FUNCTION_ARGS)
{
	char		owner[NODE_ID_LEN];
	int64		id = PG_GETARG_INT64(1);
	DatabaseLock *dl;

	check_available();
	copy_node_id(owner, PG_GETARG_TEXT_PP(0));
	LWLockAcquire(locks->lock, LW_EXCLUSIVE);
	dl = database_lock(false);
	if (dl != NULL && !dl->owner_is_local && strcmp(dl->owner, owner) == 0 && dl->lock_id == id)
		dl->state = STATE_PEER_CONFIRMED;
	LWLockRelease(locks->lock);
	PG_RETURN_VOID();
}

/*
 * pgactive._global_lock_release(owner text, lock_id bigint) RETURNS boolean
 *
 * The holder released its lock (lock_id NULL: whatever it holds, as when its
 * link is lost); writes waiting here go on.
 */
Datum
pgactive_global_lock_release(PG_FUNCTION_ARGS)
{
	char		owner[NODE_ID_LEN];
	DatabaseLock *dl;
	bool		released = false;

	check_available();
	copy_node_id(owner, PG_GETARG_TEXT_PP(0));
	LWLockAcquire(locks->lock, LW_EXCLUSIVE);
	dl = database_lock(false);
	if (dl != NULL && dl->mode != GLOBAL_LOCK_NONE && !dl->owner_is_local && strcmp(dl->owner, owner) == 0
		&& (PG_ARGISNULL(1) || dl->lock_id == PG_GETARG_INT64(1)))
	{
		clear(dl);
		released = true;
	}
	LWLockRelease(locks->lock);
	if (released)
		ConditionVariableBroadcast(&locks->changed);
	PG_RETURN_BOOL(released);
}

/* pgactive._global_lock_tally(lock_id bigint, peer text, confirmed boolean) RETURNS void: a peer's answer to our request. */
Datum
pgactive_global_lock_tally(PG_FUNCTION_ARGS)
{
	int64		id = PG_GETARG_INT64(0);
	char		peer[NODE_ID_LEN];
	bool		confirmed = PG_GETARG_BOOL(2);
	DatabaseLock *dl;

	check_available();
	copy_node_id(peer, PG_GETARG_TEXT_PP(1));
	LWLockAcquire(locks->lock, LW_EXCLUSIVE);
	dl = database_lock(false);
	if (dl != NULL && dl->owner_is_local && dl->lock_id == id && dl->state == STATE_ACQUIRE_TALLY)
	{
		if (!confirmed)
			dl->ndeclined++;
		else
		{
			bool		seen = false;

			for (int i = 0; i < dl->nconfirmed; i++)
				seen |= strcmp(dl->confirmed[i], peer) == 0;
			if (!seen && dl->nconfirmed < MAX_PEERS)
				strlcpy(dl->confirmed[dl->nconfirmed++], peer, NODE_ID_LEN);
		}
	}
	LWLockRelease(locks->lock);
	ConditionVariableBroadcast(&locks->changed);
	PG_RETURN_VOID();
}

/*
 * pgactive._global_lock_state() RETURNS TABLE (owner text, owner_is_local boolean, lock_mode text,
 *	   lock_state text, owner_pid int, npeers int, npeers_confirmed int, npeers_declined int,
 *	   lock_id bigint, since timestamptz)
 *
 * This database's lock as it is now, one row; the views make upstream's columns of it.
 */
Datum
pgactive_global_lock_state(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Datum		values[10];
	bool		nulls[10] = {0};
	DatabaseLock copy;
	DatabaseLock *dl;

	check_available();
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	LWLockAcquire(locks->lock, LW_SHARED);
	dl = database_lock(false);
	if (dl != NULL)
		copy = *dl;
	else
		memset(&copy, 0, sizeof(copy));
	LWLockRelease(locks->lock);

	if (copy.mode == GLOBAL_LOCK_NONE)
	{
		for (int i = 0; i < 10; i++)
			nulls[i] = true;
		values[2] = CStringGetTextDatum("nolock");
		nulls[2] = false;
		values[3] = CStringGetTextDatum("nolock");
		nulls[3] = false;
	}
	else
	{
		values[0] = CStringGetTextDatum(copy.owner);
		values[1] = BoolGetDatum(copy.owner_is_local);
		values[2] = CStringGetTextDatum(mode_names[copy.mode]);
		values[3] = CStringGetTextDatum(state_names[copy.state]);
		values[4] = Int32GetDatum(copy.owner_pid);
		nulls[4] = !copy.owner_is_local;
		values[5] = Int32GetDatum(copy.npeers);
		values[6] = Int32GetDatum(copy.nconfirmed);
		values[7] = Int32GetDatum(copy.ndeclined);
		nulls[5] = nulls[6] = nulls[7] = !copy.owner_is_local;
		values[8] = Int64GetDatum(copy.lock_id);
		values[9] = TimestampTzGetDatum(copy.since);
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

/*
 * pgactive._emit_control_message(content text) RETURNS pg_lsn
 *
 * A non-transactional message in this node's stream, flushed at once:
 * pg_logical_emit_message leaves it in the WAL buffers until something else
 * flushes them, and a peer waiting for it would wait that long.
 */
Datum
pgactive_emit_control_message(PG_FUNCTION_ARGS)
{
	PG_RETURN_LSN(emit(text_to_cstring(PG_GETARG_TEXT_PP(0))));
}

/*
 * Called before a user session writes (pgactive_guard.c): while a peer holds
 * the lock in write_lock mode, the write waits for its release, at most
 * ddl_lock_timeout.  Apply sessions never wait: they apply the holder's DDL.
 */
void
pgactive_locks_wait_for_writes(const char *what)
{
	TimestampTz start = 0;
	int			timeout = 0;
	bool		sleeping = false;

	if (locks == NULL || SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA)
		return;

	/*
	 * Every user write asks: look without the lock first (a peer's write lock
	 * is rare), so that writers do not all take one LWLock.  As upstream, a
	 * statement that looked in the instant before the grant and has not yet
	 * written is not waited for (GlobalLockPeer waits for transactions that
	 * have written): a window of microseconds.
	 */
	pg_read_barrier();
	for (int i = 0; i < MAX_LOCK_DATABASES; i++)
	{
		if (locks->databases[i].dboid == MyDatabaseId)
		{
			if (locks->databases[i].mode != GLOBAL_LOCK_WRITE || locks->databases[i].owner_is_local)
				return;
			break;
		}
		if (i == MAX_LOCK_DATABASES - 1)
			return;
	}
	for (;;)
	{
		DatabaseLock *dl;
		bool		blocked;
		char		holder[NODE_ID_LEN] = "";

		LWLockAcquire(locks->lock, LW_SHARED);
		dl = database_lock(false);
		blocked = dl != NULL && dl->mode == GLOBAL_LOCK_WRITE && !dl->owner_is_local;
		if (blocked)
			strlcpy(holder, dl->owner, NODE_ID_LEN);
		LWLockRelease(locks->lock);
		if (!blocked)
			break;
		if (!sleeping)
		{
			start = GetCurrentTimestamp();
			timeout = effective_timeout();
			ConditionVariablePrepareToSleep(&locks->changed);
			sleeping = true;
			trace(1, "%s waits for the global write lock of node %s", what, holder);
		}
		else if (timeout > 0 && TimestampDifferenceExceeds(start, GetCurrentTimestamp(), timeout))
		{
			ConditionVariableCancelSleep();
			ereport(ERROR,
					(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
					 errmsg("canceling statement due to global lock timeout"),
					 errdetail("Node %s holds the global write lock while its DDL replicates.", holder),
					 errhint("pgactive.ddl_lock_timeout sets how long writes wait.")));
		}
		ConditionVariableTimedSleep(&locks->changed, 1000, PG_WAIT_EXTENSION);
		CHECK_FOR_INTERRUPTS();
	}
	if (sleeping)
		ConditionVariableCancelSleep();
}
