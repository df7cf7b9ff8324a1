#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <criu/criu.h>
#include <gio/gio.h>

#include "molt-criu-probe.h"

typedef enum
{
  PROBE_IDLE,
  PROBE_CHECKING,
  PROBE_OK,
  PROBE_FAILED,
} ProbeState;

struct _MoltCriuProbe
{
  gint refs; /* the agent's, and a running check's: it may outlive the agent */
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
  probe->refs = 1;
  g_mutex_init (&probe->lock);
  probe->work_dir = g_strdup (work_dir);
  return probe;
}

void
molt_criu_probe_free (MoltCriuProbe *probe)
{
  if (probe == NULL || !g_atomic_int_dec_and_test (&probe->refs))
    return;
  g_mutex_clear (&probe->lock);
  g_free (probe->work_dir);
  g_free (probe->error);
  g_free (probe);
}

/* CRIU names the failed feature on an "Error" line; that line is the why. */
static gchar *
last_error_line (const gchar *output)
{
  g_auto (GStrv) lines = g_strsplit (output, "\n", 0);
  const gchar *found = NULL;

  for (guint i = 0; lines[i] != NULL; i++)
    if (strstr (lines[i], "Error") != NULL || (found == NULL && g_strstrip (lines[i])[0] != '\0'))
      found = lines[i];
  return found != NULL ? g_strstrip (g_strdup (found)) : g_strdup ("no output");
}

/* The version comes from libcriu; the check runs the criu CLI, because
 * libcriu 3.17's criu_local_check() makes `criu swrk` crash (it sends a
 * CHECK request without options and the service dereferences them). */
static void
probe_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  MoltCriuProbe *probe = data;
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree gchar *output = NULL;
  g_autofree gchar *error = NULL;
  criu_opts *opts = NULL;
  gint version = 0;

  if (criu_local_init_opts (&opts) < 0)
    {
      error = g_strdup ("libcriu could not allocate its options");
      goto out;
    }
  criu_local_set_service_binary (opts, "criu");
  version = criu_local_get_version (opts);
  criu_local_free_opts (opts);
  if (version < 0)
    {
      error = g_strdup_printf ("cannot run criu: %s (is it installed?)", g_strerror (-version));
      version = 0;
      goto out;
    }

  proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE,
                           &local_error, "criu", "check", NULL);
  if (proc == NULL
      || !g_subprocess_communicate_utf8 (proc, NULL, NULL, &output, NULL, &local_error))
    {
      error = g_strdup_printf ("cannot run criu check: %s", local_error->message);
      goto out;
    }
  if (!g_subprocess_get_successful (proc))
    {
      g_autofree gchar *why = last_error_line (output != NULL ? output : "");
      error = g_strdup_printf ("criu check failed: %s", why);
    }

out:
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
  g_atomic_int_inc (&probe->refs);
  g_task_set_task_data (task, probe, (GDestroyNotify) molt_criu_probe_free);
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
