/* freeze, thaw, checkpoint, switch-preflight, kexec: the guest's half of a
 * kernel switch. The restore half runs at boot (molt-restore.c). */
#include <stdio.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <gio/gio.h>

#include "molt-args.h"
#include "molt-checkpoint.h"
#include "molt-dispatch.h"
#include "molt-message.h"
#include "molt-file-check.h"
#include "molt-job-freezer.h"
#include "molt-kernel-image.h"
#include "molt-protocol-error.h"

/* Time for the reply to reach the host before the kernel goes away. */
#define MOLT_KEXEC_DELAY_MS 500

static JsonNode *
job_names (GPtrArray *jobs)
{
  g_autoptr (JsonArray) names = json_array_new ();

  for (guint i = 0; i < jobs->len; i++)
    json_array_add_string_element (names, ((MoltJob *) g_ptr_array_index (jobs, i))->name);
  return json_node_init_array (json_node_alloc (), names);
}

#define MOLT_AUTO_THAW_DEFAULT_S 60

/* freeze {filesystems?: bool, timeout?: s}: stop every running job; with
 * filesystems, also FIFREEZE the guest's disks. Without a thaw within the
 * timeout (the host may be gone), the agent thaws by itself. */
JsonNode *
molt_command_freeze (MoltAgent *agent, JsonObject *args, GError **error)
{
  MoltJobRegistry *registry = molt_agent_get_registry (agent);
  g_autoptr (GPtrArray) jobs = NULL;
  g_autoptr (GPtrArray) frozen = g_ptr_array_new ();
  g_autoptr (JsonObject) obj = json_object_new ();
  gint64 now = g_get_real_time ();
  gint64 timeout = MOLT_AUTO_THAW_DEFAULT_S;
  gboolean filesystems = FALSE;

  if (!molt_args_get_bool (args, "filesystems", FALSE, &filesystems, error)
      || !molt_args_get_int (args, "timeout", FALSE, 0, 86400, &timeout, error))
    return NULL;
  molt_job_registry_refresh (registry);
  jobs = molt_job_registry_list (registry);
  for (guint i = 0; i < jobs->len; i++)
    {
      MoltJob *job = g_ptr_array_index (jobs, i);
      if (job->state != MOLT_JOB_STATE_RUNNING)
        continue;
      if (!molt_job_tree_signal (job->host_pid, TRUE, error))
        {
          /* All or nothing: continue what was already stopped. */
          for (guint j = 0; j < frozen->len; j++)
            {
              MoltJob *undo = g_ptr_array_index (frozen, j);
              molt_job_tree_signal (undo->host_pid, FALSE, NULL);
              undo->state = MOLT_JOB_STATE_RUNNING;
              undo->frozen_at = 0;
            }
          g_prefix_error (error, "cannot freeze job %s: ", job->name);
          return NULL;
        }
      job->state = MOLT_JOB_STATE_FROZEN;
      job->frozen_at = now;
      g_ptr_array_add (frozen, job);
    }
  molt_agent_set_frozen (agent, TRUE);
  /* The registry on disk is part of the snapshot that comes next. */
  molt_agent_save_registry (agent);
  sync ();
  if (filesystems && !molt_agent_freeze_filesystems (agent, error))
    {
      g_autoptr (JsonNode) ignored = molt_command_thaw (agent, NULL, NULL);
      g_prefix_error (error, "cannot freeze the filesystems (jobs thawed again): ");
      return NULL;
    }
  molt_agent_arm_auto_thaw (agent, (guint) timeout);
  json_object_set_member (obj, "jobs", job_names (frozen));
  json_object_set_int_member (obj, "frozen-at-us", now);
  if (filesystems)
    json_object_set_member (
        obj, "filesystems",
        molt_json_from_strv ((const gchar *const *) molt_agent_get_frozen_mounts (agent)));
  return json_node_init_object (json_node_alloc (), obj);
}

/* thaw: filesystems first (the registry write waits for them), then jobs. */
JsonNode *
molt_command_thaw (MoltAgent *agent, JsonObject *args, GError **error)
{
  MoltJobRegistry *registry = molt_agent_get_registry (agent);
  g_autoptr (GPtrArray) jobs = molt_job_registry_list (registry);
  g_autoptr (GPtrArray) thawed = g_ptr_array_new ();
  g_autoptr (JsonObject) obj = json_object_new ();
  gint64 now = g_get_real_time ();

  molt_agent_disarm_auto_thaw (agent);
  molt_agent_thaw_filesystems (agent);
  for (guint i = 0; i < jobs->len; i++)
    {
      MoltJob *job = g_ptr_array_index (jobs, i);
      if (job->state != MOLT_JOB_STATE_FROZEN)
        continue;
      molt_job_tree_signal (job->host_pid, FALSE, NULL);
      job->state = MOLT_JOB_STATE_RUNNING;
      job->resumed_at = now;
      g_ptr_array_add (thawed, job);
    }
  molt_agent_set_frozen (agent, FALSE);
  molt_job_registry_refresh (registry);
  molt_agent_save_registry (agent);
  json_object_set_member (obj, "jobs", job_names (thawed));
  json_object_set_int_member (obj, "resumed-at-us", now);
  return json_node_init_object (json_node_alloc (), obj);
}

