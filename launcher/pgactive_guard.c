/*-------------------------------------------------------------------------
 *
 * pgactive_guard.c
 *		What user sessions may not do to a node, enforced where only C can.
 *
 * - DROP EXTENSION pgactive while the database is an active node: it would
 *	 leave its slots holding WAL on every peer, and its peers waiting for it;
 *	 upstream pgactive refuses it the same way.
 * - Writes and DDL while a peer holds the global lock in write_lock mode
 *	 wait for its release (pgactive_locks.c).
 * - Writes and DDL on a node set read-only (pgactive_set_node_read_only):
 *	 user sessions' INSERT/UPDATE/DELETE/MERGE, COPY FROM, TRUNCATE and DDL
 *	 fail, while apply (session_replication_role = replica) and pgactive's
 *	 own catalog writes go on.
 *
 * The answers are SQL's (pgactive_is_active_in_db(), _writes_refused());
 * these hooks only ask, at most once per transaction for the read-only state.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parsetree.h"
#include "storage/proc.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "pgactive_guard.h"
#include "pgactive_locks.h"

static ProcessUtility_hook_type prev_process_utility = NULL;
static ExecutorStart_hook_type prev_executor_start = NULL;

/*
 * The read-only state, asked once per transaction (by local transaction id):
 * NULL while user writes are allowed, else the hint saying why they are not
 * (in TopMemoryContext).
 */
static LocalTransactionId read_only_asked_in = InvalidLocalTransactionId;
static char *read_only_reason = NULL;

static bool
drops_pgactive(Node *parsetree)
{
	DropStmt   *drop;
	ListCell   *lc;

	if (!IsA(parsetree, DropStmt))
		return false;
	drop = (DropStmt *) parsetree;
	if (drop->removeType != OBJECT_EXTENSION)
		return false;
	foreach(lc, drop->objects)
	{
		if (strcmp(strVal(lfirst(lc)), "pgactive") == 0)
			return true;
	}
	return false;
}

/*
 * A one-value SQL answer, as text in TopMemoryContext; NULL where pgactive is
 * not installed or the answer is NULL.  Asked as the bootstrap superuser,
 * since the session's role may not read pgactive's catalog, in a restricted
 * operation; the functions asked pin search_path.
 */
static char *
ask(const char *query)
{
	char	   *answer = NULL;
	Oid			save_userid;
	int			save_sec_context;

	if (!OidIsValid(get_extension_oid("pgactive", true)))
		return NULL;
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(BOOTSTRAP_SUPERUSERID,
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
	SPI_connect();
	if (SPI_execute(query, true, 1) == SPI_OK_SELECT && SPI_processed == 1)
	{
		char	   *value = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		if (value != NULL)
			answer = MemoryContextStrdup(TopMemoryContext, value);
	}
	SPI_finish();
	SetUserIdAndSecContext(save_userid, save_sec_context);
	return answer;
}

static bool
active_node(void)
{
	char	   *answer = ask("SELECT pgactive.pgactive_is_active_in_db()");
	bool		active = answer != NULL && strcmp(answer, "t") == 0;

	if (answer != NULL)
		pfree(answer);
	return active;
}

/* Why user writes are refused here now, or NULL; apply sessions are never refused. */
static const char *
read_only_node(void)
{
	if (SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA || !IsTransactionState())
		return NULL;
	if (read_only_asked_in != MyProc->lxid)
	{
		if (read_only_reason != NULL)
			pfree(read_only_reason);
		read_only_reason = ask("SELECT pgactive._writes_refused()");
		read_only_asked_in = MyProc->lxid;
	}
	return read_only_reason;
}

static void
refuse_write(const char *what, const char *reason)
{
	ereport(ERROR,
			(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
			 errmsg("cannot execute %s on a read-only pgactive node", what),
			 errhint("%s", reason)));
}

/* Writes to pgactive's own catalog (its SQL API, the tombstone trigger) are not user writes. */
static bool
writes_only_pgactive(PlannedStmt *stmt)
{
	Oid			pgactive_schema = get_namespace_oid("pgactive", true);
	ListCell   *lc;

	if (stmt->resultRelations == NIL)
		return false;
	foreach(lc, stmt->resultRelations)
	{
		RangeTblEntry *rte = rt_fetch(lfirst_int(lc), stmt->rtable);

		if (get_rel_namespace(rte->relid) != pgactive_schema)
			return false;
	}
	return true;
}

static void
guard_executor_start(QueryDesc *queryDesc, int eflags)
{
	CmdType		op = queryDesc->operation;
	const char *reason;

	if ((op == CMD_INSERT || op == CMD_UPDATE || op == CMD_DELETE || op == CMD_MERGE)
		&& !(eflags & EXEC_FLAG_EXPLAIN_ONLY)
		&& !writes_only_pgactive(queryDesc->plannedstmt)
		&& (reason = read_only_node()) != NULL)
		refuse_write(op == CMD_INSERT ? "INSERT" : op == CMD_UPDATE ? "UPDATE" :
					 op == CMD_DELETE ? "DELETE" : "MERGE", reason);
	if ((op == CMD_INSERT || op == CMD_UPDATE || op == CMD_DELETE || op == CMD_MERGE)
		&& !(eflags & EXEC_FLAG_EXPLAIN_ONLY)
		&& !writes_only_pgactive(queryDesc->plannedstmt))
		pgactive_locks_wait_for_writes(op == CMD_INSERT ? "INSERT" : op == CMD_UPDATE ? "UPDATE" :
									   op == CMD_DELETE ? "DELETE" : "MERGE");

	if (prev_executor_start)
		prev_executor_start(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

/* TRUNCATE, COPY FROM and DDL: the utility statements that write. */
static const char *
utility_write(Node *parsetree)
{
	if (IsA(parsetree, TruncateStmt))
		return "TRUNCATE";
	if (IsA(parsetree, CopyStmt) && ((CopyStmt *) parsetree)->is_from)
		return "COPY FROM";
	if (GetCommandLogLevel(parsetree) == LOGSTMT_DDL)
		return "DDL";
	return NULL;
}

static void
guard_process_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
					  ProcessUtilityContext context, ParamListInfo params,
					  QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	const char *write = utility_write(pstmt->utilityStmt);
	const char *reason;

	if (write != NULL && (reason = read_only_node()) != NULL)
		refuse_write(write, reason);
	if (write != NULL)
		pgactive_locks_wait_for_writes(write);
	if (drops_pgactive(pstmt->utilityStmt) && active_node())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot drop extension pgactive while this database is an active pgactive node"),
				 errhint("Detach the node with pgactive.pgactive_detach_nodes() from another node, "
						 "then run pgactive.pgactive_remove() here.")));

	if (prev_process_utility)
		prev_process_utility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
}

void
pgactive_guard_init(void)
{
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = guard_process_utility;
	prev_executor_start = ExecutorStart_hook;
	ExecutorStart_hook = guard_executor_start;
}
