/*-------------------------------------------------------------------------
 *
 * pgactive_ddl.c
 *		Transparent DDL replication (pgactive.skip_ddl_replication = off):
 *		a user session's DDL is queued for every node as it runs.
 *
 * The hook gathers what only C can see of a statement (its tag, whether it
 * runs at top level, the persistence of the relation it names, a few features
 * of its parse tree, its own text within a multi-statement string) and asks
 * SQL what to do with it (pgactive._ddl_capture_policy): keep it local,
 * refuse it with upstream's error, or replicate it under the global lock in
 * the mode SQL names.  A replicated statement runs here under that lock and
 * is queued in pgactive_queued_commands in the same transaction; every node
 * runs it where that row applies, as apply runs pgactive_replicate_ddl_command's.
 *
 * DDL nested in a statement being handled (an event trigger's, a CREATE
 * SCHEMA's elements) is part of that statement and passes as it is.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "optimizer/optimizer.h"
#include "parser/parse_func.h"
#include "replication/origin.h"
#include "rewrite/rewriteHandler.h"
#include "tcop/cmdtag.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "pgactive_ddl.h"
#include "pgactive_locks.h"

static ProcessUtility_hook_type prev_process_utility = NULL;
static bool skip_ddl_replication = true;

/* Top-level DDL statements this backend is running: what they nest is theirs. */
static int	ddl_depth = 0;

/* Inside pgactive._execute_ddl_uncaptured: the caller queues (or keeps local) what runs. */
static bool uncaptured = false;

PG_FUNCTION_INFO_V1(pgactive_execute_ddl_uncaptured);

/*
 * As upstream: the setting may be turned off only for the whole server (in
 * postgresql.conf or ALTER SYSTEM), never for a session, role or database,
 * which would replicate some DDL and not other.  Turning it on anywhere is
 * allowed: that is how one node runs CREATE INDEX CONCURRENTLY.
 */
static bool
check_skip_ddl_replication(bool *newval, void **extra, GucSource source)
{
	if (!*newval && source > PGC_S_FILE)
	{
		GUC_check_errmsg("unsafe pgactive configuration options can not be disabled locally");
		GUC_check_errdetail("The pgactive option pgactive.skip_ddl_replication should only be disabled globally.");
		GUC_check_errhint("Set it in postgresql.conf or with ALTER SYSTEM, the same on every node, and reload.");
		return false;
	}
	return true;
}

/* Runs a one-row query as the bootstrap superuser (pgactive's functions are not the user's), with text arguments. */
static char *
run_as_superuser(const char *query, int nargs, const char **args)
{
	Oid			save_userid;
	int			save_sec_context;
	Oid			types[8];
	Datum		values[8];
	char		nulls[8];
	char	   *answer = NULL;
	MemoryContext caller = CurrentMemoryContext;

	Assert(nargs <= 8);
	for (int i = 0; i < nargs; i++)
	{
		types[i] = TEXTOID;
		values[i] = args[i] == NULL ? (Datum) 0 : CStringGetTextDatum(args[i]);
		nulls[i] = args[i] == NULL ? 'n' : ' ';
	}
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(BOOTSTRAP_SUPERUSERID, save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	PG_TRY();
	{
		SPI_connect();
		if (SPI_execute_with_args(query, nargs, types, values, nulls, false, 1) == SPI_OK_SELECT
			&& SPI_processed == 1)
		{
			char	   *value = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

			if (value != NULL)
				answer = MemoryContextStrdup(caller, value);
		}
		SPI_finish();
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_userid, save_sec_context);
	}
	PG_END_TRY();
	return answer;
}

/* 'p', 't' or 'u' for a relation named by rv, '\0' if there is none (yet). */
static char
persistence_of(RangeVar *rv)
{
	Oid			relid;

	if (rv == NULL)
		return '\0';
	if (rv->relpersistence == RELPERSISTENCE_TEMP)
		return RELPERSISTENCE_TEMP;
	relid = RangeVarGetRelid(rv, NoLock, true);
	return OidIsValid(relid) ? get_rel_persistence(relid) : '\0';
}

