#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "molt-job-cgroup.h"
#include "molt-job-launcher.h"
#include "molt-protocol-error.h"

/* How long to wait for unshare to fork the namespace's init. */
#define MOLT_LAUNCH_CHILD_TIMEOUT_US (5 * G_USEC_PER_SEC)

typedef struct
{
  gchar *name;
  MoltJobExitFunc on_exit;
  gpointer user_data;
} MoltJobWatch;

static void
job_exited (GPid pid, gint wait_status, gpointer data)
{
  MoltJobWatch *watch = data;

  watch->on_exit (watch->name, wait_status, watch->user_data);
  g_spawn_close_pid (pid);
  g_free (watch->name);
  g_free (watch);
}

/* Reaps a launch given up on. */
static void
launch_reaped (GPid pid, gint wait_status, gpointer data)
{
  g_spawn_close_pid (pid);
}

static gchar *
find_program (const gchar *configured, const gchar *name, GError **error)
{
  gchar *path;

  if (configured != NULL)
    return g_strdup (configured);
  path = g_find_program_in_path (name);
  if (path == NULL)
    g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_UNSUPPORTED,
                 "'%s' is not installed in the guest (needed to start jobs)", name);
  return path;
}

/* unshare has exited: a zombie until the child watch reaps it (which may
 * have run already). */
static gboolean
is_zombie (gint pid)
{
  g_autofree gchar *path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree gchar *contents = NULL;
  const gchar *after_comm;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return TRUE;
  after_comm = strrchr (contents, ')');
  return after_comm != NULL && after_comm[1] == ' ' && after_comm[2] == 'Z';
}

static gint
open_log (const gchar *jobs_dir, const gchar *name, gchar **log_path, GError **error)
{
  g_autofree gchar *dir = g_build_filename (jobs_dir, name, NULL);
  g_autofree gchar *path = g_build_filename (dir, "output.log", NULL);
  gint fd;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   "cannot create %s: %s", dir, g_strerror (saved_errno));
      return -1;
    }
  fd = open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      int saved_errno = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno), "cannot open %s: %s",
                   path, g_strerror (saved_errno));
      return -1;
    }
  *log_path = g_steal_pointer (&path);
  return fd;
}

/* A launch waiting for unshare to fork the namespace's init: polled from
 * the main loop, which keeps serving meanwhile. */
typedef struct
{
  GPid parent_pid; /* not reaped before launch_complete watches it */
  MoltJob *job;    /* the caller's, alive until the callback */
  gchar *log_path;
  gchar *children_path;
  gint64 deadline;
  MoltJobWatch *watch; /* set up by the finish, once the caller knows the job */
  MoltJobExitFunc on_exit;
  gpointer user_data;
} MoltLaunch;

static void
launch_free (gpointer data)
{
  MoltLaunch *launch = data;

  if (launch->watch != NULL)
    {
      /* Never finished: reap the process all the same. */
      g_child_watch_add (launch->parent_pid, launch_reaped, NULL);
      g_free (launch->watch->name);
      g_free (launch->watch);
    }
  g_free (launch->log_path);
  g_free (launch->children_path);
  g_free (launch);
}

/* The job runs as init_pid: record it and watch for its end. */
static void
launch_complete (GTask *task, gint init_pid)
{
  MoltLaunch *launch = g_task_get_task_data (task);
  MoltJob *job = launch->job;
  MoltJobWatch *watch;
  guint64 starttime = 0;

  /* A command that ended at once may be gone already: the job started,
   * and its exit callback brings its status. */
  if (!molt_proc_read_starttime (init_pid, &starttime, NULL))
    {
      g_debug ("job %s ended before it was seen", job->name);
      starttime = 0;
    }
  job->host_pid = init_pid;
  job->ns_pid = molt_proc_read_ns_pid (init_pid);
  job->proc_starttime = starttime;
  job->start_time = g_get_real_time () / G_USEC_PER_SEC;
  job->state = MOLT_JOB_STATE_RUNNING;
  g_free (job->log_path);
  job->log_path = g_steal_pointer (&launch->log_path);

  watch = g_new0 (MoltJobWatch, 1);
  watch->name = g_strdup (job->name);
  watch->on_exit = launch->on_exit;
  watch->user_data = launch->user_data;
  launch->watch = watch;
  g_task_return_boolean (task, TRUE);
}

/* unshare forks the namespace's init right after it starts: find that
 * child. A command that ends at once (cat FILE) may be gone, and unshare
 * with it, before we look: the job then is unshare itself, which exits with
 * its child's status. */
static gboolean
poll_namespace_init (gpointer data)
{
  GTask *task = data;
  MoltLaunch *launch = g_task_get_task_data (task);
  g_autofree gchar *contents = NULL;

  if (g_file_get_contents (launch->children_path, &contents, NULL, NULL) && contents[0] != '\0')
    launch_complete (task, (gint) g_ascii_strtoll (contents, NULL, 10));
  else if (is_zombie (launch->parent_pid))
    launch_complete (task, launch->parent_pid);
  else if (g_get_monotonic_time () < launch->deadline)
    return G_SOURCE_CONTINUE;
  else
    {
      kill (launch->parent_pid, SIGKILL);
      g_child_watch_add (launch->parent_pid, launch_reaped, NULL);
      g_task_return_new_error (task, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                               "the job's PID namespace did not start within %d s "
                               "(unshare pid %d, killed)",
                               (gint) (MOLT_LAUNCH_CHILD_TIMEOUT_US / G_USEC_PER_SEC),
                               launch->parent_pid);
    }
  g_object_unref (task);
  return G_SOURCE_REMOVE;
}

