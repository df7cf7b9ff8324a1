/* checkpoint: every frozen job dumped with CRIU into
 * /var/lib/molt/images/TAG/JOB, after a record of the regular files it
 * holds open. The dump takes as long as the jobs' memory: it runs in a
 * thread, and the agent serves sync, info, job-list and the like meanwhile
 * (the dispatch table says what).
 *
 * The dumped trees stay (stopped, state checkpointed) until the kernel goes:
 * a switch that fails before its kexec thaws them where they are, their
 * connections untouched, instead of restoring or reverting anything. */
#include <stdio.h>
#include <unistd.h>

#include <gio/gio.h>

#include "molt-accept-drain.h"
#include "molt-args.h"
#include "molt-checkpoint.h"
#include "molt-dispatch.h"
#include "molt-file-check.h"
#include "molt-job-freezer.h"
#include "molt-message.h"
#include "molt-net-lock.h"
#include "molt-protocol-error.h"
#include "molt-unix-links.h"

#ifdef MOLT_TEST_FAULTS
/* The test-only faults: what a careless admin might do to a file a job
 * holds open while the switch runs. */
static const gchar *const test_faults[] = {
  "modify-open-file",  /* appended to */
  "remove-open-file",  /* unlinked */
  "replace-open-file", /* a copy renamed over it: another inode */
  NULL,
};

/* TRUE when IMAGES_DIR's job held a file, and the fault was done to it. */
static gboolean
inject_file_fault (const gchar *images_dir, const gchar *fault)
{
  g_autofree gchar *path = molt_file_check_first_path (images_dir, "/output.log");
  g_autofree gchar *copy = NULL;
  g_autofree gchar *contents = NULL;
  gsize len = 0;
  FILE *f;

  if (path == NULL)
    return FALSE;
  if (g_str_equal (fault, "modify-open-file") && (f = fopen (path, "ae")) != NULL)
    {
      fputs ("changed behind the job's back\n", f);
      fclose (f);
    }
  else if (g_str_equal (fault, "remove-open-file"))
    unlink (path);
  else if (g_str_equal (fault, "replace-open-file")
           && g_file_get_contents (path, &contents, &len, NULL))
    {
      copy = g_strconcat (path, ".molt-test", NULL);
      if (g_file_set_contents (copy, contents, (gssize) len, NULL))
        rename (copy, path);
    }
  g_message ("test fault %s on %s after the checkpoint", fault, path);
  return TRUE;
}
#endif

/* The checkpoint's test-only fault hook (docs/testing.md): compiled in only
 * with meson -Dtest_faults=true, and even then refused unless the agent was
 * started with MOLT_AGENT_TEST_FAULTS=1; an unknown fault is refused. */
static gboolean
check_test_fault (const gchar *fault, GError **error)
{
  if (fault == NULL)
    return TRUE;
#ifndef MOLT_TEST_FAULTS
  g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_UNSUPPORTED,
               "'test-fault' is refused: this molt-agent was built without test faults "
               "(meson -Dtest_faults=true builds them, for test images only)");
  return FALSE;
#else
  if (!g_strv_contains (test_faults, fault))
    {
      g_autofree gchar *shown = molt_text_excerpt (fault, 64);
      g_autofree gchar *known = g_strjoinv (", ", (gchar **) test_faults);
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_INVALID_PARAMETER,
                   "unknown test fault '%s' (known: %s)", shown, known);
      return FALSE;
    }
  if (g_strcmp0 (g_getenv ("MOLT_AGENT_TEST_FAULTS"), "1") != 0)
    {
      g_set_error_literal (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_INVALID_PARAMETER,
                           "'test-fault' is for tests only: start the agent with "
                           "MOLT_AGENT_TEST_FAULTS=1 to allow it");
      return FALSE;
    }
  return TRUE;
#endif
}

/* One job to dump: what the thread needs, copied off the registry. */
typedef struct
{
  gchar *name;
  gint pid;
  gchar *dir;
  gboolean tcp_close;
  gdouble seconds;
} DumpItem;

typedef struct
{
  MoltAgent *agent;
  MoltCall *call;
  GArray *items; /* of DumpItem */
  gchar *fault;
  guint dumped;
} DumpWork;

static void
dump_item_clear (gpointer data)
{
  DumpItem *item = data;
  g_free (item->name);
  g_free (item->dir);
}

static void
dump_work_free (DumpWork *work)
{
  g_array_unref (work->items);
  g_free (work->fault);
  g_free (work);
}

