#include "molt-checkpoint.h"
#include "molt-file-check.h"
#include "molt-job-freezer.h"
#include "molt-restore.h"

guint
molt_restore_pending (MoltAgent *agent)
{
  MoltJobRegistry *registry = molt_agent_get_registry (agent);
  g_autoptr (GPtrArray) jobs = molt_job_registry_list (registry);
  guint failed = 0;

  for (guint i = 0; i < jobs->len; i++)
    {
      MoltJob *job = g_ptr_array_index (jobs, i);
      g_autoptr (GError) error = NULL;
      guint64 starttime = 0;
      gint pid;

      if (job->state != MOLT_JOB_STATE_CHECKPOINTED || job->images_dir == NULL)
        continue;
      pid = -1;
      if (molt_file_check_verify (job->images_dir, &error))
        pid = molt_checkpoint_restore (job->images_dir, &error);
      if (pid < 0)
        {
          g_printerr ("molt-agent: restore of job %s failed: %s\n", job->name, error->message);
          job->state = MOLT_JOB_STATE_RESTORE_FAILED;
          g_free (job->restore_error);
          job->restore_error = g_strdup (error->message);
          failed++;
          continue;
        }
      molt_proc_read_starttime (pid, &starttime, NULL);
      job->host_pid = pid;
      job->proc_starttime = starttime;
      /* Read from the restored process, not kept from the registry: the
       * host compares it with the value from before the checkpoint. */
      job->ns_pid = molt_proc_read_ns_pid (pid);
      g_free (job->ns_pids_restored);
      job->ns_pids_restored = molt_job_tree_ns_pids (pid);
      /* The tree was dumped stopped; continue it now: this ends its downtime. */
      molt_job_tree_signal (pid, FALSE, NULL);
      job->state = MOLT_JOB_STATE_RUNNING;
      job->resumed_at = g_get_real_time ();
      g_clear_pointer (&job->restore_error, g_free);
      g_printerr ("molt-agent: restored job %s as pid %d\n", job->name, pid);
    }
  molt_agent_save_registry (agent);
  return failed;
}
