/* pre-dump: copies every running job's memory with CRIU while the jobs
 * still run, before the switch freezes them, so that the checkpoint in the
 * freeze window writes only the pages changed since (molt-checkpoint.c).
 * It is an optimisation: a job whose pre-dump fails is dumped whole later,
 * and the reply says why. */
#include <gio/gio.h>
#include <glib/gstdio.h>

#include "molt-args.h"
#include "molt-checkpoint.h"
#include "molt-dispatch.h"
#include "molt-protocol-error.h"

typedef struct
{
  gchar *name;
  gint pid;
  gchar *dir;
  gdouble seconds;
  gchar *error;
} PreDumpItem;

typedef struct
{
  MoltAgent *agent;
  MoltCall *call;
  GArray *items; /* of PreDumpItem */
} PreDumpWork;

static void
item_clear (gpointer data)
{
  PreDumpItem *item = data;
  g_free (item->name);
  g_free (item->dir);
  g_free (item->error);
}

/* CRIU's image directories hold files only. */
static void
remove_flat_dir (const gchar *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const gchar *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree gchar *file = g_build_filename (path, name, NULL);
      g_unlink (file);
    }
  g_rmdir (path);
}

/* In the thread: nothing here touches the agent or the registry. */
static void
pre_dump_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  PreDumpWork *work = data;

  for (guint i = 0; i < work->items->len; i++)
    {
      PreDumpItem *item = &g_array_index (work->items, PreDumpItem, i);
      gint64 start = g_get_monotonic_time ();
      g_autoptr (GError) error = NULL;

      if (!molt_checkpoint_pre_dump (item->pid, item->dir, &error))
        {
          /* A partial pre-dump must not become the dump's parent, nor take
           * the space the dump needs (a full disk fails the dump with its
           * own "No space left on device"). */
          g_autofree gchar *pre = molt_checkpoint_pre_dump_dir (item->dir);
          remove_flat_dir (pre);
          item->error = g_strdup (error->message);
        }
      item->seconds = (g_get_monotonic_time () - start) / (gdouble) G_USEC_PER_SEC;
    }
  g_task_return_boolean (task, TRUE);
}

static void
pre_dump_done (GObject *source, GAsyncResult *result, gpointer data)
{
  PreDumpWork *work = data;
  g_autoptr (JsonArray) results = json_array_new ();

  for (guint i = 0; i < work->items->len; i++)
    {
      PreDumpItem *item = &g_array_index (work->items, PreDumpItem, i);
      JsonObject *entry = json_object_new ();

      json_object_set_string_member (entry, "name", item->name);
      json_object_set_double_member (entry, "seconds", item->seconds);
      if (item->error != NULL)
        json_object_set_string_member (entry, "error", item->error);
      json_array_add_object_element (results, entry);
    }
  molt_agent_set_busy (work->agent, NULL);
  molt_call_return (work->call, json_node_init_array (json_node_alloc (), results));
  g_array_unref (work->items);
  g_free (work);
}

void
molt_command_pre_dump (MoltAgent *agent, JsonObject *args, MoltCall *call)
{
  MoltJobRegistry *registry = molt_agent_get_registry (agent);
  g_autoptr (GPtrArray) jobs = NULL;
  g_autoptr (GTask) task = NULL;
  g_autofree gchar *base = NULL;
  const gchar *tag;
  GError *error = NULL;
  PreDumpWork *work;

  if (!molt_args_get_string (args, "tag", TRUE, &tag, &error)
      || !molt_job_name_is_valid (tag, &error))
    {
      molt_call_fail (call, error);
      return;
    }
  if (molt_job_registry_refresh (registry))
    molt_agent_save_registry (agent);
  jobs = molt_job_registry_list (registry);
  work = g_new0 (PreDumpWork, 1);
  work->agent = agent;
  work->call = call;
  work->items = g_array_new (FALSE, FALSE, sizeof (PreDumpItem));
  g_array_set_clear_func (work->items, item_clear);
  base = g_build_filename (molt_agent_get_state_dir (agent), "images", tag, NULL);
  for (guint i = 0; i < jobs->len; i++)
    {
      MoltJob *job = g_ptr_array_index (jobs, i);
      PreDumpItem item = { 0 };

      if (job->state != MOLT_JOB_STATE_RUNNING)
        continue;
      item.name = g_strdup (job->name);
      item.pid = job->host_pid;
      item.dir = g_build_filename (base, job->name, NULL);
      g_array_append_val (work->items, item);
    }
  /* Busy: a freeze now would stop the jobs under CRIU's feet. */
  molt_agent_set_busy (agent, "pre-dump");
  task = g_task_new (NULL, NULL, pre_dump_done, work);
  g_task_set_task_data (task, work, NULL);
  g_task_run_in_thread (task, pre_dump_thread);
}