/* Unix stream connections from one job to another: each end's queue
 * copied into its job's images (molt-unix-links.h), before any dump. */
static GHashTable *
collect_unix_links (GArray *items, GError **error)
{
  g_autofree const gchar **names = g_new0 (const gchar *, items->len + 1);
  g_autofree gint *pids = g_new0 (gint, items->len + 1);
  GHashTable *links;

  for (guint i = 0; i < items->len; i++)
    {
      names[i] = g_array_index (items, DumpItem, i).name;
      pids[i] = g_array_index (items, DumpItem, i).pid;
    }
  links = molt_unix_links_collect (names, pids, items->len, error);
  if (links == NULL)
    g_prefix_error (error, "checkpoint: ");
  return links;
}

/* ITEM's ends of those connections saved with its images; their inodes,
 * for CRIU to dump as external. */
static GArray *
save_unix_links (GHashTable *links, const DumpItem *item, GError **error)
{
  GPtrArray *ends = g_hash_table_lookup (links, item->name);
  g_autoptr (GArray) inodes = g_array_new (FALSE, FALSE, sizeof (guint32));

  if (!molt_unix_links_save (ends, item->dir, error))
    return NULL;
  for (guint i = 0; ends != NULL && i < ends->len; i++)
    {
      const MoltUnixLinkEnd *end = g_ptr_array_index (ends, i);
      g_array_append_val (inodes, end->inode);
      g_message ("job %s: unix connection socket:[%u] to job %s (socket:[%u]) carried by the "
                 "agent, %" G_GSIZE_FORMAT " bytes queued to this end",
                 item->name, end->inode, end->peer_job, end->peer, g_bytes_get_size (end->queued));
    }
  return g_steal_pointer (&inodes);
}

/* In the thread: nothing here touches the agent or the registry. */
static void
dump_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  DumpWork *work = data;
  g_autoptr (GHashTable) links = NULL;
  GError *error = NULL;

  /* Before the first socket is read: from here until the jobs run again,
   * the guest neither acknowledges nor answers their peers. */
  if (work->items->len > 0 && molt_net_lock_needed () && !molt_net_lock (&error))
    {
      g_prefix_error (&error, "checkpoint: ");
      g_task_return_error (task, error);
      return;
    }
  for (guint i = 0; i < work->items->len; i++)
    {
      DumpItem *item = &g_array_index (work->items, DumpItem, i);
      gint64 start = g_get_monotonic_time ();
      guint accepted = 0;

      /* Kept connections: the job accepts what waits first (the lock holds
       * new ones off). Closed ones: CRIU drops what waits. */
      if (!item->tcp_close && !molt_accept_drain (item->pid, &accepted, &error))
        {
          g_prefix_error (&error, "checkpoint of job %s: ", item->name);
          g_task_return_error (task, error);
          return;
        }
      if (accepted > 0)
        g_message ("job %s accepted %u waiting connection(s) before its dump", item->name,
                   accepted);
      item->seconds = (g_get_monotonic_time () - start) / (gdouble) G_USEC_PER_SEC;
    }
  /* After every job is stopped for good (an accept drain lets one run). */
  if ((links = collect_unix_links (work->items, &error)) == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  for (guint i = 0; i < work->items->len; i++)
    {
      DumpItem *item = &g_array_index (work->items, DumpItem, i);
      gint64 start = g_get_monotonic_time ();
      g_autoptr (GArray) external_unix = NULL;

      if (!molt_file_check_record (item->pid, item->dir, &error)
          || (external_unix = save_unix_links (links, item, &error)) == NULL
          || !molt_checkpoint_dump (item->pid, item->dir, item->tcp_close, external_unix, &error))
        {
          g_prefix_error (&error, "checkpoint of job %s: ", item->name);
          g_task_return_error (task, error);
          return;
        }
#ifdef MOLT_TEST_FAULTS
      /* One file, the first job's that holds one: a job that opens its
       * file only for a moment (molt-test-socketpair) and was caught with
       * it open must not be faulted too (seen: the check then named its
       * file, not the one the test faults). */
      if (work->fault != NULL && inject_file_fault (item->dir, work->fault))
        g_clear_pointer (&work->fault, g_free);
#endif
      item->seconds += (g_get_monotonic_time () - start) / (gdouble) G_USEC_PER_SEC;
      work->dumped++;
    }
  sync ();
  g_task_return_boolean (task, TRUE);
}

