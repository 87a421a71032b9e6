/*-------------------------------------------------------------------------
 *
 * pgactive_remote.c
 *		One query on another server, for the checks of the SQL API.
 *
 * pgactive_create_group and pgactive_join_group check what a DBA most
 * often gets wrong -- a DSN that does not connect, reaches the wrong
 * database, or names a database that is not a ready pgactive node -- before
 * anything is written, so that a mistake is an error of the call itself and
 * leaves nothing behind.  A backend may only use libpq through the
 * walreceiver module, as CREATE SUBSCRIPTION does; this file is that bridge
 * and nothing else: which query to run and what its answer means is decided
 * in SQL.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "replication/walreceiver.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

PG_FUNCTION_INFO_V1(pgactive_remote_query);

/*
 * pgactive._remote_query(conninfo text, query text) RETURNS text
 *
 * The first column of the first row of the query's answer, as text (NULL
 * when there is no row).  The connection is a logical replication one
 * (replication=database), which runs SQL and needs no pg_hba.conf line
 * beyond the database's own.  Errors say what failed, never the conninfo,
 * which may hold a password.
 */
Datum
pgactive_remote_query(PG_FUNCTION_ARGS)
{
	char	   *conninfo = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *query = text_to_cstring(PG_GETARG_TEXT_PP(1));
	Oid			types[1] = {TEXTOID};
	WalReceiverConn *conn;
	WalRcvExecResult *res;
	TupleTableSlot *slot;
	char	   *err = NULL;
	text	   *result = NULL;

	load_file("libpqwalreceiver", false);
	walrcv_check_conninfo(conninfo);	/* names a syntax error, as libpq does */
	conn = walrcv_connect(conninfo, true, "pgactive:check", &err);
	if (conn == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
				 errmsg("%s", err ? err : "could not connect")));

	res = walrcv_exec(conn, query, 1, types);
	if (res->status != WALRCV_OK_TUPLES)
	{
		char	   *msg = pstrdup(res->err ? res->err : "query failed");

		walrcv_clear_result(res);
		walrcv_disconnect(conn);
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_EXCEPTION),
				 errmsg("%s", msg)));
	}

	slot = MakeSingleTupleTableSlot(res->tupledesc, &TTSOpsMinimalTuple);
	if (tuplestore_gettupleslot(res->tuplestore, true, false, slot))
	{
		bool		isnull;
		Datum		value = slot_getattr(slot, 1, &isnull);

		if (!isnull)
			result = DatumGetTextPCopy(value);
	}
	ExecDropSingleTupleTableSlot(slot);
	walrcv_clear_result(res);
	walrcv_disconnect(conn);

	if (result == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(result);
}
