#include <errno.h>
#include <string.h>

#include <gio/gio.h>

#include "molt-host-error.h"
#include "molt-journal.h"
#include "molt-message.h"

struct _MoltJournal
{
  gchar *path;
  JsonObject *root;
};

static const gchar *const state_names[] = {
  [MOLT_JOURNAL_NONE] = "none",           [MOLT_JOURNAL_IN_PROGRESS] = "in-progress",
  [MOLT_JOURNAL_COMMITTED] = "committed", [MOLT_JOURNAL_ROLLED_BACK] = "rolled-back",
  [MOLT_JOURNAL_FAILED] = "failed",
};
G_STATIC_ASSERT (G_N_ELEMENTS (state_names) == MOLT_JOURNAL_LAST);

const gchar *
molt_journal_state_to_string (MoltJournalState state)
{
  return (guint) state < MOLT_JOURNAL_LAST ? state_names[state] : state_names[0];
}

gboolean
molt_journal_state_is_unresolved (MoltJournalState state)
{
  return state == MOLT_JOURNAL_IN_PROGRESS || state == MOLT_JOURNAL_FAILED;
}

MoltJournal *
molt_journal_new (const gchar *state_dir, const gchar *uuid, const gchar *domain)
{
  MoltJournal *journal = g_new0 (MoltJournal, 1);
  g_autofree gchar *file = g_strconcat (uuid, ".json", NULL);

  g_return_val_if_fail (strchr (uuid, '/') == NULL, NULL);
  journal->path = g_build_filename (state_dir, "journal", file, NULL);
  journal->root = json_object_new ();
  json_object_set_string_member (journal->root, "domain", domain);
  json_object_set_string_member (journal->root, "uuid", uuid);
  json_object_set_array_member (journal->root, "steps", json_array_new ());
  return journal;
}

void
molt_journal_free (MoltJournal *journal)
{
  if (journal == NULL)
    return;
  json_object_unref (journal->root);
  g_free (journal->path);
  g_free (journal);
}

const gchar *
molt_journal_get_path (MoltJournal *journal)
{
  return journal->path;
}

gboolean
molt_journal_load (MoltJournal *journal, GError **error)
{
  g_autofree gchar *contents = NULL;
  g_autoptr (JsonNode) node = NULL;

  if (!g_file_get_contents (journal->path, &contents, NULL, error))
    return FALSE;
  node = molt_json_parse_bounded (contents, error);
  if (node == NULL)
    return FALSE;
  if (!JSON_NODE_HOLDS_OBJECT (node)
      || !JSON_NODE_HOLDS_ARRAY (json_object_get_member (json_node_get_object (node), "steps")))
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED, "%s is not a molt journal",
                   journal->path);
      return FALSE;
    }
  json_object_unref (journal->root);
  journal->root = json_object_ref (json_node_get_object (node));
  return TRUE;
}

gboolean
molt_journal_save (MoltJournal *journal, GError **error)
{
  g_autofree gchar *dir = g_path_get_dirname (journal->path);
  g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), journal->root);
  g_autofree gchar *text = molt_json_to_line (node);

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED, "cannot create %s: %s", dir,
                   g_strerror (saved_errno));
      return FALSE;
    }
  return g_file_set_contents_full (journal->path, text, -1,
                                   G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                   0600, error);
}

void
molt_journal_set_string (MoltJournal *journal, const gchar *key, const gchar *value)
{
  if (value == NULL)
    json_object_remove_member (journal->root, key);
  else
    json_object_set_string_member (journal->root, key, value);
}

const gchar *
molt_journal_get_string (MoltJournal *journal, const gchar *key)
{
  return json_object_get_string_member_with_default (journal->root, key, NULL);
}

void
molt_journal_set_array (MoltJournal *journal, const gchar *key, JsonArray *array)
{
  json_object_set_array_member (journal->root, key, json_array_ref (array));
}

JsonArray *
molt_journal_get_array (MoltJournal *journal, const gchar *key)
{
  JsonNode *node = json_object_get_member (journal->root, key);
  return node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
}

MoltJournalState
molt_journal_get_state (MoltJournal *journal)
{
  const gchar *text = molt_journal_get_string (journal, "state");

  for (guint i = 0; text != NULL && i < MOLT_JOURNAL_LAST; i++)
    if (g_str_equal (text, state_names[i]))
      return (MoltJournalState) i;
  return MOLT_JOURNAL_NONE;
}

gboolean
molt_journal_set_state (MoltJournal *journal, MoltJournalState state, GError **error)
{
  json_object_set_string_member (journal->root, "state", molt_journal_state_to_string (state));
  return molt_journal_save (journal, error);
}

const gchar *
molt_journal_get_last_step (MoltJournal *journal, gint64 *since)
{
  JsonArray *steps = json_object_get_array_member (journal->root, "steps");
  guint n = json_array_get_length (steps);
  JsonObject *last = n > 0 ? json_array_get_object_element (steps, n - 1) : NULL;

  if (since != NULL && last != NULL)
    *since = json_object_get_int_member_with_default (last, "started-us", 0) / G_USEC_PER_SEC;
  return molt_journal_get_string (journal, "step");
}

gboolean
molt_journal_begin_step (MoltJournal *journal, const gchar *step, GError **error)
{
  JsonArray *steps = json_object_get_array_member (journal->root, "steps");
  g_autoptr (JsonObject) entry = json_object_new ();

  json_object_set_string_member (entry, "step", step);
  json_object_set_int_member (entry, "started-us", g_get_real_time ());
  json_array_add_object_element (steps, g_steal_pointer (&entry));
  json_object_set_string_member (journal->root, "step", step);
  return molt_journal_save (journal, error);
}
