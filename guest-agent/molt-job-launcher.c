#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

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
job_wait_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  MoltJobWatch *watch = data;
  GSubprocess *proc = G_SUBPROCESS (source);
  gint status = -1;

  if (g_subprocess_wait_finish (proc, result, NULL))
    status = g_subprocess_get_status (proc);
  watch->on_exit (watch->name, status, watch->user_data);
  g_free (watch->name);
  g_free (watch);
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

/* unshare has exited: a zombie until GLib's child watch reaps it (off the
 * main loop, so it may be gone already). */
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

/* unshare forks the namespace's init right after it starts: find that
 * child. A command that ends at once (cat FILE) may be gone, and unshare
 * with it, before we look: the job then is unshare itself, which exits with
 * its child's status. */
static gint
wait_for_namespace_init (gint parent_pid, GError **error)
{
  g_autofree gchar *path = g_strdup_printf ("/proc/%d/task/%d/children", parent_pid, parent_pid);
  gint64 deadline = g_get_monotonic_time () + MOLT_LAUNCH_CHILD_TIMEOUT_US;

  while (g_get_monotonic_time () < deadline)
    {
      g_autofree gchar *contents = NULL;
      if (g_file_get_contents (path, &contents, NULL, NULL) && contents[0] != '\0')
        return (gint) g_ascii_strtoll (contents, NULL, 10);
      if (is_zombie (parent_pid))
        return parent_pid;
      g_usleep (5000);
    }
  g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
               "the job's PID namespace did not start (unshare pid %d)", parent_pid);
  return -1;
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

gboolean
molt_job_launcher_start (const MoltJobLauncherConfig *config, MoltJob *job,
                         gboolean own_pid_namespace, MoltJobExitFunc on_exit, gpointer user_data,
                         GError **error)
{
  g_autofree gchar *unshare = NULL;
  g_autofree gchar *setsid = NULL;
  g_autofree gchar *log_path = NULL;
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  MoltJobWatch *watch;
  gint log_fd, parent_pid, init_pid;
  guint64 starttime = 0;

  if (!g_file_test (job->cwd, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_INVALID_PARAMETER,
                   "working directory '%s' does not exist in the guest", job->cwd);
      return FALSE;
    }
  unshare = find_program (config->unshare_path, "unshare", error);
  if (unshare == NULL)
    return FALSE;
  setsid = find_program (config->setsid_path, "setsid", error);
  if (setsid == NULL)
    return FALSE;
  log_fd = open_log (config->jobs_dir, job->name, &log_path, error);
  if (log_fd < 0)
    return FALSE;

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_set_cwd (launcher, job->cwd);
  g_subprocess_launcher_set_environ (launcher, job->env);
  g_subprocess_launcher_take_stdout_fd (launcher, dup (log_fd));
  g_subprocess_launcher_take_stderr_fd (launcher, log_fd);

  if (own_pid_namespace)
    {
      g_ptr_array_add (argv, unshare);
      g_ptr_array_add (argv, "-p");
      g_ptr_array_add (argv, "-f");
    }
  g_ptr_array_add (argv, setsid);
  for (guint i = 0; job->argv[i] != NULL; i++)
    g_ptr_array_add (argv, job->argv[i]);
  g_ptr_array_add (argv, NULL);

  proc = g_subprocess_launcher_spawnv (launcher, (const gchar *const *) argv->pdata, error);
  if (proc == NULL)
    return FALSE;
  parent_pid = (gint) g_ascii_strtoll (g_subprocess_get_identifier (proc), NULL, 10);
  /* Without a namespace, setsid execs the command in place. */
  init_pid = own_pid_namespace ? wait_for_namespace_init (parent_pid, error) : parent_pid;
  if (init_pid < 0)
    {
      g_subprocess_force_exit (proc);
      return FALSE;
    }
  /* A command that ended at once may be reaped already (GLib's child
   * watch does it off the main loop): the job started, and its wait
   * callback brings its status. */
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
  job->log_path = g_steal_pointer (&log_path);

  watch = g_new0 (MoltJobWatch, 1);
  watch->name = g_strdup (job->name);
  watch->on_exit = on_exit;
  watch->user_data = user_data;
  g_subprocess_wait_async (proc, NULL, job_wait_cb, watch);
  return TRUE;
}
