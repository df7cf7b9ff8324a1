#include <string.h>

#include "molt-job-freezer.h"
#include "molt-job.h"
#include "molt-wire.h"
#include "molt-message.h"
#include "molt-protocol-error.h"

#define MOLT_JOB_NAME_MAX 64

static const gchar *const state_names[] = {
  [MOLT_JOB_STATE_RUNNING] = "running",
  [MOLT_JOB_STATE_STOPPING] = "stopping",
  [MOLT_JOB_STATE_EXITED] = "exited",
  [MOLT_JOB_STATE_FROZEN] = "frozen",
  [MOLT_JOB_STATE_CHECKPOINTED] = "checkpointed",
  [MOLT_JOB_STATE_RESTORE_FAILED] = "restore-failed",
};
G_STATIC_ASSERT (G_N_ELEMENTS (state_names) == MOLT_JOB_STATE_LAST);

const gchar *
molt_job_state_to_string (MoltJobState state)
{
  g_return_val_if_fail ((guint) state < MOLT_JOB_STATE_LAST, "unknown");
  return state_names[state];
}

gboolean
molt_job_state_from_string (const gchar *text, MoltJobState *state)
{
  for (guint i = 0; i < MOLT_JOB_STATE_LAST; i++)
    if (g_strcmp0 (text, state_names[i]) == 0)
      {
        *state = (MoltJobState) i;
        return TRUE;
      }
  return FALSE;
}

gboolean
molt_job_name_is_valid (const gchar *name, GError **error)
{
  gsize len = strlen (name);

  if (len == 0 || len > MOLT_JOB_NAME_MAX || name[0] == '.' || name[0] == '-')
    goto bad;
  for (const gchar *p = name; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_' && *p != '.')
      goto bad;
  return TRUE;

bad:
  g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_INVALID_PARAMETER,
               "job name must be 1-%d characters of A-Z a-z 0-9 . _ - and not start "
               "with '.' or '-'",
               MOLT_JOB_NAME_MAX);
  return FALSE;
}

MoltJob *
molt_job_new (const gchar *name)
{
  MoltJob *job = g_new0 (MoltJob, 1);
  job->name = g_strdup (name);
  job->state = MOLT_JOB_STATE_RUNNING;
  return job;
}

void
molt_job_free (MoltJob *job)
{
  if (job == NULL)
    return;
  g_free (job->name);
  g_strfreev (job->argv);
  g_free (job->cwd);
  g_strfreev (job->env);
  g_free (job->log_path);
  g_free (job->images_dir);
  g_free (job->restore_error);
  g_free (job->user);
  g_free (job->ns_pids_dumped);
  g_free (job->ns_pids_restored);
  g_free (job);
}

JsonNode *
molt_job_to_json (const MoltJob *job)
{
  g_autoptr (JsonObject) obj = json_object_new ();

  json_object_set_string_member (obj, MOLT_JOB_KEY_NAME, job->name);
  json_object_set_member (obj, "argv", molt_json_from_strv ((const gchar *const *) job->argv));
  json_object_set_string_member (obj, MOLT_JOB_KEY_CWD, job->cwd);
  json_object_set_member (obj, "env", molt_json_from_strv ((const gchar *const *) job->env));
  json_object_set_string_member (obj, MOLT_JOB_KEY_LOG, job->log_path);
  if (job->user != NULL)
    json_object_set_string_member (obj, MOLT_JOB_KEY_USER, job->user);
  json_object_set_int_member (obj, MOLT_JOB_KEY_PID, job->host_pid);
  json_object_set_int_member (obj, MOLT_JOB_KEY_NS_PID, job->ns_pid);
  json_object_set_int_member (obj, MOLT_JOB_KEY_PROC_STARTTIME, (gint64) job->proc_starttime);
  json_object_set_int_member (obj, MOLT_JOB_KEY_START_TIME, job->start_time);
  json_object_set_string_member (obj, MOLT_JOB_KEY_STATE, molt_job_state_to_string (job->state));
  if (job->state == MOLT_JOB_STATE_EXITED && job->exit_known)
    json_object_set_int_member (obj, MOLT_JOB_KEY_EXIT_STATUS, job->exit_status);
  if (job->images_dir != NULL)
    json_object_set_string_member (obj, MOLT_JOB_KEY_IMAGES, job->images_dir);
  if (job->restore_error != NULL)
    json_object_set_string_member (obj, MOLT_JOB_KEY_RESTORE_ERROR, job->restore_error);
  if (job->ns_pids_dumped != NULL)
    json_object_set_string_member (obj, MOLT_JOB_KEY_NS_PIDS_AT_CHECKPOINT, job->ns_pids_dumped);
  if (job->ns_pids_restored != NULL)
    json_object_set_string_member (obj, MOLT_JOB_KEY_NS_PIDS_AT_RESTORE, job->ns_pids_restored);
  if (job->frozen_at != 0)
    json_object_set_int_member (obj, MOLT_JOB_KEY_FROZEN_AT_US, job->frozen_at);
  if (job->resumed_at != 0)
    json_object_set_int_member (obj, MOLT_JOB_KEY_RESUMED_AT_US, job->resumed_at);
  if (job->hold_after_restore)
    json_object_set_boolean_member (obj, MOLT_JOB_KEY_HOLD_AFTER_RESTORE, TRUE);
  if (job->tcp_close_on_restore)
    json_object_set_boolean_member (obj, MOLT_JOB_KEY_TCP_CLOSE_ON_RESTORE, TRUE);
  return json_node_init_object (json_node_alloc (), obj);
}