/* Back on the main loop: the registry learns what was dumped. */
static void
dump_done (GObject *source, GAsyncResult *result, gpointer data)
{
  DumpWork *work = data;
  MoltJobRegistry *registry = molt_agent_get_registry (work->agent);
  g_autoptr (JsonArray) results = json_array_new ();
  GError *error = NULL;
  gboolean ok = g_task_propagate_boolean (G_TASK (result), &error);

  for (guint i = 0; i < work->dumped; i++)
    {
      DumpItem *item = &g_array_index (work->items, DumpItem, i);
      MoltJob *job = molt_job_registry_lookup (registry, item->name);
      g_autoptr (JsonObject) entry = json_object_new ();

      if (job == NULL)
        continue;
      job->state = MOLT_JOB_STATE_CHECKPOINTED;
      g_free (job->images_dir);
      job->images_dir = g_strdup (item->dir);
      g_clear_pointer (&job->restore_error, g_free);
      json_object_set_string_member (entry, "name", item->name);
      json_object_set_double_member (entry, "seconds", item->seconds);
      json_array_add_object_element (results, g_steal_pointer (&entry));
    }
  molt_agent_end_dumping (work->agent);
  molt_agent_save_registry (work->agent);
  molt_agent_set_busy (work->agent, NULL);
  if (ok)
    molt_call_return (work->call, json_node_init_array (json_node_alloc (), results));
  else
    molt_call_fail (work->call, error);
  dump_work_free (work);
}

/* "keep" (default): connections re-created on the new kernel; "close":
 * they come back closed, for peers that cannot wait or a switch that
 * restarts the network (--method reboot). */
static gboolean
check_tcp_mode (const gchar *tcp, GError **error)
{
  if (tcp == NULL || g_str_equal (tcp, "keep") || g_str_equal (tcp, "close"))
    return TRUE;
  g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_INVALID_PARAMETER,
               "'tcp' must be \"keep\" or \"close\"");
  return FALSE;
}

void
molt_command_checkpoint (MoltAgent *agent, JsonObject *args, MoltCall *call)
{
  MoltJobRegistry *registry = molt_agent_get_registry (agent);
  g_autoptr (GPtrArray) jobs = molt_job_registry_list (registry);
  g_autoptr (GStrvBuilder) names = g_strv_builder_new ();
  g_autoptr (GTask) task = NULL;
  g_autofree gchar *base = NULL;
  const gchar *tag, *fault, *tcp = "keep";
  gboolean hold = FALSE;
  GError *error = NULL;
  DumpWork *work;

  if (!molt_args_get_string (args, "tag", TRUE, &tag, &error)
      || !molt_args_get_bool (args, "hold", FALSE, &hold, &error)
      || !molt_args_get_string (args, "tcp", FALSE, &tcp, &error) || !check_tcp_mode (tcp, &error)
      || !molt_job_name_is_valid (tag, &error)
      || !molt_args_get_string (args, "test-fault", FALSE, &fault, &error)
      || !check_test_fault (fault, &error))
    {
      molt_call_fail (call, error);
      return;
    }
  work = g_new0 (DumpWork, 1);
  work->agent = agent;
  work->call = call;
  work->fault = g_strdup (fault);
  work->items = g_array_new (FALSE, FALSE, sizeof (DumpItem));
  g_array_set_clear_func (work->items, dump_item_clear);
  base = g_build_filename (molt_agent_get_state_dir (agent), "images", tag, NULL);
  for (guint i = 0; i < jobs->len; i++)
    {
      MoltJob *job = g_ptr_array_index (jobs, i);
      DumpItem item;

      if (job->state != MOLT_JOB_STATE_FROZEN)
        continue;
      item.name = g_strdup (job->name);
      item.pid = job->host_pid;
      item.dir = g_build_filename (base, job->name, NULL);
      item.tcp_close = g_strcmp0 (tcp, "close") == 0;
      item.seconds = 0;
      g_array_append_val (work->items, item);
      g_strv_builder_add (names, job->name);
      /* Read before the dump ends the tree, to compare after the restore. */
      g_free (job->ns_pids_dumped);
      job->ns_pids_dumped = molt_job_tree_ns_pids (job->host_pid);
      g_clear_pointer (&job->ns_pids_restored, g_free);
      job->hold_after_restore = hold;
      job->tcp_close_on_restore = g_strcmp0 (tcp, "close") == 0;
    }
  molt_agent_set_busy (agent, "checkpoint");
  molt_agent_set_dumping (agent, g_strv_builder_end (names));
  task = g_task_new (NULL, NULL, dump_done, work);
  g_task_set_task_data (task, work, NULL);
  g_task_run_in_thread (task, dump_thread);
}
