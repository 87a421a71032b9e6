/*-------------------------------------------------------------------------
 *
 * pgactive.c
 *		Launcher for the pgactive Java worker.
 *
 * All replication logic lives in the Java worker (pgactive-worker.jar).
 * This library only:
 *
 *	- declares the pgactive.* settings, so that they are known, typed and
 *	  documented, and can be set in postgresql.conf;
 *	- runs one background worker, the "pgactive launcher", which starts the
 *	  JVM as a child process, copies its output into the server log and
 *	  restarts it with back-off when it fails;
 *	- offers SQL functions to wake the worker at commit and to report pids;
 *	- installs the guard of pgactive_guard.c against dropping an active node.
 *
 * The JVM's stdin is a pipe from the launcher.  The JVM exits when it reads
 * EOF there, so it never outlives the launcher, even after postmaster death.
 * Each line "wake" it reads means "look for new work now".
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "access/xact.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "postmaster/postmaster.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "pgactive_do_not_replicate.h"
#include "pgactive_sequence.h"
#include "pgactive_guard.h"
#include "pgactive_ddl.h"
#include "pgactive_locks.h"

PG_MODULE_MAGIC;

#define WORKER_LINE_MAX			8192	/* longer output lines are split */
#define MAX_BACKOFF_SECS		60
#define STABLE_RUN_SECS			30	/* a run this long resets the back-off */
#define SHUTDOWN_WAIT_SECS		10
#define EXIT_CODE_EXEC_FAILED	127 /* as used by shells */
#define LAST_ERROR_MAX			512

typedef struct PgactiveShmem
{
	slock_t		mutex;			/* protects the four fields below */
	Latch	   *launcher_latch; /* NULL if no launcher runs */
	pid_t		launcher_pid;
	pid_t		worker_pid;		/* the JVM; 0 if none runs */
	char		last_error[LAST_ERROR_MAX]; /* why the last JVM did not run */
	pg_atomic_uint32 wake_count;	/* bumped by each committed wake */
} PgactiveShmem;

void		_PG_init(void);
PGDLLEXPORT void pgactive_launcher_main(Datum main_arg);

PG_FUNCTION_INFO_V1(pgactive_wake_worker);
PG_FUNCTION_INFO_V1(pgactive_worker_pid);
PG_FUNCTION_INFO_V1(pgactive_launcher_pid);
PG_FUNCTION_INFO_V1(pgactive_worker_last_error);

static PgactiveShmem *pgactive_shmem = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* Settings used by the launcher */
static char *java_path = NULL;
static char *jvm_options = NULL;
static char *worker_jar = NULL;
static char *local_passfile = NULL;

/* Settings only the Java worker reads, with current_setting() */
static int	pgactive_max_nodes;
static bool pgactive_synchronous_commit;
static int	pgactive_debug_apply_delay;
static bool pgactive_log_conflicts_to_table;
static bool pgactive_log_conflicts_to_logfile;
static bool pgactive_conflict_logging_include_tuples;
static bool pgactive_apply_as_table_owner = true;
static bool pgactive_discard_mismatched_row_attributes;
static int	pgactive_init_node_parallel_jobs;
static int	pgactive_conflict_history_retention;
static int	pgactive_metrics_port;
static char *pgactive_metrics_listen_address;

/* Backend state for pgactive_wake_worker() */
static bool wake_pending = false;
static bool xact_callback_registered = false;

/* Launcher state */
static volatile sig_atomic_t shutdown_requested = false;
static pid_t child_pid = 0;		/* the JVM; 0 if none runs */
static int	child_out_fd = -1;	/* read end of the child's stdout+stderr */
static int	child_in_fd = -1;	/* write end of the child's stdin */
static TimestampTz child_start_time;
static TimestampTz next_start = 0;	/* no start before this time */
static int	backoff = 0;		/* seconds */
static bool want_worker = true;
static bool woken_while_running = false;
static bool exec_failed = false;
static char line_buf[WORKER_LINE_MAX];
static int	line_len = 0;
static char last_line[WORKER_LINE_MAX];	/* the child's last output line */