static gboolean
read_strv (JsonObject *obj, const gchar *name, GStrv *out, GError **error)
{
  JsonNode *node = json_object_get_member (obj, name);
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  JsonArray *array;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    {
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_PARSE,
                   "job record lacks the array '%s'", name);
      return FALSE;
    }
  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      if (!JSON_NODE_HOLDS_VALUE (element) || json_node_get_value_type (element) != G_TYPE_STRING)
        {
          g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_PARSE,
                       "job record: '%s' holds a non-string", name);
          return FALSE;
        }
      g_strv_builder_add (builder, json_node_get_string (element));
    }
  *out = g_strv_builder_end (builder);
  return TRUE;
}

static gboolean
read_string (JsonObject *obj, const gchar *name, gchar **out, GError **error)
{
  JsonNode *node = json_object_get_member (obj, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_PARSE,
                   "job record lacks the string '%s'", name);
      return FALSE;
    }
  *out = g_strdup (json_node_get_string (node));
  return TRUE;
}

static gboolean
read_int (JsonObject *obj, const gchar *name, gint64 *out, GError **error)
{
  JsonNode *node = json_object_get_member (obj, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_INT64)
    {
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_PARSE,
                   "job record lacks the integer '%s'", name);
      return FALSE;
    }
  *out = json_node_get_int (node);
  return TRUE;
}

MoltJob *
molt_job_from_json (JsonNode *node, GError **error)
{
  g_autoptr (MoltJob) job = NULL;
  g_autofree gchar *name = NULL;
  g_autofree gchar *state = NULL;
  JsonObject *obj;
  gint64 value;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error_literal (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_PARSE,
                           "job record is not an object");
      return NULL;
    }
  obj = json_node_get_object (node);
  if (!read_string (obj, "name", &name, error) || !molt_job_name_is_valid (name, error))
    return NULL;
  job = molt_job_new (name);
  if (!read_strv (obj, "argv", &job->argv, error) || !read_strv (obj, "env", &job->env, error)
      || !read_string (obj, "cwd", &job->cwd, error)
      || !read_string (obj, "log", &job->log_path, error)
      || !read_string (obj, "state", &state, error))
    return NULL;
  if (!molt_job_state_from_string (state, &job->state))
    {
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_PARSE,
                   "job record: unknown state '%s'", state);
      return NULL;
    }
  if (!read_int (obj, "pid", &value, error))
    return NULL;
  job->host_pid = (gint) value;
  if (!read_int (obj, "ns-pid", &value, error))
    return NULL;
  job->ns_pid = (gint) value;
  if (!read_int (obj, "proc-starttime", &value, error))
    return NULL;
  job->proc_starttime = (guint64) value;
  if (!read_int (obj, "start-time", &job->start_time, error))
    return NULL;
  if (json_object_has_member (obj, "exit-status") && read_int (obj, "exit-status", &value, NULL))
    {
      job->exit_status = (gint) value;
      job->exit_known = TRUE;
    }
  if (json_object_has_member (obj, MOLT_JOB_KEY_USER))
    read_string (obj, MOLT_JOB_KEY_USER, &job->user, NULL);
  if (json_object_has_member (obj, "images"))
    read_string (obj, "images", &job->images_dir, NULL);
  if (json_object_has_member (obj, "restore-error"))
    read_string (obj, "restore-error", &job->restore_error, NULL);
  if (json_object_has_member (obj, "ns-pids-at-checkpoint"))
    read_string (obj, "ns-pids-at-checkpoint", &job->ns_pids_dumped, NULL);
  if (json_object_has_member (obj, "ns-pids-at-restore"))
    read_string (obj, "ns-pids-at-restore", &job->ns_pids_restored, NULL);
  read_int (obj, "frozen-at-us", &job->frozen_at, NULL);
  read_int (obj, "resumed-at-us", &job->resumed_at, NULL);
  job->hold_after_restore
      = json_object_get_boolean_member_with_default (obj, MOLT_JOB_KEY_HOLD_AFTER_RESTORE, FALSE);
  job->tcp_close_on_restore
      = json_object_get_boolean_member_with_default (obj, MOLT_JOB_KEY_TCP_CLOSE_ON_RESTORE, FALSE);
  return g_steal_pointer (&job);
}

