/* freeze, thaw, fsfreeze-status: the jobs stopped (SIGSTOP) and, for a
 * consistent snapshot, the filesystems frozen (FIFREEZE).
 *
 * The jobs stop at once, on the main loop. sync() and FIFREEZE take as long
 * as the dirty data (or forever, on a dead disk): they run in a thread, and
 * the agent keeps serving sync, info, thaw and the auto-thaw meanwhile. */
#include <unistd.h>

#include <gio/gio.h>

#include "molt-args.h"
#include "molt-dispatch.h"
#include "molt-fs-freezer.h"
#include "molt-job-freezer.h"
#include "molt-message.h"
#include "molt-net-lock.h"
#include "molt-protocol-error.h"

#define MOLT_AUTO_THAW_DEFAULT_S 60

static JsonNode *
job_names (GPtrArray *jobs)
{
  g_autoptr (JsonArray) names = json_array_new ();

  for (guint i = 0; i < jobs->len; i++)
    json_array_add_string_element (names, ((MoltJob *) g_ptr_array_index (jobs, i))->name);
  return json_node_init_array (json_node_alloc (), names);
}

typedef struct
{
  MoltAgent *agent;
  MoltCall *call;
  JsonNode *jobs;
  gint64 frozen_at;
  gboolean filesystems;
} FreezeWork;

/* In the thread: nothing here touches the agent. */
static void
freeze_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  FreezeWork *work = data;
  GError *error = NULL;
  GStrv mounts;

  sync ();
  if (!work->filesystems)
    {
      g_task_return_pointer (task, NULL, NULL);
      return;
    }
  mounts = molt_fs_freeze_all (&error);
  if (mounts == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, mounts, (GDestroyNotify) g_strfreev);
}

static void
freeze_done (GObject *source, GAsyncResult *result, gpointer data)
{
  FreezeWork *work = data;
  MoltAgent *agent = work->agent;
  MoltCall *call = work->call;
  g_autoptr (JsonObject) obj = json_object_new ();
  g_autoptr (JsonNode) jobs = work->jobs;
  GError *error = NULL;
  GStrv mounts = g_task_propagate_pointer (G_TASK (result), &error);
  gboolean filesystems = work->filesystems;
  gint64 frozen_at = work->frozen_at;

  g_free (work);
  /* A thaw (the host's or the auto-thaw) came while the disks synced: the
   * jobs run again, so what the thread froze must not stay frozen. */
  if (error == NULL && !molt_agent_is_frozen (agent))
    {
      molt_fs_thaw_all (mounts);
      g_strfreev (mounts);
      error = g_error_new_literal (MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                                   "the jobs were thawed (by a thaw or the auto-thaw) before the "
                                   "filesystems had synced; nothing is frozen now");
      mounts = NULL;
    }
  molt_agent_end_fs_freeze (agent, mounts);
  if (error != NULL)
    {
      if (molt_agent_is_frozen (agent))
        {
          g_autoptr (JsonNode) ignored = molt_command_thaw (agent, NULL, NULL);
          g_prefix_error (&error, "cannot freeze the filesystems (jobs thawed again): ");
        }
      molt_agent_set_busy (agent, NULL);
      molt_call_fail (call, error);
      return;
    }
  molt_agent_set_busy (agent, NULL);
  json_object_set_member (obj, "jobs", g_steal_pointer (&jobs));
  json_object_set_int_member (obj, "frozen-at-us", frozen_at);
  if (filesystems)
    json_object_set_member (
        obj, "filesystems",
        molt_json_from_strv ((const gchar *const *) molt_agent_get_frozen_mounts (agent)));
  molt_call_return (call, json_node_init_object (json_node_alloc (), obj));
}

/* freeze {filesystems?: bool, timeout?: s}: stop every running job; with
 * filesystems, also FIFREEZE the guest's disks. Without a thaw within the
 * timeout (the host may be gone), the agent thaws by itself: the timer runs
 * from the moment the jobs stop, so it fires even if a disk never syncs. */
