#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <json-glib/json-glib.h>

#include "molt-file-check.h"
#include "molt-job-freezer.h"
#include "molt-message.h"
#include "molt-protocol-error.h"

#define MOLT_FILES_RECORD "molt-files.json"

static void
record_pid_files (gint pid, GHashTable *seen, JsonArray *files)
{
  g_autofree gchar *fd_dir = g_strdup_printf ("/proc/%d/fd", pid);
  g_autoptr (GDir) dir = g_dir_open (fd_dir, 0, NULL);
  const gchar *fd;

  if (dir == NULL)
    return;
  while ((fd = g_dir_read_name (dir)) != NULL)
    {
      g_autofree gchar *link = g_build_filename (fd_dir, fd, NULL);
      g_autofree gchar *target = g_file_read_link (link, NULL);
      g_autoptr (JsonObject) entry = NULL;
      struct stat st;

      if (target == NULL || target[0] != '/' || g_hash_table_contains (seen, target)
          || stat (link, &st) != 0 || !S_ISREG (st.st_mode))
        continue;
      entry = json_object_new ();
      json_object_set_string_member (entry, "path", target);
      json_object_set_int_member (entry, "size", st.st_size);
      json_object_set_int_member (entry, "mtime-ns",
                                  st.st_mtim.tv_sec * (gint64) 1000000000 + st.st_mtim.tv_nsec);
      json_object_set_int_member (entry, "inode", (gint64) st.st_ino);
      json_array_add_object_element (files, g_steal_pointer (&entry));
      g_hash_table_add (seen, g_steal_pointer (&target));
    }
}

gboolean
molt_file_check_record (gint pid, const gchar *images_dir, GError **error)
{
  g_autoptr (GArray) tree = molt_process_tree (pid);
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (JsonArray) files = json_array_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree gchar *text = NULL;
  g_autofree gchar *path = g_build_filename (images_dir, MOLT_FILES_RECORD, NULL);

  for (guint i = 0; i < tree->len; i++)
    record_pid_files (g_array_index (tree, gint, i), seen, files);
  root = json_node_init_array (json_node_alloc (), files);
  text = molt_json_to_line (root);
  if (g_mkdir_with_parents (images_dir, 0700) != 0)
    {
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC, "cannot create %s",
                   images_dir);
      return FALSE;
    }
  return g_file_set_contents (path, text, -1, error);
}

static JsonArray *
load_record (const gchar *images_dir, GError **error)
{
  g_autofree gchar *path = g_build_filename (images_dir, MOLT_FILES_RECORD, NULL);
  g_autofree gchar *contents = NULL;
  g_autoptr (JsonNode) root = NULL;

  if (!g_file_get_contents (path, &contents, NULL, error))
    return NULL;
  root = molt_json_parse_bounded (contents, error);
  if (root == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_ARRAY (root))
    {
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_PARSE, "%s is not a file list",
                   path);
      return NULL;
    }
  return json_array_ref (json_node_get_array (root));
}

gboolean
molt_file_check_verify (const gchar *images_dir, GError **error)
{
  g_autoptr (JsonArray) files = load_record (images_dir, error);

  if (files == NULL)
    return FALSE;
  for (guint i = 0; i < json_array_get_length (files); i++)
    {
      JsonObject *entry = json_array_get_object_element (files, i);
      const gchar *path = json_object_get_string_member_with_default (entry, "path", "?");
      gint64 size = json_object_get_int_member_with_default (entry, "size", -1);
      gint64 mtime = json_object_get_int_member_with_default (entry, "mtime-ns", -1);
      gint64 inode = json_object_get_int_member_with_default (entry, "inode", -1);
      struct stat st;

      if (stat (path, &st) != 0)
        {
          int saved_errno = errno;
          g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                       "file %s, open in the job, vanished since the checkpoint: %s", path,
                       g_strerror (saved_errno));
          return FALSE;
        }
      if ((gint64) st.st_ino != inode)
        {
          g_set_error (
              error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
              "file %s, open in the job, was replaced since the checkpoint (inode %" G_GINT64_FORMAT
              " -> %" G_GINT64_FORMAT ")",
              path, inode, (gint64) st.st_ino);
          return FALSE;
        }
      if (st.st_size != size
          || st.st_mtim.tv_sec * (gint64) 1000000000 + st.st_mtim.tv_nsec != mtime)
        {
          g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                       "file %s, open in the job, changed since the checkpoint "
                       "(size %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT " bytes)",
                       path, size, (gint64) st.st_size);
          return FALSE;
        }
    }
  return TRUE;
}

gchar *
molt_file_check_first_path (const gchar *images_dir, const gchar *skip_suffix)
{
  g_autoptr (JsonArray) files = load_record (images_dir, NULL);

  for (guint i = 0; files != NULL && i < json_array_get_length (files); i++)
    {
      const gchar *path = json_object_get_string_member_with_default (
          json_array_get_object_element (files, i), "path", NULL);
      if (path != NULL && !g_str_has_suffix (path, skip_suffix))
        return g_strdup (path);
    }
  return NULL;
}