gboolean
molt_proc_read_starttime (gint pid, guint64 *starttime, GError **error)
{
  g_autofree gchar *path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree gchar *contents = NULL;
  g_auto (GStrv) fields = NULL;
  const gchar *after_comm;

  if (!g_file_get_contents (path, &contents, NULL, error))
    return FALSE;
  /* The command name may hold spaces and ')': fields start after the last ')'. */
  after_comm = strrchr (contents, ')');
  if (after_comm == NULL)
    goto bad;
  fields = g_strsplit (after_comm + 2, " ", 0);
  /* field 3 (state) is fields[0], so field 22 is fields[19] */
  if (g_strv_length (fields) < 20)
    goto bad;
  *starttime = g_ascii_strtoull (fields[19], NULL, 10);
  return TRUE;

bad:
  g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "cannot parse %s", path);
  return FALSE;
}

gboolean
molt_job_tree_is_alive (const MoltJob *job)
{
  guint64 starttime = 0;

  return job->host_pid > 0 && molt_proc_read_starttime (job->host_pid, &starttime, NULL)
         && starttime == job->proc_starttime;
}

gboolean
molt_job_refresh (MoltJob *job)
{
  if (job->state != MOLT_JOB_STATE_RUNNING && job->state != MOLT_JOB_STATE_STOPPING
      && job->state != MOLT_JOB_STATE_FROZEN)
    return FALSE;
  if (molt_job_tree_is_alive (job))
    return FALSE;
  job->state = MOLT_JOB_STATE_EXITED;
  job->exit_known = FALSE;
  return TRUE;
}

gint
molt_proc_read_ns_pid (gint pid)
{
  g_autofree gchar *path = g_strdup_printf ("/proc/%d/status", pid);
  g_autofree gchar *contents = NULL;
  g_auto (GStrv) lines = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return -1;
  lines = g_strsplit (contents, "\n", 0);
  /* "NSpid:\t412\t1": the last field is the PID in the innermost namespace. */
  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], "NSpid:"))
      {
        const gchar *last = strrchr (lines[i], '\t');
        return last != NULL ? (gint) g_ascii_strtoll (last + 1, NULL, 10) : -1;
      }
  return -1;
}

static gint
compare_ints (gconstpointer a, gconstpointer b)
{
  return *(const gint *) a - *(const gint *) b;
}

gchar *
molt_job_tree_ns_pids (gint pid)
{
  g_autoptr (GArray) tree = molt_process_tree (pid);
  g_autoptr (GArray) ns = g_array_new (FALSE, FALSE, sizeof (gint));
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < tree->len; i++)
    {
      gint ns_pid = molt_proc_read_ns_pid (g_array_index (tree, gint, i));
      g_array_append_val (ns, ns_pid);
    }
  g_array_sort (ns, compare_ints);
  for (guint i = 0; i < ns->len; i++)
    g_string_append_printf (out, "%s%d", i > 0 ? " " : "", g_array_index (ns, gint, i));
  return g_string_free (out, FALSE);
}
