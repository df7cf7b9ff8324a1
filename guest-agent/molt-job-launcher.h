/* Starts a job in its own PID namespace, its init the session leader.
 *
 * Shape: `unshare -p -f setsid CMD...`. A freshly booted kernel reuses low
 * PIDs, so a job restored at its old host PIDs would collide; inside a private
 * namespace its PIDs are its own. */
#pragma once

#include <gio/gio.h>

#include "molt-job.h"

G_BEGIN_DECLS

typedef void (*MoltJobExitFunc) (const gchar *name, gint wait_status, gpointer user_data);

typedef struct
{
  const gchar *unshare_path; /* NULL: look up "unshare" in PATH */
  const gchar *setsid_path;  /* NULL: look up "setsid" in PATH */
  const gchar *setpriv_path; /* NULL: look up "setpriv" in PATH (jobs with a user) */
  const gchar *jobs_dir;     /* logs go to JOBS_DIR/NAME/output.log */
  const gchar *cgroup_root;  /* where cgroup v2 is mounted */
} MoltJobLauncherConfig;

/* Fills job->host_pid, ns_pid, proc_starttime, start_time and log_path,
 * then calls back (on the main context): finish with
 * molt_job_launcher_start_finish. The wait for the namespace's init (up to
 * 5 s) is polled from the main loop, which serves other calls meanwhile; job
 * must live until the callback.
 * With own_pid_namespace FALSE the job runs in the agent's PID namespace
 * (for tools that must see the whole guest; such a job is not portable
 * across a switch: its PIDs are the new kernel's to give).
 * With cgroup_procs_fd >= 0 (molt_job_cgroup_open) the job is born in that
 * cgroup; with job->user set it runs as that user (setpriv, after unshare,
 * which needs root), with the user's groups.
 * on_exit runs on the main context when the job's tree has ended, watched
 * from the finish on: register the job before returning to the main loop. */
void molt_job_launcher_start_async (const MoltJobLauncherConfig *config, MoltJob *job,
                                    gboolean own_pid_namespace, gint cgroup_procs_fd,
                                    MoltJobExitFunc on_exit, gpointer user_data,
                                    GAsyncReadyCallback callback, gpointer callback_data);
/* setpriv's --reuid=UID and --regid=GID (the user's primary group) for
 * USER; a clear error when the guest has no such user. */
gboolean molt_job_launcher_resolve_user (const gchar *user, gchar **reuid, gchar **regid,
                                         GError **error);
gboolean molt_job_launcher_start_finish (GAsyncResult *result, GError **error);

G_END_DECLS
