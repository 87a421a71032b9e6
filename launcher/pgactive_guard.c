/*-------------------------------------------------------------------------
 *
 * pgactive_guard.c
 *		Refuses DROP EXTENSION pgactive while the database is an active node.
 *
 * Dropping the extension under a running node would leave its slots
 * holding WAL on every peer and its peers waiting for it; upstream pgactive
 * refuses it the same way.  Whether the database is an active node is
 * SQL's answer (pgactive.pgactive_is_active_in_db()); this hook only asks.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/builtins.h"

#include "pgactive_guard.h"

static ProcessUtility_hook_type prev_process_utility = NULL;

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

static bool
active_node(void)
{
	bool		active = false;
	bool		isnull;

	if (!OidIsValid(get_extension_oid("pgactive", true)))
		return false;
	SPI_connect();
	if (SPI_execute("SELECT pgactive.pgactive_is_active_in_db()", true, 1) == SPI_OK_SELECT
		&& SPI_processed == 1)
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		active = !isnull && DatumGetBool(d);
	}
	SPI_finish();
	return active;
}

static void
guard_process_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
					  ProcessUtilityContext context, ParamListInfo params,
					  QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
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
}