/* Whether every object a DROP names is a temporary or unlogged relation. */
static bool
drops_only_local_relations(DropStmt *drop)
{
	ListCell   *lc;

	switch (drop->removeType)
	{
		case OBJECT_TABLE:
		case OBJECT_INDEX:
		case OBJECT_SEQUENCE:
		case OBJECT_VIEW:
		case OBJECT_MATVIEW:
		case OBJECT_FOREIGN_TABLE:
			break;
		default:
			return false;
	}
	foreach(lc, drop->objects)
	{
		RangeVar   *rv = makeRangeVarFromNameList((List *) lfirst(lc));
		char		p = persistence_of(rv);

		if (p != RELPERSISTENCE_TEMP && p != RELPERSISTENCE_UNLOGGED)
			return false;
	}
	return drop->objects != NIL;
}

/*
 * upstream's ALTER TABLE subcommands that need only the ddl_lock: they add to
 * a table or change what no concurrent write depends on.
 */
static bool
alter_is_additive(AlterTableStmt *alter)
{
	ListCell   *lc;

	foreach(lc, alter->cmds)
	{
		switch (((AlterTableCmd *) lfirst(lc))->subtype)
		{
			case AT_AddColumn:
			case AT_AddIndex:
			case AT_DropColumn:
			case AT_SetNotNull:
			case AT_DropNotNull:
			case AT_ColumnDefault:
			case AT_ClusterOn:
			case AT_DropCluster:
			case AT_ChangeOwner:
			case AT_SetStorage:
			case AT_ValidateConstraint:
			case AT_EnableTrig:
			case AT_DisableTrig:
			case AT_EnableTrigUser:
			case AT_DisableTrigUser:
				break;
			default:
				return false;
		}
	}
	return true;
}

typedef struct StatementFacts
{
	char		persistence;
	const char *object;
	StringInfoData features;	/* a text[] literal's elements */
} StatementFacts;

static void
add_feature(StatementFacts *facts, const char *feature)
{
	appendStringInfo(&facts->features, "%s%s", facts->features.len > 0 ? "," : "", feature);
}

static void
gather_facts(Node *parsetree, StatementFacts *facts)
{
	RangeVar   *rv = NULL;

	facts->persistence = '\0';
	facts->object = NULL;
	initStringInfo(&facts->features);
	switch (nodeTag(parsetree))
	{
		case T_CreateStmt:
			rv = ((CreateStmt *) parsetree)->relation;
			break;
		case T_CreateTableAsStmt:
			{
				CreateTableAsStmt *ctas = (CreateTableAsStmt *) parsetree;

				rv = ctas->into->rel;
				if (!ctas->into->skipData)
					add_feature(facts, "with_data");
				break;
			}
		case T_ViewStmt:
			rv = ((ViewStmt *) parsetree)->view;
			break;
		case T_CreateSeqStmt:
			rv = ((CreateSeqStmt *) parsetree)->sequence;
			break;
		case T_AlterSeqStmt:
			rv = ((AlterSeqStmt *) parsetree)->sequence;
			break;
		case T_IndexStmt:
			rv = ((IndexStmt *) parsetree)->relation;
			if (((IndexStmt *) parsetree)->concurrent)
				add_feature(facts, "concurrently");
			break;
		case T_AlterTableStmt:
			rv = ((AlterTableStmt *) parsetree)->relation;
			if (alter_is_additive((AlterTableStmt *) parsetree))
				add_feature(facts, "additive");
			break;
		case T_CreateTrigStmt:
			rv = ((CreateTrigStmt *) parsetree)->relation;
			if (strncmp(((CreateTrigStmt *) parsetree)->trigname, "pgactive_", 9) == 0)
				add_feature(facts, "pgactive_object");
			break;
		case T_RuleStmt:
			rv = ((RuleStmt *) parsetree)->relation;
			break;
		case T_RenameStmt:
			rv = ((RenameStmt *) parsetree)->relation;
			break;
		case T_DropStmt:
			if (((DropStmt *) parsetree)->removeType == OBJECT_TRIGGER
				&& list_length(((DropStmt *) parsetree)->objects) == 1
				&& strncmp(strVal(llast((List *) linitial(((DropStmt *) parsetree)->objects))), "pgactive_", 9) == 0)
				add_feature(facts, "pgactive_object");
			if (((DropStmt *) parsetree)->concurrent)
				add_feature(facts, "concurrently");
			if (drops_only_local_relations((DropStmt *) parsetree))
				facts->persistence = RELPERSISTENCE_TEMP;
			break;
		default:
			break;
	}
	if (rv != NULL)
	{
		if (facts->persistence == '\0')
			facts->persistence = persistence_of(rv);
		facts->object = quote_qualified_identifier(rv->schemaname, rv->relname);
	}
}