/*
 * Shared memory
 */

static void
pgactive_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();

	RequestAddinShmemSpace(sizeof(PgactiveShmem));
	pgactive_sequence_shmem_request();
	pgactive_locks_shmem_request();
}

static void
pgactive_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	pgactive_shmem = ShmemInitStruct("pgactive", sizeof(PgactiveShmem), &found);
	if (!found)
	{
		SpinLockInit(&pgactive_shmem->mutex);
		pgactive_shmem->launcher_latch = NULL;
		pgactive_shmem->launcher_pid = 0;
		pgactive_shmem->worker_pid = 0;
		pgactive_shmem->last_error[0] = '\0';
		pg_atomic_init_u32(&pgactive_shmem->wake_count, 0);
	}
	LWLockRelease(AddinShmemInitLock);
	pgactive_locks_shmem_startup();
}

/*
 * Without shared_preload_libraries there is no shared memory and no launcher,
 * so the SQL functions cannot do anything useful.
 */
static void
check_preloaded(void)
{
	if (pgactive_shmem == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pgactive is not loaded via shared_preload_libraries"),
				 errhint("Add pgactive to shared_preload_libraries in postgresql.conf and restart the server.")));
}


/*
 * Module load
 */

void
_PG_init(void)
{
	BackgroundWorker worker;

	DefineCustomStringVariable("pgactive.java_path",
							   "Java binary that runs the pgactive worker.",
							   "Looked up in PATH unless it contains a slash.",
							   &java_path, "java",
							   PGC_SIGHUP, 0, NULL, NULL, NULL);
	/*
	 * The default keeps the worker small (docs/configuration.md): a heap that
	 * starts small and grows only as needed, the serial collector, and the
	 * client compiler only.
	 */
	DefineCustomStringVariable("pgactive.jvm_options",
							   "Whitespace-separated JVM options for the pgactive worker.",
							   NULL,
							   &jvm_options, "-Xms16m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1",
							   PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("pgactive.worker_jar",
							   "Path of the pgactive worker jar.",
							   "Empty means SHAREDIR/pgactive/pgactive-worker.jar.",
							   &worker_jar, "",
							   PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("pgactive.local_passfile",
							   "Password file the pgactive worker reads to connect to this server.",
							   "In libpq's .pgpass format. Needed when pg_hba.conf asks local connections "
							   "of the server's OS user for a password. Read when the worker starts.",
							   &local_passfile, "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY, NULL, NULL, NULL);

	/*
	 * PGC_POSTMASTER settings may only be created while preloading (anything
	 * else is FATAL), but a SQL call can load us later, to report that we are
	 * not preloaded.  Nothing runs then, so the weaker context is harmless.
	 */
	DefineCustomIntVariable("pgactive.max_nodes",
							"Maximum number of nodes in a pgactive group.",
							NULL,
							&pgactive_max_nodes, 4, 2, 64,
							process_shared_preload_libraries_in_progress ?
							PGC_POSTMASTER : PGC_SIGHUP,
							0, NULL, NULL, NULL);
	DefineCustomBoolVariable("pgactive.synchronous_commit",
							 "Whether applied changes are committed synchronously.",
							 NULL,
							 &pgactive_synchronous_commit, false,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pgactive.debug_apply_delay",
							"Delay before applying each remote transaction (for testing).",
							NULL,
							&pgactive_debug_apply_delay, 0, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomBoolVariable("pgactive.log_conflicts_to_table",
							 "Log conflicts to the pgactive conflict history table.",
							 NULL,
							 &pgactive_log_conflicts_to_table, true,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("pgactive.log_conflicts_to_logfile",
							 "Log conflicts to the server log.",
							 NULL,
							 &pgactive_log_conflicts_to_logfile, false,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("pgactive.conflict_logging_include_tuples",
							 "Include the conflicting tuples in conflict logs.",
							 NULL,
							 &pgactive_conflict_logging_include_tuples, true,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("pgactive.discard_mismatched_row_attributes",
							 "Apply remote rows without the values of columns the local table lacks.",
							 "Lets a link stalled on a missing column go on, losing those values. "
							 "Read when an apply session reads a table's definition.",
							 &pgactive_discard_mismatched_row_attributes, false,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("pgactive.apply_as_table_owner",
							 "Apply changes to a table as the table's owner, not as a superuser.",
							 "Triggers, defaults, constraints and index expressions then run with the owner's rights. "
							 "Read when an apply session starts.",
							 &pgactive_apply_as_table_owner, true,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pgactive.init_node_parallel_jobs",
							"Number of parallel jobs used to copy data when a node joins.",
							NULL,
							&pgactive_init_node_parallel_jobs, 2, 1, 64,
							PGC_SIGHUP, 0, NULL, NULL, NULL);

	DefineCustomIntVariable("pgactive.conflict_history_retention",
							"How long rows of the conflict history are kept (0: for ever).",
							NULL,
							&pgactive_conflict_history_retention, 30 * 24 * 3600, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);

	DefineCustomIntVariable("pgactive.metrics_port",
							"TCP port on which the pgactive worker serves Prometheus metrics (0: none).",
							NULL,
							&pgactive_metrics_port, 0, 0, 65535,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);

	DefineCustomStringVariable("pgactive.metrics_listen_address",
							   "Address on which the pgactive worker serves Prometheus metrics.",
							   NULL,
							   &pgactive_metrics_listen_address, "127.0.0.1",
							   PGC_POSTMASTER, 0, NULL, NULL, NULL);

	pgactive_do_not_replicate_init();
	pgactive_ddl_init();
	pgactive_locks_init();

	MarkGUCPrefixReserved("pgactive");

	if (!process_shared_preload_libraries_in_progress)
		return;

	pgactive_guard_init();
	pgactive_ddl_install_hook();

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = pgactive_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = pgactive_shmem_startup;

	memset(&worker, 0, sizeof(worker));
	snprintf(worker.bgw_name, BGW_MAXLEN, "pgactive launcher");
	snprintf(worker.bgw_type, BGW_MAXLEN, "pgactive launcher");
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 5;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "pgactive");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "pgactive_launcher_main");
	RegisterBackgroundWorker(&worker);
}


/*
 * SQL-callable functions
 */

/*
 * Wake the launcher only once the transaction has committed, like NOTIFY, so
 * that the worker never looks for rows it cannot see yet.  A wake requested
 * in a subtransaction that rolls back still fires; a spurious wake is cheap.
 */
static void
pgactive_xact_callback(XactEvent event, void *arg)
{
	Latch	   *latch;

	switch (event)
	{
		case XACT_EVENT_COMMIT:
			if (!wake_pending)
				break;
			wake_pending = false;

			pg_atomic_fetch_add_u32(&pgactive_shmem->wake_count, 1);
			SpinLockAcquire(&pgactive_shmem->mutex);
			latch = pgactive_shmem->launcher_latch;
			SpinLockRelease(&pgactive_shmem->mutex);
			if (latch != NULL)
				SetLatch(latch);
			break;

		case XACT_EVENT_PRE_PREPARE:
			/* Same rule as NOTIFY: the commit would happen elsewhere. */
			if (wake_pending)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot PREPARE a transaction that has woken the pgactive worker")));
			break;

		case XACT_EVENT_ABORT:
			wake_pending = false;
			break;

		default:
			break;
	}
}

Datum
pgactive_wake_worker(PG_FUNCTION_ARGS)
{
	check_preloaded();

	if (!xact_callback_registered)
	{
		RegisterXactCallback(pgactive_xact_callback, NULL);
		xact_callback_registered = true;
	}
	wake_pending = true;

	PG_RETURN_VOID();
}

Datum
pgactive_worker_pid(PG_FUNCTION_ARGS)
{
	pid_t		pid;

	check_preloaded();

	SpinLockAcquire(&pgactive_shmem->mutex);
	pid = pgactive_shmem->worker_pid;
	SpinLockRelease(&pgactive_shmem->mutex);

	if (pid == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT32(pid);
}

Datum
pgactive_launcher_pid(PG_FUNCTION_ARGS)
{
	pid_t		pid;

	check_preloaded();

	SpinLockAcquire(&pgactive_shmem->mutex);
	pid = pgactive_shmem->launcher_pid;
	SpinLockRelease(&pgactive_shmem->mutex);

	if (pid == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT32(pid);
}


/*
 * Why the worker is not running, for pgactive_wait_for_node_ready(): NULL
 * unless the last start failed or the last worker died.
 */
Datum
pgactive_worker_last_error(PG_FUNCTION_ARGS)
{
	char		msg[LAST_ERROR_MAX];

	check_preloaded();

	SpinLockAcquire(&pgactive_shmem->mutex);
	strlcpy(msg, pgactive_shmem->last_error, sizeof(msg));
	SpinLockRelease(&pgactive_shmem->mutex);

	if (msg[0] == '\0')
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(msg));
}


/*
 * Launcher: signals and shared state
 */

static void
launcher_sigterm(SIGNAL_ARGS)
{
	int			save_errno = errno;

	shutdown_requested = true;
	SetLatch(MyLatch);

	errno = save_errno;
}

/* Wake the main loop so that a child's exit is noticed at once. */
static void
launcher_sigchld(SIGNAL_ARGS)
{
	int			save_errno = errno;

	SetLatch(MyLatch);

	errno = save_errno;
}

static void
set_worker_pid(pid_t pid)
{
	SpinLockAcquire(&pgactive_shmem->mutex);
	pgactive_shmem->worker_pid = pid;
	SpinLockRelease(&pgactive_shmem->mutex);
}

static void
set_last_error(const char *msg)
{
	SpinLockAcquire(&pgactive_shmem->mutex);
	strlcpy(pgactive_shmem->last_error, msg, LAST_ERROR_MAX);
	SpinLockRelease(&pgactive_shmem->mutex);
}

static void
launcher_shmem_exit(int code, Datum arg)
{
	SpinLockAcquire(&pgactive_shmem->mutex);
	pgactive_shmem->launcher_latch = NULL;
	pgactive_shmem->launcher_pid = 0;
	pgactive_shmem->worker_pid = 0;
	SpinLockRelease(&pgactive_shmem->mutex);
}


/*
 * Launcher: the child's output
 */

static void
emit_worker_line(void)
{
	int			elevel = LOG;

	if (line_len == 0)
		return;
	line_buf[line_len] = '\0';
	line_len = 0;

	/* The Java log format is "[thread] LEVEL logger - message". */
	if (strstr(line_buf, "] ERROR ") != NULL ||
		strstr(line_buf, "] WARN ") != NULL)
		elevel = WARNING;

	ereport(elevel, (errmsg("pgactive worker: %s", line_buf)));
	strlcpy(last_line, line_buf, sizeof(last_line));
}

static void
close_child_output(void)
{
	if (child_out_fd < 0)
		return;
	emit_worker_line();			/* a last line without newline */
	close(child_out_fd);
	child_out_fd = -1;
}

/*
 * Log what the child has written.  Normally read once, so that a chatty child
 * cannot keep the main loop from its other duties; the latch wait returns at
 * once if more is there.  until_drained reads all that is there, when the
 * child has exited.
 */
static void
read_child_output(bool until_drained)
{
	char		buf[8192];
	ssize_t		n;
	ssize_t		i;

	while (child_out_fd >= 0)
	{
		n = read(child_out_fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0)
		{
			/* EOF, or an error we cannot do anything about */
			close_child_output();
			return;
		}

		for (i = 0; i < n; i++)
		{
			if (buf[i] == '\n')
				emit_worker_line();
			else
			{
				line_buf[line_len++] = buf[i];
				if (line_len == WORKER_LINE_MAX - 1)
					emit_worker_line();
			}
		}

		if (!until_drained)
			return;
	}
}


/*
 * Launcher: starting and stopping the child
 */

/* In the forked child: become the JVM.  Never returns. */
static void
exec_child(char **argv, int out_fd, int in_fd)
{
	sigset_t	no_signals;
	int			sig;
	char		msg[1024];
	ssize_t		rc;

	if (dup2(in_fd, STDIN_FILENO) < 0 ||
		dup2(out_fd, STDOUT_FILENO) < 0 ||
		dup2(out_fd, STDERR_FILENO) < 0)
		_exit(1);

	/* The JVM must not hold the listen sockets or the postmaster-death pipe. */
	closefrom(3);

	/*
	 * Leave the launcher's process group: the postmaster signals whole groups,
	 * and its SIGQUIT would make the JVM print thread dumps.  The launcher
	 * stops the JVM itself, and the JVM exits on its own when stdin closes.
	 */
	(void) setsid();

	/*
	 * The JVM encodes the command lines and environment of the programs it
	 * runs (pg_dump, pg_restore) in its locale's character set.  Under the
	 * server's usual C locale that is ASCII, and a database named "café"
	 * would reach pg_dump as "caf?".
	 */
	setenv("LC_ALL", "C.UTF-8", 1);

	/*
	 * Give the JVM the signal state of a fresh process.  Ignored signals
	 * stay ignored across exec, and the JVM keeps SIGTERM, SIGINT and SIGHUP
	 * ignored if they are, so reset all of them (SIGKILL and SIGSTOP fail
	 * harmlessly).
	 */
	for (sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&no_signals);
	sigprocmask(SIG_SETMASK, &no_signals, NULL);

	execvp(argv[0], argv);

	snprintf(msg, sizeof(msg),
			 "could not execute java binary \"%s\" (pgactive.java_path): %s\n",
			 argv[0], strerror(errno));
	rc = write(STDERR_FILENO, msg, strlen(msg));
	(void) rc;
	_exit(EXIT_CODE_EXEC_FAILED);
}

/* First entry of unix_socket_directories, or "" if there is none. */
static char *
first_socket_dir(void)
{
	char	   *raw;
	List	   *dirs;

	if (Unix_socket_directories == NULL)
		return "";
	raw = pstrdup(Unix_socket_directories);
	if (!SplitDirectoriesString(raw, ',', &dirs) || dirs == NIL)
		return "";
	return (char *) linitial(dirs);
}

static void
start_child(MemoryContext cxt)
{
	MemoryContext oldcxt;
	char		jar[MAXPGPATH];
	char		sharedir[MAXPGPATH];
	char		bindir[MAXPGPATH];
	List	   *args = NIL;
	char	  **argv;
	char	   *opt;
	struct passwd *pw;
	ListCell   *lc;
	int			i;
	int			out_pipe[2];
	int			in_pipe[2];
	pid_t		pid;

	if (worker_jar[0] != '\0')
		strlcpy(jar, worker_jar, sizeof(jar));
	else
	{
		get_share_path(my_exec_path, sharedir);
		snprintf(jar, sizeof(jar), "%s/pgactive/pgactive-worker.jar", sharedir);
	}

	/* Like a failed exec: say it once, then wait for a reload or a wake. */
	if (access(jar, R_OK) != 0)
	{
		char		msg[LAST_ERROR_MAX];

		snprintf(msg, sizeof(msg), "pgactive worker jar \"%s\" is not readable: %m", jar);
		ereport(WARNING, (errcode_for_file_access(), errmsg("%s", msg)));
		set_last_error(msg);
		exec_failed = true;
		want_worker = false;
		return;
	}

	oldcxt = MemoryContextSwitchTo(cxt);

	args = lappend(args, java_path);
	for (opt = strtok(pstrdup(jvm_options), " \t\r\n"); opt != NULL;
		 opt = strtok(NULL, " \t\r\n"))
		args = lappend(args, opt);
	args = lappend(args, "-jar");
	args = lappend(args, jar);
	args = lappend(args, "--socket-dir");
	args = lappend(args, first_socket_dir());
	args = lappend(args, "--port");
	args = lappend(args, psprintf("%d", PostPortNumber));
	pw = getpwuid(geteuid());
	args = lappend(args, "--user");
	args = lappend(args, pw ? pstrdup(pw->pw_name) : "");
	args = lappend(args, "--data-dir");
	args = lappend(args, DataDir);
	if (local_passfile[0] != '\0')
	{
		args = lappend(args, "--passfile");
		args = lappend(args, local_passfile);
	}
	/* pg_dump and pg_restore of this very installation, for joins */
	strlcpy(bindir, my_exec_path, sizeof(bindir));
	get_parent_directory(bindir);
	args = lappend(args, "--bin-dir");
	args = lappend(args, bindir);
	if (pgactive_metrics_port > 0)
	{
		args = lappend(args, "--metrics");
		args = lappend(args, psprintf("%s:%d", pgactive_metrics_listen_address, pgactive_metrics_port));
	}

	argv = palloc((list_length(args) + 1) * sizeof(char *));
	i = 0;
	foreach(lc, args)
		argv[i++] = (char *) lfirst(lc);
	argv[i] = NULL;

	/* Our ends are close-on-exec, and non-blocking so we never hang on them. */
	if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(in_pipe, O_CLOEXEC) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create pipe for pgactive worker: %m")));
	if (!pg_set_noblock(out_pipe[0]) || !pg_set_noblock(in_pipe[1]))
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not set pipe for pgactive worker to non-blocking mode: %m")));

	pid = fork();
	if (pid < 0)
		ereport(ERROR,
				(errmsg("could not fork pgactive worker: %m")));
	if (pid == 0)
		exec_child(argv, out_pipe[1], in_pipe[0]);

	close(out_pipe[1]);
	close(in_pipe[0]);
	child_pid = pid;
	child_out_fd = out_pipe[0];
	child_in_fd = in_pipe[1];
	child_start_time = GetCurrentTimestamp();
	woken_while_running = false;
	last_line[0] = '\0';
	set_worker_pid(pid);
	set_last_error("");

	ereport(LOG,
			(errmsg("pgactive worker started (PID %d): %s -jar %s",
					(int) pid, java_path, jar)));

	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(cxt);
}

/* Tell a running child to look for work now. */
static void
wake_child(void)
{
	ssize_t		rc;

	/*
	 * Errors are fine: a full pipe already holds a wake, and a closed one
	 * means the child is exiting (the caller notes the wake for that case).
	 */
	rc = write(child_in_fd, "wake\n", 5);
	(void) rc;
}

/*
 * Notice whether the child has exited, and decide whether and when to start
 * the next one.  block waits for the exit.
 */
static void
reap_child(bool block)
{
	int			status;
	pid_t		pid = child_pid;
	TimestampTz now;
	char		msg[LAST_ERROR_MAX];

	if (pid == 0 || waitpid(pid, &status, block ? 0 : WNOHANG) <= 0)
		return;

	read_child_output(true);
	close_child_output();
	close(child_in_fd);
	child_in_fd = -1;
	child_pid = 0;
	set_worker_pid(0);

	if (shutdown_requested)
		return;

	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
	{
		/* Nothing to do; restart at once only if woken meanwhile. */
		want_worker = woken_while_running;
		return;
	}

	if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_CODE_EXEC_FAILED)
	{
		/*
		 * The child has logged why.  Retrying cannot help until the settings
		 * change, so wait for a reload or a wake instead of looping.
		 */
		set_last_error(last_line);
		exec_failed = true;
		want_worker = false;
		return;
	}

	if (WIFEXITED(status))
		snprintf(msg, sizeof(msg),
				 "pgactive worker (PID %d) exited with exit code %d; its last line: %s",
				 (int) pid, WEXITSTATUS(status), last_line);
	else
		snprintf(msg, sizeof(msg), "pgactive worker (PID %d) was terminated by signal %d",
				 (int) pid, WTERMSIG(status));
	ereport(LOG, (errmsg("%s", msg)));
	set_last_error(msg);

	/* Restart soon after a crash of a long run, slower after repeated ones. */
	now = GetCurrentTimestamp();
	if (TimestampDifferenceExceeds(child_start_time, now, STABLE_RUN_SECS * 1000))
		backoff = 1;
	else
		backoff = Min(Max(backoff * 2, 1), MAX_BACKOFF_SECS);
	want_worker = true;
	next_start = TimestampTzPlusMilliseconds(now, backoff * 1000);
}

static void
wait_for_events(long timeout_ms)
{
	int			events = WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH;

	if (child_out_fd >= 0)
		events |= WL_SOCKET_READABLE;

	(void) WaitLatchOrSocket(MyLatch, events, child_out_fd, timeout_ms,
							 PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
}

/* At shutdown: ask the child to stop, and kill it if it takes too long. */
static void
stop_child(void)
{
	TimestampTz deadline;

	if (child_pid == 0)
		return;

	kill(child_pid, SIGTERM);
	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
										   SHUTDOWN_WAIT_SECS * 1000);
	while (child_pid != 0 && GetCurrentTimestamp() < deadline)
	{
		wait_for_events(100);
		read_child_output(false);
		reap_child(false);
	}

	if (child_pid != 0)
	{
		kill(child_pid, SIGKILL);
		reap_child(true);
	}
}


/*
 * Launcher: main loop
 */

void
pgactive_launcher_main(Datum main_arg)
{
	MemoryContext start_cxt;
	uint32		seen_wake_count;
	uint32		wake_count;

	pqsignal(SIGTERM, launcher_sigterm);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGCHLD, launcher_sigchld);
	pqsignal(SIGPIPE, SIG_IGN);
	BackgroundWorkerUnblockSignals();

	before_shmem_exit(launcher_shmem_exit, (Datum) 0);
	SpinLockAcquire(&pgactive_shmem->mutex);
	pgactive_shmem->launcher_latch = MyLatch;
	pgactive_shmem->launcher_pid = MyProcPid;
	SpinLockRelease(&pgactive_shmem->mutex);

	start_cxt = AllocSetContextCreate(TopMemoryContext,
									  "pgactive worker start",
									  ALLOCSET_SMALL_SIZES);
	seen_wake_count = pg_atomic_read_u32(&pgactive_shmem->wake_count);

	/*
	 * Start the worker right away: it finds out itself whether any database
	 * has a pgactive node, and exits with code 0 if none has.
	 */
	want_worker = true;

	while (!shutdown_requested)
	{
		CHECK_FOR_INTERRUPTS();

		read_child_output(false);

		wake_count = pg_atomic_read_u32(&pgactive_shmem->wake_count);
		if (wake_count != seen_wake_count)
		{
			seen_wake_count = wake_count;
			if (child_pid != 0)
			{
				wake_child();
				woken_while_running = true;
			}
			else
			{
				want_worker = true;
				exec_failed = false;
				backoff = 0;
				next_start = 0;
			}
		}

		reap_child(false);

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			/* The user may have fixed pgactive.java_path or worker_jar. */
			if (exec_failed)
			{
				exec_failed = false;
				want_worker = true;
			}
		}

		if (want_worker && child_pid == 0 && GetCurrentTimestamp() >= next_start)
			start_child(start_cxt);

		wait_for_events(1000);
	}

	stop_child();

	/*
	 * Exit code 1, not 0: the postmaster would unregister a worker that exits
	 * with 0, so a stray SIGTERM would leave no launcher until restart.
	 */
	proc_exit(1);
}