gboolean
molt_job_launcher_resolve_user (const gchar *user, gchar **reuid, gchar **regid, GError **error)
{
  struct passwd *pw;

  errno = 0;
  pw = getpwnam (user);
  if (pw == NULL)
    {
      int saved_errno = errno;
      if (saved_errno != 0)
        g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                     "cannot look up user '%s' in the guest: %s", user, g_strerror (saved_errno));
      else
        g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_INVALID_PARAMETER,
                     "no user '%s' in the guest", user);
      return FALSE;
    }
  *reuid = g_strdup_printf ("--reuid=%u", (guint) pw->pw_uid);
  *regid = g_strdup_printf ("--regid=%u", (guint) pw->pw_gid);
  return TRUE;
}

/* Between fork and exec (async-signal-safe only): the job's first process
 * joins the unit's group, so everything it forks is born there. */
static void
join_cgroup (gpointer data)
{
  static const char failed[] = "molt-agent: the job could not join its cgroup\n";
  gint procs_fd = GPOINTER_TO_INT (data);

  if (!molt_job_cgroup_join_self (procs_fd))
    {
      ssize_t ignored = write (STDERR_FILENO, failed, sizeof failed - 1);
      (void) ignored;
      _exit (125);
    }
}

void
molt_job_launcher_start_async (const MoltJobLauncherConfig *config, MoltJob *job,
                               gboolean own_pid_namespace, gint cgroup_procs_fd,
                               MoltJobExitFunc on_exit, gpointer user_data,
                               GAsyncReadyCallback callback, gpointer callback_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, NULL, callback, callback_data);
  g_autofree gchar *unshare = NULL;
  g_autofree gchar *setsid = NULL;
  g_autofree gchar *setpriv = NULL;
  g_autofree gchar *reuid = NULL;
  g_autofree gchar *regid = NULL;
  g_autofree gchar *log_path = NULL;
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  GError *error = NULL;
  MoltLaunch *launch;
  gboolean spawned;
  gint log_fd;

  if (!g_file_test (job->cwd, G_FILE_TEST_IS_DIR))
    {
      g_task_return_new_error (task, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_INVALID_PARAMETER,
                               "working directory '%s' does not exist in the guest", job->cwd);
      return;
    }
  if ((unshare = find_program (config->unshare_path, "unshare", &error)) == NULL
      || (setsid = find_program (config->setsid_path, "setsid", &error)) == NULL
      || (job->user != NULL
          && (setpriv = find_program (config->setpriv_path, "setpriv", &error)) == NULL)
      || (job->user != NULL && !molt_job_launcher_resolve_user (job->user, &reuid, &regid, &error))
      || (log_fd = open_log (config->jobs_dir, job->name, &log_path, &error)) < 0)
    {
      g_task_return_error (task, error);
      return;
    }

  if (own_pid_namespace)
    {
      g_ptr_array_add (argv, unshare);
      g_ptr_array_add (argv, "-p");
      g_ptr_array_add (argv, "-f");
    }
  g_ptr_array_add (argv, setsid);
  /* The user's switch comes last: unshare needs root. */
  if (job->user != NULL)
    {
      g_ptr_array_add (argv, setpriv);
      g_ptr_array_add (argv, reuid);
      g_ptr_array_add (argv, regid);
      g_ptr_array_add (argv, "--init-groups");
    }
  for (guint i = 0; job->argv[i] != NULL; i++)
    g_ptr_array_add (argv, job->argv[i]);
  g_ptr_array_add (argv, NULL);

  launch = g_new0 (MoltLaunch, 1);
  launch->job = job;
  launch->log_path = g_steal_pointer (&log_path);
  launch->on_exit = on_exit;
  launch->user_data = user_data;
  g_task_set_task_data (task, launch, launch_free);
  /* Not GSubprocess: its PID is gone once it has reaped a child that ended
   * at once, and the launcher needs that PID. Not reaped until watched. */
  spawned = g_spawn_async_with_pipes_and_fds (
      job->cwd, (const gchar *const *) argv->pdata, (const gchar *const *) job->env,
      G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDIN_FROM_DEV_NULL,
      cgroup_procs_fd >= 0 ? join_cgroup : NULL, GINT_TO_POINTER (cgroup_procs_fd), -1, log_fd,
      log_fd, NULL, NULL, 0, &launch->parent_pid, NULL, NULL, NULL, &error);
  close (log_fd);
  if (!spawned)
    {
      g_task_return_error (task, error);
      return;
    }
  /* Without a namespace, setsid execs the command in place. */
  if (!own_pid_namespace)
    {
      launch_complete (task, launch->parent_pid);
      return;
    }
  launch->children_path
      = g_strdup_printf ("/proc/%d/task/%d/children", launch->parent_pid, launch->parent_pid);
  launch->deadline = g_get_monotonic_time () + MOLT_LAUNCH_CHILD_TIMEOUT_US;
  g_timeout_add (5, poll_namespace_init, g_steal_pointer (&task));
}

gboolean
molt_job_launcher_start_finish (GAsyncResult *result, GError **error)
{
  MoltLaunch *launch = g_task_get_task_data (G_TASK (result));

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  /* Watched only now: the caller registers the job in this same main loop
   * iteration, before the exit callback can run and look it up. */
  g_child_watch_add (launch->parent_pid, job_exited, g_steal_pointer (&launch->watch));
  return TRUE;
}