/*
 * After an ALTER TABLE ran: whether a column it added got a default that is
 * not immutable (random(), now(), nextval()), which every node would compute
 * differently for the rows it already has.
 */
static bool
added_mutable_default(AlterTableStmt *alter)
{
	Oid			relid = RangeVarGetRelid(alter->relation, NoLock, true);
	ListCell   *lc;
	bool		found = false;

	if (!OidIsValid(relid))
		return false;
	foreach(lc, alter->cmds)
	{
		AlterTableCmd *cmd = (AlterTableCmd *) lfirst(lc);
		ColumnDef  *def;
		AttrNumber	attnum;
		Relation	rel;
		Node	   *expr;

		if (cmd->subtype != AT_AddColumn || !IsA(cmd->def, ColumnDef))
			continue;
		def = (ColumnDef *) cmd->def;
		attnum = get_attnum(relid, def->colname);
		if (attnum == InvalidAttrNumber)
			continue;
		rel = relation_open(relid, NoLock);
		expr = build_column_default(rel, attnum);
		relation_close(rel, NoLock);
		if (expr != NULL && contain_mutable_functions(expr))
			found = true;
	}
	return found;
}

/* The statement's own text: a multi-statement string holds several. */
static char *
statement_text(PlannedStmt *pstmt, const char *queryString)
{
	int			location = pstmt->stmt_location;
	int			length = pstmt->stmt_len;

	if (location < 0)
		return pstrdup(queryString);
	if (length <= 0)
		length = strlen(queryString) - location;
	return pnstrdup(queryString + location, length);
}

static bool
capture_applies(Node *parsetree)
{
	const char *do_not_replicate;

	if (skip_ddl_replication || uncaptured || ddl_depth > 0 || creating_extension
		|| SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA
		|| replorigin_session_origin != InvalidRepOriginId
		|| GetCommandLogLevel(parsetree) != LOGSTMT_DDL
		|| !IsTransactionState()
		|| !OidIsValid(get_extension_oid("pgactive", true)))
		return false;
	do_not_replicate = GetConfigOption("pgactive.do_not_replicate", true, false);
	return do_not_replicate == NULL || strcmp(do_not_replicate, "on") != 0;
}

static void
call_next(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree, ProcessUtilityContext context,
		  ParamListInfo params, QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	if (prev_process_utility)
		prev_process_utility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
}