void
molt_command_freeze (MoltAgent *agent, JsonObject *args, MoltCall *call)
{
  MoltJobRegistry *registry = molt_agent_get_registry (agent);
  g_autoptr (GPtrArray) jobs = NULL;
  g_autoptr (GPtrArray) frozen = g_ptr_array_new ();
  g_autoptr (GTask) task = NULL;
  gint64 now = g_get_real_time ();
  gint64 timeout = MOLT_AUTO_THAW_DEFAULT_S;
  gboolean filesystems = FALSE;
  GError *error = NULL;
  FreezeWork *work;

  if (!molt_args_get_bool (args, "filesystems", FALSE, &filesystems, &error)
      || !molt_args_get_int (args, "timeout", FALSE, 0, 86400, &timeout, &error))
    {
      molt_call_fail (call, error);
      return;
    }
  molt_job_registry_refresh (registry);
  jobs = molt_job_registry_list (registry);
  for (guint i = 0; i < jobs->len; i++)
    {
      MoltJob *job = g_ptr_array_index (jobs, i);
      if (job->state != MOLT_JOB_STATE_RUNNING)
        continue;
      if (!molt_job_tree_signal (job->host_pid, TRUE, &error))
        {
          /* All or nothing: continue what was already stopped. */
          for (guint j = 0; j < frozen->len; j++)
            {
              MoltJob *undo = g_ptr_array_index (frozen, j);
              molt_job_tree_signal (undo->host_pid, FALSE, NULL);
              undo->state = MOLT_JOB_STATE_RUNNING;
              undo->frozen_at = 0;
            }
          g_prefix_error (&error, "cannot freeze job %s: ", job->name);
          molt_call_fail (call, error);
          return;
        }
      job->state = MOLT_JOB_STATE_FROZEN;
      job->frozen_at = now;
      g_ptr_array_add (frozen, job);
    }
  molt_agent_set_frozen (agent, TRUE);
  /* The registry on disk is part of the snapshot that comes next. */
  molt_agent_save_registry (agent);
  molt_agent_arm_auto_thaw (agent, (guint) timeout);

  work = g_new0 (FreezeWork, 1);
  work->agent = agent;
  work->call = call;
  work->jobs = job_names (frozen);
  work->frozen_at = now;
  work->filesystems = filesystems;
  molt_agent_set_busy (agent, "freeze");
  if (filesystems)
    molt_agent_begin_fs_freeze (agent);
  task = g_task_new (NULL, NULL, freeze_done, work);
  g_task_set_task_data (task, work, NULL);
  g_task_run_in_thread (task, freeze_thread);
}

/* thaw: filesystems first (the registry write waits for them), then jobs,
 * the frozen and the checkpointed whose trees still run in this boot.
 * Refused while CRIU dumps: it holds the jobs, and the dump's end thaws
 * what it did not take. */
JsonNode *
molt_command_thaw (MoltAgent *agent, JsonObject *args, GError **error)
{
  MoltJobRegistry *registry = molt_agent_get_registry (agent);
  g_autoptr (GPtrArray) jobs = molt_job_registry_list (registry);
  g_autoptr (GPtrArray) thawed = g_ptr_array_new ();
  g_autoptr (JsonObject) obj = json_object_new ();
  gint64 now = g_get_real_time ();

  if (molt_agent_is_dumping (agent))
    {
      g_set_error_literal (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_COMMAND_DISABLED,
                           "'thaw' is disabled while a checkpoint is in progress (CRIU holds "
                           "the jobs)");
      return NULL;
    }
  molt_agent_disarm_auto_thaw (agent);
  /* A kexec still due: the host rolls back in place; unload the kernel so
   * that nothing runs it later. */
  if (molt_agent_cancel_kexec (agent))
    {
      g_message ("thawed before the loaded kernel ran: kexec cancelled");
      molt_unload_kernel ();
    }
  molt_agent_thaw_filesystems (agent);
  /* The jobs' connections answer again (a checkpoint locked them), before
   * the jobs run: under the lock a job's UDP sends would fail (EPERM). */
  {
    g_autoptr (GError) unlock_error = NULL;
    if (!molt_net_unlock (FALSE, &unlock_error))
      {
        g_warning ("%s", unlock_error->message);
        json_object_set_string_member (obj, "network-unlock-error", unlock_error->message);
      }
  }
  for (guint i = 0; i < jobs->len; i++)
    {
      MoltJob *job = g_ptr_array_index (jobs, i);
      /* A checkpointed job's tree is still here, stopped, until a kexec:
       * thawed, it runs on; its images go with images-drop. */
      if (job->state == MOLT_JOB_STATE_CHECKPOINTED && !molt_job_tree_is_alive (job))
        continue;
      if (job->state != MOLT_JOB_STATE_FROZEN && job->state != MOLT_JOB_STATE_CHECKPOINTED)
        continue;
      molt_job_tree_signal (job->host_pid, FALSE, NULL);
      job->state = MOLT_JOB_STATE_RUNNING;
      job->resumed_at = now;
      g_ptr_array_add (thawed, job);
    }
  molt_agent_set_frozen (agent, FALSE);
  molt_job_registry_refresh (registry);
  molt_agent_save_registry (agent);
  json_object_set_member (obj, "jobs", job_names (thawed));
  json_object_set_int_member (obj, "resumed-at-us", now);
  return json_node_init_object (json_node_alloc (), obj);
}

JsonNode *
molt_command_fsfreeze_status (MoltAgent *agent, JsonObject *args, GError **error)
{
  g_autoptr (JsonObject) obj = json_object_new ();
  GStrv mounts = molt_agent_get_frozen_mounts (agent);

  json_object_set_string_member (obj, "status", mounts != NULL ? "frozen" : "thawed");
  json_object_set_boolean_member (obj, "jobs-frozen", molt_agent_is_frozen (agent));
  json_object_set_member (obj, "filesystems", molt_json_from_strv ((const gchar *const *) mounts));
  return json_node_init_object (json_node_alloc (), obj);
}
