/* Boot-time restore, all or nothing: every pending job is restored stopped
 * and checked (its namespace PIDs those of the checkpoint) before any of
 * them runs. If one cannot come back, the others are ended again before
 * they ran a single instruction, and every job keeps its images: the host
 * can switch back to the old kernel and restore them all there, with no
 * work done twice. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/utsname.h>

#include "molt-checkpoint.h"
#include "molt-file-check.h"
#include "molt-job-freezer.h"
#include "molt-net-lock.h"
#include "molt-protocol-error.h"
#include "molt-restore.h"
#include "molt-unix-link-pairs.h"

static gboolean
is_pending (const MoltJob *job)
{
  return job->images_dir != NULL
         && (job->state == MOLT_JOB_STATE_CHECKPOINTED
             || job->state == MOLT_JOB_STATE_RESTORE_FAILED);
}

#ifdef MOLT_TEST_FAULTS
/* Test-only (built with -Dtest_faults, docs/testing.md): a restore that
 * fails on one kernel release only, so that the switch back to the old
 * kernel (rollback layer 2) can be tested end to end. The marker is
 * STATE_DIR/test-fail-restore-on-RELEASE. */
static gboolean
test_restore_refused (const gchar *state_dir, GError **error)
{
  struct utsname uts;
  g_autofree gchar *marker = NULL;

  if (uname (&uts) != 0)
    return FALSE;
  marker = g_strdup_printf ("%s/test-fail-restore-on-%s", state_dir, uts.release);
  if (!g_file_test (marker, G_FILE_TEST_EXISTS))
    return FALSE;
  g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
               "test fault: restore refused on %s (%s)", uts.release, marker);
  return TRUE;
}
#endif

/* One job back, stopped; FALSE with the reason. */
static gboolean
restore_one (const gchar *state_dir, MoltJob *job, MoltUnixLinkPairs *links, GError **error)
{
  g_autoptr (GArray) inherit = NULL;
  guint64 starttime = 0;
  gint pid;

#ifdef MOLT_TEST_FAULTS
  if (test_restore_refused (state_dir, error))
    return FALSE;
#endif
  if (!molt_file_check_verify (job->images_dir, error))
    return FALSE;
  inherit = molt_unix_link_pairs_take_fds (links, job->name);
  pid = molt_checkpoint_restore (job->images_dir, job->tcp_close_on_restore, inherit, error);
  /* The restored tree holds its ends now (or the restore failed). */
  molt_unix_link_pairs_release (links, job->name);
  if (pid < 0)
    return FALSE;
  molt_proc_read_starttime (pid, &starttime, NULL);
  job->host_pid = pid;
  job->proc_starttime = starttime;
  /* Read from the restored process, not kept from the registry: the host
   * compares it with the value from before the checkpoint. */
  job->ns_pid = molt_proc_read_ns_pid (pid);
  g_free (job->ns_pids_restored);
  job->ns_pids_restored = molt_job_tree_ns_pids (pid);
  if (g_strcmp0 (job->ns_pids_restored, job->ns_pids_dumped) != 0)
    {
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                   "came back with other PIDs in its namespace (%s, was %s)", job->ns_pids_restored,
                   job->ns_pids_dumped);
      /* The caller ends it with the others. */
      return FALSE;
    }
  return TRUE;
}

#define TCP_WINDOW_SCALING "/proc/sys/net/ipv4/tcp_window_scaling"

/* A connection that did not negotiate window scaling (QEMU's user-mode
 * network does not) gets none from CRIU, and a restored socket then keeps
 * the kernel's default scale: it advertises its window shifted by 14 bits
 * ("win 4") and the peer sends a few bytes per probe. Restoring with
 * scaling off gives such sockets none; the ones that negotiated it get
 * their scale back from CRIU's repair options (DESIGN.md). Returns the
 * setting before, to put back; NULL when there is none to change. */
static gboolean
write_sysctl (const gchar *path, const gchar *value)
{
  /* In place: g_file_set_contents would rename a new file over it. */
  FILE *f = fopen (path, "w");
  gboolean ok = f != NULL && fputs (value, f) >= 0;

  if (f != NULL && fclose (f) != 0)
    ok = FALSE;
  if (!ok)
    g_printerr ("molt-agent: cannot write %s: %s\n", path, g_strerror (errno));
  return ok;
}

static gchar *
window_scaling_off (void)
{
  gchar *before = NULL;

  if (!g_file_get_contents (TCP_WINDOW_SCALING, &before, NULL, NULL))
    return NULL;
  if (!write_sysctl (TCP_WINDOW_SCALING, "0\n"))
    g_clear_pointer (&before, g_free);
  return before;
}

static gboolean
any_pending (GPtrArray *jobs)
{
  for (guint i = 0; i < jobs->len; i++)
    if (is_pending (g_ptr_array_index (jobs, i)))
      return TRUE;
  return FALSE;
}

guint
molt_restore_lock_network (MoltAgent *agent)
{
  g_autoptr (GPtrArray) jobs = molt_job_registry_list (molt_agent_get_registry (agent));
  g_autoptr (GError) error = NULL;

  if (!any_pending (jobs))
    return 0;
  if (!molt_net_lock (&error))
    {
      g_printerr ("molt-agent: %s\n", error->message);
      return 1;
    }
  g_printerr ("molt-agent: network locked until the jobs are restored\n");
  return 0;
}