/* Runs a DDL statement being handled: the DDL it nests (event triggers, subcommands) is its own. */
static void
run_with_nested_ddl(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree, ProcessUtilityContext context,
					ParamListInfo params, QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	ddl_depth++;
	PG_TRY();
	{
		call_next(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		ddl_depth--;
	}
	PG_END_TRY();
}

static void
ddl_process_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
					ProcessUtilityContext context, ParamListInfo params,
					QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;
	StatementFacts facts;
	const char *tag;
	char	   *policy;
	char		persistence[2] = {0};
	const char *policy_args[5];

	if (!capture_applies(parsetree))
	{
		call_next(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
		return;
	}

	tag = GetCommandTagName(CreateCommandTag(parsetree));
	gather_facts(parsetree, &facts);
	persistence[0] = facts.persistence;
	policy_args[0] = tag;
	policy_args[1] = context == PROCESS_UTILITY_TOPLEVEL ? "true" : "false";
	policy_args[2] = facts.persistence == '\0' ? NULL : persistence;
	policy_args[3] = psprintf("{%s}", facts.features.data);
	policy_args[4] = facts.object;
	policy = run_as_superuser("SELECT pgactive._ddl_capture_policy($1, $2::boolean, $3::\"char\", $4::text[], $5)",
							  5, policy_args);
	if (policy == NULL || strcmp(policy, "local") == 0)
	{
		run_with_nested_ddl(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
		return;
	}

	/*
	 * A transaction's first replicated statement decides its lock mode: a
	 * stronger one cannot be had once the transaction holds table locks, since
	 * the peers' answers come through apply sessions that would wait for those
	 * locks.  Inside BEGIN ... COMMIT, where more may follow, that is the
	 * write_lock.
	 */
	if (strcmp(policy, "nolock") != 0 && !pgactive_locks_held_by_my_transaction())
	{
		const char *mode[1] = {IsTransactionBlock() ? "write_lock" : policy};

		run_as_superuser("SELECT pgactive.pgactive_acquire_global_lock($1)", 1, mode);
	}
	run_with_nested_ddl(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);

	if (IsA(parsetree, AlterTableStmt) && added_mutable_default((AlterTableStmt *) parsetree))
	{
		policy_args[3] = "{add_column_mutable_default}";
		run_as_superuser("SELECT pgactive._ddl_capture_policy($1, $2::boolean, $3::\"char\", $4::text[], $5)",
						 5, policy_args);
	}

	{
		const char *queue_args[4];

		queue_args[0] = tag;
		queue_args[1] = statement_text(pstmt, queryString);
		queue_args[2] = GetUserNameFromId(GetUserId(), false);
		queue_args[3] = GetConfigOption("search_path", false, false);
		run_as_superuser("SELECT pgactive._queue_captured_ddl($1, $2, $3, $4)", 4, queue_args);
	}
}

/*
 * pgactive._execute_ddl_uncaptured(command text) RETURNS void
 *
 * Runs command here without capturing it: for pgactive_replicate_ddl_command,
 * which queues the command itself, and pgactive's own functions whose DDL is
 * each node's own.  Whoever may run pgactive_replicate_ddl_command may run
 * this (the same GRANT covers both).
 */
Datum
pgactive_execute_ddl_uncaptured(PG_FUNCTION_ARGS)
{
	char	   *command = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Oid			argtypes[2] = {TEXTOID, TEXTARRAYOID};
	Oid			replicate = LookupFuncName(list_make2(makeString("pgactive"),
													  makeString("pgactive_replicate_ddl_command")),
										   2, argtypes, false);
	bool		was_uncaptured = uncaptured;

	if (pg_proc_aclcheck(replicate, GetUserId(), ACL_EXECUTE) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for function pgactive_replicate_ddl_command")));
	uncaptured = true;
	PG_TRY();
	{
		SPI_connect();
		SPI_execute(command, false, 0);
		SPI_finish();
	}
	PG_FINALLY();
	{
		uncaptured = was_uncaptured;
	}
	PG_END_TRY();
	PG_RETURN_VOID();
}

void
pgactive_ddl_init(void)
{
	DefineCustomBoolVariable("pgactive.skip_ddl_replication",
							 "Do not replicate DDL.",
							 "Off: DDL run in user sessions is replicated to every node, under the global DDL lock. "
							 "Must be the same on every node.",
							 &skip_ddl_replication, true,
							 PGC_SUSET, 0, check_skip_ddl_replication, NULL, NULL);
}

void
pgactive_ddl_install_hook(void)
{
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = ddl_process_utility;
}
