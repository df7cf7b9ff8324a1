#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <criu/criu.h>
#include <gio/gio.h>

#include "molt-criu-probe.h"

#define MOLT_CRIU_LOG "criu-check.log"

typedef enum
{
  PROBE_IDLE,
  PROBE_CHECKING,
  PROBE_OK,
  PROBE_FAILED,
} ProbeState;

struct _MoltCriuProbe
{
  GMutex lock;
  gchar *work_dir;
  ProbeState state;
  gint version;
  gchar *error;
};

MoltCriuProbe *
molt_criu_probe_new (const gchar *work_dir)
{
  MoltCriuProbe *probe = g_new0 (MoltCriuProbe, 1);
  g_mutex_init (&probe->lock);
  probe->work_dir = g_strdup (work_dir);
  return probe;
}

void
molt_criu_probe_free (MoltCriuProbe *probe)
{
  if (probe == NULL)
    return;
  g_mutex_clear (&probe->lock);
  g_free (probe->work_dir);
  g_free (probe->error);
  g_free (probe);
}

/* CRIU's own log names the failed feature; the last "Error" line is the why. */
static gchar *
last_error_line (const gchar *log_path)
{
  g_autofree gchar *contents = NULL;
  g_auto (GStrv) lines = NULL;
  const gchar *found = NULL;

  if (!g_file_get_contents (log_path, &contents, NULL, NULL))
    return NULL;
  lines = g_strsplit (contents, "\n", 0);
  for (guint i = 0; lines[i] != NULL; i++)
    if (strstr (lines[i], "Error") != NULL || strstr (lines[i], "error") != NULL)
      found = lines[i];
  return found != NULL ? g_strstrip (g_strdup (found)) : NULL;
}

static void
probe_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  MoltCriuProbe *probe = data;
  g_autofree gchar *log_path = g_build_filename (probe->work_dir, MOLT_CRIU_LOG, NULL);
  g_autofree gchar *error = NULL;
  criu_opts *opts = NULL;
  gint dir_fd = -1, version = 0, ret;

  if (g_mkdir_with_parents (probe->work_dir, 0700) != 0
      || (dir_fd = open (probe->work_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
    {
      error = g_strdup_printf ("cannot use %s: %s", probe->work_dir, g_strerror (errno));
      goto out;
    }
  if (criu_local_init_opts (&opts) < 0)
    {
      error = g_strdup ("libcriu could not allocate its options");
      goto out;
    }
  criu_local_set_service_binary (opts, "criu");
  criu_local_set_work_dir_fd (opts, dir_fd);
  criu_local_set_log_file (opts, MOLT_CRIU_LOG);
  criu_local_set_log_level (opts, 2);

  version = criu_local_get_version (opts);
  if (version < 0)
    {
      error = g_strdup_printf ("cannot run criu: %s (is it installed?)", g_strerror (-version));
      version = 0;
      goto out;
    }
  unlink (log_path);
  ret = criu_local_check (opts);
  if (ret < 0)
    {
      g_autofree gchar *why = last_error_line (log_path);
      error = g_strdup_printf ("criu check failed (%s)%s%s", g_strerror (-ret),
                               why != NULL ? ": " : "", why != NULL ? why : "");
    }

out:
  if (opts != NULL)
    criu_local_free_opts (opts);
  if (dir_fd >= 0)
    close (dir_fd);
  g_mutex_lock (&probe->lock);
  probe->version = version;
  probe->state = error == NULL ? PROBE_OK : PROBE_FAILED;
  probe->error = g_steal_pointer (&error);
  g_mutex_unlock (&probe->lock);
  g_task_return_boolean (task, TRUE);
}

void
molt_criu_probe_start (MoltCriuProbe *probe)
{
  g_autoptr (GTask) task = NULL;

  g_mutex_lock (&probe->lock);
  if (probe->state == PROBE_CHECKING)
    {
      g_mutex_unlock (&probe->lock);
      return;
    }
  probe->state = PROBE_CHECKING;
  g_clear_pointer (&probe->error, g_free);
  g_mutex_unlock (&probe->lock);

  task = g_task_new (NULL, NULL, NULL, NULL);
  g_task_set_task_data (task, probe, NULL);
  g_task_run_in_thread (task, probe_thread);
}

JsonNode *
molt_criu_probe_to_json (MoltCriuProbe *probe)
{
  g_autoptr (JsonObject) obj = json_object_new ();
  static const gchar *const names[] = { "not-checked", "checking", "ok", "failed" };

  g_mutex_lock (&probe->lock);
  json_object_set_string_member (obj, "state", names[probe->state]);
  json_object_set_boolean_member (obj, "works", probe->state == PROBE_OK);
  if (probe->version > 0)
    json_object_set_int_member (obj, "version", probe->version);
  if (probe->error != NULL)
    json_object_set_string_member (obj, "error", probe->error);
  g_mutex_unlock (&probe->lock);
  return json_node_init_object (json_node_alloc (), obj);
}
