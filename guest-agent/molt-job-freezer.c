#include <errno.h>
#include <signal.h>

#include "molt-job-freezer.h"
#include "molt-protocol-error.h"

#define MOLT_FREEZE_PASSES 5

static void
collect (gint pid, GArray *out, guint depth)
{
  g_autofree gchar *task_dir = g_strdup_printf ("/proc/%d/task", pid);
  g_autoptr (GDir) dir = NULL;
  const gchar *tid;

  g_array_append_val (out, pid);
  if (depth > 64 || (dir = g_dir_open (task_dir, 0, NULL)) == NULL)
    return;
  while ((tid = g_dir_read_name (dir)) != NULL)
    {
      g_autofree gchar *path = g_build_filename (task_dir, tid, "children", NULL);
      g_autofree gchar *contents = NULL;
      g_auto (GStrv) pids = NULL;

      if (!g_file_get_contents (path, &contents, NULL, NULL))
        continue;
      pids = g_strsplit (g_strstrip (contents), " ", 0);
      for (guint i = 0; pids[i] != NULL; i++)
        if (pids[i][0] != '\0')
          collect ((gint) g_ascii_strtoll (pids[i], NULL, 10), out, depth + 1);
    }
}

GArray *
molt_process_tree (gint root_pid)
{
  GArray *pids = g_array_new (FALSE, FALSE, sizeof (gint));
  collect (root_pid, pids, 0);
  return pids;
}

static gboolean
contains (GArray *pids, gint pid)
{
  for (guint i = 0; i < pids->len; i++)
    if (g_array_index (pids, gint, i) == pid)
      return TRUE;
  return FALSE;
}

gboolean
molt_process_tree_each (gint root_pid, guint max_walks, MoltPidFunc func, gpointer data,
                        gboolean *settled, GError **error)
{
  g_autoptr (GArray) seen = g_array_new (FALSE, FALSE, sizeof (gint));
  gboolean new_ones = TRUE;

  for (guint walk = 0; walk < max_walks && new_ones; walk++)
    {
      g_autoptr (GArray) tree = molt_process_tree (root_pid);

      new_ones = FALSE;
      for (guint i = 0; i < tree->len; i++)
        {
          gint pid = g_array_index (tree, gint, i);
          if (contains (seen, pid))
            continue;
          if (!func (pid, data, error))
            return FALSE;
          g_array_append_val (seen, pid);
          new_ones = TRUE;
        }
    }
  if (settled != NULL)
    *settled = !new_ones;
  return TRUE;
}

static gboolean
send_signal (gint pid, gpointer data, GError **error)
{
  kill (pid, GPOINTER_TO_INT (data));
  return TRUE;
}

gboolean
molt_job_tree_signal (gint root_pid, gboolean freeze, GError **error)
{
  if (kill (root_pid, 0) != 0)
    {
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                   "process %d is gone: %s", root_pid, g_strerror (errno));
      return FALSE;
    }
  /* Thawing needs no second look; a stopped tree cannot fork, so the
   * freeze's walks end once one finds nothing new. */
  return molt_process_tree_each (root_pid, freeze ? MOLT_FREEZE_PASSES : 1, send_signal,
                                 GINT_TO_POINTER (freeze ? SIGSTOP : SIGCONT), NULL, error);
}
