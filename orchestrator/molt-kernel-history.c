#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>

#include "molt-kernel-history.h"

static gchar *
history_path (const gchar *state_dir, const gchar *uuid)
{
  return g_build_filename (state_dir, "kernels", uuid, NULL);
}

/* The releases, oldest first; empty when there is no history yet. */
static GStrv
history_read (const gchar *path, GError **error)
{
  g_autofree gchar *contents = NULL;
  GError *local_error = NULL;

  if (!g_file_get_contents (path, &contents, NULL, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        {
          g_error_free (local_error);
          return g_new0 (gchar *, 1);
        }
      g_propagate_error (error, local_error);
      return NULL;
    }
  return g_strsplit (g_strstrip (contents), "\n", -1);
}

gboolean
molt_kernel_history_has (const gchar *state_dir, const gchar *uuid, const gchar *release)
{
  g_autofree gchar *path = NULL;
  g_auto (GStrv) releases = NULL;

  g_return_val_if_fail (strchr (uuid, '/') == NULL, FALSE);
  if (release == NULL)
    return FALSE;
  path = history_path (state_dir, uuid);
  releases = history_read (path, NULL);
  return releases != NULL && g_strv_contains ((const gchar *const *) releases, release);
}

gboolean
molt_kernel_history_add (const gchar *state_dir, const gchar *uuid, const gchar *release,
                         GError **error)
{
  g_autofree gchar *path = NULL;
  g_autofree gchar *dir = NULL;
  g_auto (GStrv) releases = NULL;
  g_autoptr (GPtrArray) kept = g_ptr_array_new ();
  g_autoptr (GString) text = g_string_new (NULL);
  guint first;

  g_return_val_if_fail (strchr (uuid, '/') == NULL, FALSE);
  /* The release comes from the guest: one line, or it is not one. */
  if (release == NULL || release[0] == '\0' || strchr (release, '\n') != NULL
      || strlen (release) > 256)
    {
      g_set_error_literal (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                           "not a kernel release: empty, over 256 bytes or more than one line");
      return FALSE;
    }
  path = history_path (state_dir, uuid);
  dir = g_path_get_dirname (path);
  releases = history_read (path, error);
  if (releases == NULL)
    return FALSE;
  for (guint i = 0; releases[i] != NULL; i++)
    if (releases[i][0] != '\0' && !g_str_equal (releases[i], release))
      g_ptr_array_add (kept, releases[i]);
  g_ptr_array_add (kept, (gpointer) release);
  first = kept->len > MOLT_KERNEL_HISTORY_MAX ? kept->len - MOLT_KERNEL_HISTORY_MAX : 0;
  for (guint i = first; i < kept->len; i++)
    g_string_append_printf (text, "%s\n", (const gchar *) kept->pdata[i]);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "cannot create %s: %s",
                   dir, g_strerror (saved));
      return FALSE;
    }
  return g_file_set_contents_full (path, text->str, (gssize) text->len,
                                   G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}