JsonNode *
molt_command_fsfreeze_status (MoltAgent *agent, JsonObject *args, GError **error)
{
  g_autoptr (JsonObject) obj = json_object_new ();
  GStrv mounts = molt_agent_get_frozen_mounts (agent);

  json_object_set_string_member (obj, "status", mounts != NULL ? "frozen" : "thawed");
  json_object_set_boolean_member (obj, "jobs-frozen", molt_agent_is_frozen (agent));
  json_object_set_member (obj, "filesystems", molt_json_from_strv ((const gchar *const *) mounts));
  return json_node_init_object (json_node_alloc (), obj);
}

static gboolean
check_readable (const gchar *what, const gchar *path, GError **error)
{
  if (path != NULL && access (path, R_OK) != 0)
    {
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_NOT_FOUND,
                   "%s %s is missing or unreadable in the guest: %s", what, path,
                   g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}

JsonNode *
molt_command_switch_preflight (MoltAgent *agent, JsonObject *args, GError **error)
{
  g_autoptr (JsonObject) obj = json_object_new ();
  g_autofree gchar *kexec = g_find_program_in_path ("kexec");
  const gchar *kernel, *initrd;
  struct statvfs vfs;

  if (!molt_args_get_string (args, "kernel", FALSE, &kernel, error)
      || !molt_args_get_string (args, "initrd", FALSE, &initrd, error)
      || !check_readable ("kernel", kernel, error) || !check_readable ("initrd", initrd, error))
    return NULL;
  if (kernel != NULL && kexec == NULL)
    {
      g_set_error_literal (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_UNSUPPORTED,
                           "kexec is not installed in the guest (package kexec-tools)");
      return NULL;
    }
  if (statvfs (molt_agent_get_state_dir (agent), &vfs) == 0)
    json_object_set_int_member (obj, "free-bytes", (gint64) vfs.f_bavail * (gint64) vfs.f_frsize);
  json_object_set_member (obj, "criu", molt_criu_probe_to_json (molt_agent_get_criu_probe (agent)));
  /* What the new kernel will report as its release: the host checks the
   * guest really runs it afterwards. */
  if (kernel != NULL)
    {
      g_autoptr (GError) image_error = NULL;
      g_autofree gchar *release = molt_kernel_image_release (kernel, &image_error);
      if (release != NULL)
        json_object_set_string_member (obj, "release", release);
      else
        json_object_set_string_member (obj, "release-error", image_error->message);
    }
  return json_node_init_object (json_node_alloc (), obj);
}

static gboolean
kexec_now (gpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) proc = NULL;

  sync ();
  g_message ("executing the loaded kernel");
  proc = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error, "kexec", "-e", NULL);
  if (proc == NULL || !g_subprocess_wait_check (proc, NULL, &error))
    g_warning ("kexec -e failed: %s", error->message);
  return G_SOURCE_REMOVE;
}

/* The command line of this boot without what the boot loader added. */
static gchar *
current_cmdline (void)
{
  g_autofree gchar *cmdline = NULL;
  g_auto (GStrv) words = NULL;
  g_autoptr (GStrvBuilder) kept = g_strv_builder_new ();
  g_auto (GStrv) result = NULL;

  if (!g_file_get_contents ("/proc/cmdline", &cmdline, NULL, NULL))
    return g_strdup ("");
  words = g_strsplit (g_strstrip (cmdline), " ", 0);
  for (guint i = 0; words[i] != NULL; i++)
    if (words[i][0] != '\0' && !g_str_has_prefix (words[i], "BOOT_IMAGE="))
      g_strv_builder_add (kept, words[i]);
  result = g_strv_builder_end (kept);
  return g_strjoinv (" ", result);
}

JsonNode *
molt_command_kexec (MoltAgent *agent, JsonObject *args, GError **error)
{
  g_autoptr (JsonObject) obj = json_object_new ();
  g_autoptr (GSubprocess) proc = NULL;
  g_autofree gchar *append = NULL;
  g_autofree gchar *initrd_opt = NULL;
  g_autofree gchar *append_opt = NULL;
  g_autofree gchar *output = NULL;
  const gchar *kernel, *initrd, *cmdline;

  if (!molt_args_get_string (args, "kernel", TRUE, &kernel, error)
      || !molt_args_get_string (args, "initrd", FALSE, &initrd, error)
      || !molt_args_get_string (args, "append", FALSE, &cmdline, error)
      || !check_readable ("kernel", kernel, error) || !check_readable ("initrd", initrd, error))
    return NULL;
  append = cmdline != NULL ? g_strdup (cmdline) : current_cmdline ();
  append_opt = g_strdup_printf ("--append=%s", append);
  initrd_opt = initrd != NULL ? g_strdup_printf ("--initrd=%s", initrd) : NULL;
  proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE, error,
                           "kexec", "-l", kernel, append_opt, initrd_opt, NULL);
  if (proc == NULL || !g_subprocess_communicate_utf8 (proc, NULL, NULL, &output, NULL, error))
    return NULL;
  if (!g_subprocess_get_successful (proc))
    {
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                   "kexec -l %s failed: %s", kernel, output != NULL ? g_strstrip (output) : "");
      return NULL;
    }
  g_timeout_add (MOLT_KEXEC_DELAY_MS, kexec_now, NULL);
  json_object_set_string_member (obj, "kernel", kernel);
  json_object_set_string_member (obj, "append", append);
  return json_node_init_object (json_node_alloc (), obj);
}
