#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "molt-host-error.h"
#include "molt-message.h"
#include "molt-policy-history.h"

struct MoltPolicyHistory
{
  GPtrArray *records; /* JsonObject, oldest first */
  guint skipped;
};

static gchar *
history_path (const gchar *state_dir)
{
  return g_build_filename (state_dir, MOLT_POLICY_HISTORY_FILE, NULL);
}

static gchar *
object_line (JsonObject *obj)
{
  g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), obj);
  g_autofree gchar *text = json_to_string (node, FALSE);

  return g_strconcat (text, "\n", NULL);
}

/* Past the bound, the newer half is written to a new file renamed over
 * the old one: a reader sees one or the other, never a cut line. */
static gboolean
trim (const gchar *path, GError **error)
{
  g_autofree gchar *contents = NULL;
  gsize len = 0;
  const gchar *keep;

  if (!g_file_get_contents (path, &contents, &len, error))
    return FALSE;
  if (len <= MOLT_POLICY_HISTORY_MAX_BYTES)
    return TRUE;
  keep = memchr (contents + len / 2, '\n', len - len / 2);
  keep = keep != NULL ? keep + 1 : contents + len;
  return g_file_set_contents_full (path, keep, (gssize) (contents + len - keep),
                                   G_FILE_SET_CONTENTS_CONSISTENT, 0644, error);
}

gboolean
molt_policy_history_append (const gchar *state_dir, gint64 at, gdouble seconds, JsonArray *actions,
                            GError **error)
{
  g_autofree gchar *path = history_path (state_dir);
  g_autoptr (GString) text = g_string_new (NULL);
  g_autoptr (JsonObject) run = json_object_new ();
  g_autofree gchar *run_line = NULL;
  guint failures = 0;
  gssize done = 0;
  struct stat st;
  int fd;

  for (guint i = 0; i < json_array_get_length (actions); i++)
    {
      JsonObject *a = json_array_get_object_element (actions, i);
      g_autoptr (JsonObject) rec = json_object_new ();
      g_autofree gchar *line = NULL;
      GList *members = json_object_get_members (a);

      json_object_set_int_member (rec, "at", at);
      for (GList *m = members; m != NULL; m = m->next)
        json_object_set_member (rec, m->data, json_node_copy (json_object_get_member (a, m->data)));
      g_list_free (members);
      failures += g_strcmp0 (json_object_get_string_member_with_default (a, "status", ""), "failed")
                  == 0;
      line = object_line (rec);
      g_string_append (text, line);
    }
  json_object_set_int_member (run, "at", at);
  json_object_set_string_member (run, "action", "run");
  json_object_set_double_member (run, "seconds", (gdouble) (gint64) (seconds * 1000 + 0.5) / 1000);
  json_object_set_int_member (run, "actions", json_array_get_length (actions));
  json_object_set_int_member (run, "failures", failures);
  run_line = object_line (run);
  g_string_append (text, run_line);

  if (g_mkdir_with_parents (state_dir, 0755) != 0)
    {
      int saved = errno;
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED, "cannot create %s: %s",
                   state_dir, g_strerror (saved));
      return FALSE;
    }
  /* One write of whole lines with O_APPEND: a crash leaves whole lines
   * or, at worst, one cut last line, which the reader skips. */
  fd = g_open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd >= 0)
    done = write (fd, text->str, text->len);
  if (fd < 0 || done != (gssize) text->len || fsync (fd) != 0)
    {
      int saved = errno;
      if (fd >= 0)
        close (fd);
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED, "cannot append to %s: %s", path,
                   done >= 0 && fd >= 0 && saved == 0 ? "short write" : g_strerror (saved));
      return FALSE;
    }
  /* Read back only past the bound: an apply every 15 minutes must not
   * copy the whole history each time. */
  if (fstat (fd, &st) == 0 && st.st_size <= MOLT_POLICY_HISTORY_MAX_BYTES)
    {
      close (fd);
      return TRUE;
    }
  close (fd);
  return trim (path, error);
}