/* Once every job came back, before any runs: their sockets answer again
 * (a job that ran under the lock would see its UDP sends fail with EPERM).
 * Held jobs wait for the host's thaw, which unlocks: until then what the
 * guest would acknowledge could still be lost by a switch back. */
static void
unlock_after_restore (GPtrArray *restored)
{
  g_autoptr (GError) error = NULL;

  for (guint i = 0; i < restored->len; i++)
    if (((MoltJob *) g_ptr_array_index (restored, i))->hold_after_restore)
      return;
  if (!molt_net_unlock (TRUE, &error))
    g_printerr ("molt-agent: %s\n", error->message);
}

/* The unix connections between the pending jobs, made again before any
 * restore (each restore takes its ends). FALSE with the job that cannot
 * have its connections back, and why. */
static gboolean
connect_unix_links (MoltJobRegistry *registry, GPtrArray *jobs, MoltUnixLinkPairs *links,
                    MoltJob **failed, GError **error)
{
  g_autofree gchar *failed_name = NULL;

  for (guint i = 0; i < jobs->len; i++)
    {
      MoltJob *job = g_ptr_array_index (jobs, i);
      g_autoptr (GPtrArray) ends = NULL;

      if (!is_pending (job))
        continue;
      if ((ends = molt_unix_links_load (job->images_dir, error)) == NULL)
        {
          *failed = job;
          return FALSE;
        }
      molt_unix_link_pairs_add (links, job->name, ends);
    }
  if (molt_unix_link_pairs_connect (links, &failed_name, error))
    return TRUE;
  *failed = molt_job_registry_lookup (registry, failed_name);
  for (guint i = 0; *failed == NULL && i < jobs->len; i++)
    if (is_pending (g_ptr_array_index (jobs, i)))
      *failed = g_ptr_array_index (jobs, i);
  return FALSE;
}

guint
molt_restore_pending (MoltAgent *agent)
{
  MoltJobRegistry *registry = molt_agent_get_registry (agent);
  g_autoptr (GPtrArray) jobs = molt_job_registry_list (registry);
  g_autoptr (GPtrArray) restored = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  g_autofree gchar *scaling = any_pending (jobs) ? window_scaling_off () : NULL;
  g_autoptr (MoltUnixLinkPairs) links = molt_unix_link_pairs_new ();
  MoltJob *failed = NULL;

  connect_unix_links (registry, jobs, links, &failed, &error);
  for (guint i = 0; i < jobs->len && failed == NULL; i++)
    {
      MoltJob *job = g_ptr_array_index (jobs, i);

      if (!is_pending (job))
        continue;
      if (restore_one (molt_agent_get_state_dir (agent), job, links, &error))
        g_ptr_array_add (restored, job);
      else
        failed = job;
    }
  if (scaling != NULL)
    write_sysctl (TCP_WINDOW_SCALING, scaling);
  if (failed != NULL)
    {
      g_printerr ("molt-agent: restore of job %s failed: %s\n", failed->name, error->message);
      failed->state = MOLT_JOB_STATE_RESTORE_FAILED;
      g_free (failed->restore_error);
      failed->restore_error = g_strdup (error->message);
      /* Its own tree too, if the check after the restore refused it. */
      if (failed->host_pid > 0 && molt_job_tree_is_alive (failed))
        kill (failed->host_pid, SIGKILL);
      for (guint i = 0; i < restored->len; i++)
        {
          MoltJob *job = g_ptr_array_index (restored, i);
          /* Killing a namespace's init ends the whole namespace. */
          kill (job->host_pid, SIGKILL);
          job->state = MOLT_JOB_STATE_CHECKPOINTED;
          g_free (job->restore_error);
          job->restore_error = g_strdup_printf (
              "not restored: job %s could not be, and the jobs come back together or not at all",
              failed->name);
        }
      molt_agent_save_registry (agent);
      /* The lock stays: the host switches back, and the old kernel
       * restores the connections from the same images. */
      return 1;
    }
  if (restored->len > 0)
    unlock_after_restore (restored);
  for (guint i = 0; i < restored->len; i++)
    {
      MoltJob *job = g_ptr_array_index (restored, i);

      g_clear_pointer (&job->restore_error, g_free);
      /* Held: the host checks the new kernel (a probe) before the jobs
       * run on it, and can still switch back without work done twice. */
      if (job->hold_after_restore)
        {
          job->state = MOLT_JOB_STATE_FROZEN;
          g_printerr ("molt-agent: restored job %s as pid %d, held stopped\n", job->name,
                      job->host_pid);
          continue;
        }
      /* The tree was dumped stopped; continue it now: this ends its downtime. */
      molt_job_tree_signal (job->host_pid, FALSE, NULL);
      job->state = MOLT_JOB_STATE_RUNNING;
      job->resumed_at = g_get_real_time ();
      g_printerr ("molt-agent: restored job %s as pid %d\n", job->name, job->host_pid);
    }
  molt_agent_save_registry (agent);
  return 0;
}
