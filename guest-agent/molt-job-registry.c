#include <errno.h>
#include <string.h>

#include "molt-job-registry.h"
#include "molt-message.h"
#include "molt-protocol-error.h"

#define MOLT_REGISTRY_VERSION  1
#define MOLT_REGISTRY_MAX_SIZE (16 * 1024 * 1024)

struct _MoltJobRegistry
{
  gchar *path;
  GHashTable *jobs; /* name -> MoltJob */
};

MoltJobRegistry *
molt_job_registry_new (const gchar *path)
{
  MoltJobRegistry *registry = g_new0 (MoltJobRegistry, 1);
  registry->path = g_strdup (path);
  registry->jobs
      = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) molt_job_free);
  return registry;
}

void
molt_job_registry_free (MoltJobRegistry *registry)
{
  if (registry == NULL)
    return;
  g_hash_table_unref (registry->jobs);
  g_free (registry->path);
  g_free (registry);
}

const gchar *
molt_job_registry_get_path (MoltJobRegistry *registry)
{
  return registry->path;
}

gboolean
molt_job_registry_load (MoltJobRegistry *registry, GError **error)
{
  g_autofree gchar *contents = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autoptr (JsonNode) root = NULL;
  JsonNode *jobs_node;
  JsonArray *jobs;
  gsize len = 0;

  g_hash_table_remove_all (registry->jobs);
  if (!g_file_get_contents (registry->path, &contents, &len, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (len > MOLT_REGISTRY_MAX_SIZE || memchr (contents, '\0', len) != NULL)
    {
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_PARSE,
                   "%s: not a job registry (binary or too large)", registry->path);
      return FALSE;
    }
  root = molt_json_parse_bounded (contents, &local_error);
  if (root == NULL)
    {
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_PARSE, "%s: %s", registry->path,
                   local_error->message);
      return FALSE;
    }
  if (!JSON_NODE_HOLDS_OBJECT (root)
      || (jobs_node = json_object_get_member (json_node_get_object (root), "jobs")) == NULL
      || !JSON_NODE_HOLDS_ARRAY (jobs_node))
    {
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_PARSE,
                   "%s: expected an object with a 'jobs' array", registry->path);
      return FALSE;
    }
  jobs = json_node_get_array (jobs_node);
  for (guint i = 0; i < json_array_get_length (jobs); i++)
    {
      MoltJob *job = molt_job_from_json (json_array_get_element (jobs, i), &local_error);
      if (job == NULL)
        {
          g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_PARSE, "%s: job %u: %s",
                       registry->path, i, local_error->message);
          g_hash_table_remove_all (registry->jobs);
          return FALSE;
        }
      g_hash_table_replace (registry->jobs, job->name, job);
    }
  return TRUE;
}

gboolean
molt_job_registry_save (MoltJobRegistry *registry, GError **error)
{
  g_autoptr (GPtrArray) list = molt_job_registry_list (registry);
  g_autoptr (JsonObject) obj = json_object_new ();
  g_autoptr (JsonArray) jobs = json_array_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree gchar *text = NULL;
  g_autofree gchar *dir = g_path_get_dirname (registry->path);

  for (guint i = 0; i < list->len; i++)
    json_array_add_element (jobs, molt_job_to_json (g_ptr_array_index (list, i)));
  json_object_set_int_member (obj, "version", MOLT_REGISTRY_VERSION);
  json_object_set_array_member (obj, "jobs", json_array_ref (jobs));
  root = json_node_init_object (json_node_alloc (), obj);
  text = molt_json_to_line (root);

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   "cannot create %s: %s", dir, g_strerror (saved_errno));
      return FALSE;
    }
  /* DURABLE: the registry must be on disk before a kexec can happen. */
  return g_file_set_contents_full (registry->path, text, -1,
                                   G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                   0600, error);
}

MoltJob *
molt_job_registry_lookup (MoltJobRegistry *registry, const gchar *name)
{
  return g_hash_table_lookup (registry->jobs, name);
}

gboolean
molt_job_registry_add (MoltJobRegistry *registry, MoltJob *job, GError **error)
{
  MoltJob *existing = g_hash_table_lookup (registry->jobs, job->name);

  if (existing != NULL)
    {
      molt_job_refresh (existing);
      if (existing->state != MOLT_JOB_STATE_EXITED)
        {
          g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_EXISTS,
                       "a job named '%s' is already running (pid %d)", job->name,
                       existing->host_pid);
          molt_job_free (job);
          return FALSE;
        }
    }
  g_hash_table_replace (registry->jobs, job->name, job);
  return TRUE;
}

gboolean
molt_job_registry_remove (MoltJobRegistry *registry, const gchar *name)
{
  return g_hash_table_remove (registry->jobs, name);
}

static gint
compare_jobs (gconstpointer a, gconstpointer b)
{
  const MoltJob *ja = *(const MoltJob *const *) a;
  const MoltJob *jb = *(const MoltJob *const *) b;

  if (ja->start_time != jb->start_time)
    return ja->start_time < jb->start_time ? -1 : 1;
  return g_strcmp0 (ja->name, jb->name);
}

GPtrArray *
molt_job_registry_list (MoltJobRegistry *registry)
{
  GPtrArray *list = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, registry->jobs);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (list, value);
  g_ptr_array_sort (list, compare_jobs);
  return list;
}

gboolean
molt_job_registry_refresh (MoltJobRegistry *registry)
{
  GHashTableIter iter;
  gpointer value;
  gboolean changed = FALSE;

  g_hash_table_iter_init (&iter, registry->jobs);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    changed |= molt_job_refresh (value);
  return changed;
}

guint
molt_job_registry_count_state (MoltJobRegistry *registry, MoltJobState state)
{
  GHashTableIter iter;
  gpointer value;
  guint count = 0;

  g_hash_table_iter_init (&iter, registry->jobs);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    count += ((MoltJob *) value)->state == state;
  return count;
}