MoltPolicyHistory *
molt_policy_history_load (const gchar *state_dir, GError **error)
{
  g_autofree gchar *path = history_path (state_dir);
  g_autofree gchar *contents = NULL;
  g_autoptr (GError) local_error = NULL;
  MoltPolicyHistory *history = g_new0 (MoltPolicyHistory, 1);
  gsize len = 0;

  history->records = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  if (!g_file_get_contents (path, &contents, &len, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return history;
      molt_policy_history_free (history);
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                  "cannot read the policy history: ");
      return NULL;
    }
  for (gchar *line = contents, *next; line < contents + len; line = next)
    {
      gchar *nl = memchr (line, '\n', (gsize) (contents + len - line));
      g_autoptr (JsonNode) node = NULL;

      next = nl != NULL ? nl + 1 : contents + len;
      if (nl == NULL)
        {
          history->skipped++; /* a cut last line */
          break;
        }
      *nl = '\0';
      node = molt_json_parse_bounded (line, NULL);
      if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node)
          || !json_object_has_member (json_node_get_object (node), "at"))
        {
          history->skipped++;
          continue;
        }
      g_ptr_array_add (history->records, json_object_ref (json_node_get_object (node)));
    }
  return history;
}

void
molt_policy_history_free (MoltPolicyHistory *history)
{
  if (history == NULL)
    return;
  g_ptr_array_unref (history->records);
  g_free (history);
}

static const gchar *
member (JsonObject *rec, const gchar *name)
{
  JsonNode *node = json_object_get_member (rec, name);

  return node != NULL && JSON_NODE_HOLDS_VALUE (node)
                 && json_node_get_value_type (node) == G_TYPE_STRING
             ? json_node_get_string (node)
             : NULL;
}

static gint64
member_int (JsonObject *rec, const gchar *name)
{
  JsonNode *node = json_object_get_member (rec, name);

  return node != NULL && JSON_NODE_HOLDS_VALUE (node)
                 && json_node_get_value_type (node) == G_TYPE_INT64
             ? json_node_get_int (node)
             : 0;
}

/* The latest run's action on the pair; of several (a create and the
 * prunes after it), a failed one, since that is what status must show. */
MoltPolicyLastRun
molt_policy_history_last_action (MoltPolicyHistory *history, const gchar *policy,
                                 const gchar *domain)
{
  MoltPolicyLastRun last = { 0 };

  for (guint i = history->records->len; i-- > 0;)
    {
      JsonObject *rec = g_ptr_array_index (history->records, i);
      const gchar *action = member (rec, "action");

      if (g_strcmp0 (action, "run") == 0)
        {
          if (last.at > 0)
            break; /* the run before the one found */
          continue;
        }
      if (g_strcmp0 (member (rec, "policy"), policy) != 0
          || g_strcmp0 (member (rec, "domain"), domain) != 0 || member (rec, "status") == NULL
          || (last.at > 0 && g_strcmp0 (member (rec, "status"), "failed") != 0))
        continue;
      last.at = member_int (rec, "at");
      last.action = action != NULL ? action : "?";
      last.status = member (rec, "status");
      last.message = member (rec, "message");
      if (g_str_equal (last.status, "failed"))
        break;
    }
  return last;
}

gint64
molt_policy_history_last_run (MoltPolicyHistory *history, gdouble *seconds, gboolean *ok)
{
  for (guint i = history->records->len; i-- > 0;)
    {
      JsonObject *rec = g_ptr_array_index (history->records, i);
      JsonNode *secs;

      if (g_strcmp0 (member (rec, "action"), "run") != 0)
        continue;
      secs = json_object_get_member (rec, "seconds");
      *seconds = secs != NULL && JSON_NODE_HOLDS_VALUE (secs) ? json_node_get_double (secs) : 0;
      *ok = member_int (rec, "failures") == 0;
      return member_int (rec, "at");
    }
  *seconds = 0;
  *ok = TRUE;
  return 0;
}

guint
molt_policy_history_skipped_lines (MoltPolicyHistory *history)
{
  return history->skipped;
}
