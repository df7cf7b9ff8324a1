/* switch-preflight, kexec: the guest's half of a kernel switch, with freeze
 * (molt-commands-freeze.c) and checkpoint (molt-commands-checkpoint.c). The
 * restore half runs at boot (molt-restore.c). */
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <gio/gio.h>

#include "molt-args.h"
#include "molt-checkpoint.h"
#include "molt-dispatch.h"
#include "molt-dump-inspect.h"
#include "molt-unix-links.h"
#include "molt-message.h"
#include "molt-file-check.h"
#include "molt-job-freezer.h"
#include "molt-installed-kernels.h"
#include "molt-kernel-image.h"
#include "molt-protocol-error.h"
#include "molt-socket-census.h"
#include "molt-wire.h"

/* Time for the reply to reach the host before the kernel goes away (a
 * reply lost anyway makes the host wait for the new boot). */
#define MOLT_KEXEC_DELAY_MS 200

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

static gchar *current_cmdline (void);

/* The kernel this boot runs, as the guest can load it again: what a switch
 * back (kexec) needs. The image is the boot loader's BOOT_IMAGE if it is
 * a readable path, else /boot/vmlinuz-RELEASE; absent if neither is there
 * (the host then restarts the domain instead). */
static JsonObject *
running_kernel (void)
{
  JsonObject *obj = json_object_new ();
  g_autofree gchar *cmdline = NULL;
  g_autofree gchar *image = NULL;
  g_autofree gchar *initrd = NULL;
  struct utsname uts;

  if (g_file_get_contents ("/proc/cmdline", &cmdline, NULL, NULL))
    {
      g_auto (GStrv) words = g_strsplit (g_strstrip (cmdline), " ", 0);
      for (guint i = 0; words[i] != NULL; i++)
        if (g_str_has_prefix (words[i], "BOOT_IMAGE="))
          {
            /* GRUB may prefix a device: "(hd0,gpt2)/vmlinuz-...". */
            const gchar *path = strchr (words[i], '/');
            if (path != NULL && access (path, R_OK) == 0)
              image = g_strdup (path);
          }
    }
  if (uname (&uts) == 0)
    {
      g_autofree gchar *by_release = g_strconcat ("/boot/vmlinuz-", uts.release, NULL);
      g_autofree gchar *initrd_path = g_strconcat ("/boot/initrd.img-", uts.release, NULL);
      if (image == NULL && access (by_release, R_OK) == 0)
        image = g_steal_pointer (&by_release);
      if (access (initrd_path, R_OK) == 0)
        initrd = g_steal_pointer (&initrd_path);
    }
  if (image != NULL)
    json_object_set_string_member (obj, "image", image);
  if (initrd != NULL)
    json_object_set_string_member (obj, "initrd", initrd);
  {
    g_autofree gchar *append = current_cmdline ();
    json_object_set_string_member (obj, "append", append);
  }
  return obj;
}

/* Socket inode -> name of the job holding it, for the sockets held by the
 * running jobs other than RUNNING[OWN] (HELD: molt_job_sockets_held). */
static GHashTable *
other_jobs_sockets (GHashTable *held, GPtrArray *running, guint own)
{
  GHashTable *others = g_hash_table_new (g_direct_hash, g_direct_equal);
  GHashTableIter iter;
  gpointer inode, value;

  g_hash_table_iter_init (&iter, held);
  while (g_hash_table_iter_next (&iter, &inode, &value))
    {
      const MoltSocketHolder *holder = value;
      if (holder->job != own)
        g_hash_table_insert (others, inode,
                             ((MoltJob *) g_ptr_array_index (running, holder->job))->name);
    }
  return others;
}

/* What CRIU is certain to refuse in each running job, before anything is
 * frozen: [{job, reasons: [...]}], only jobs with reasons. */
static JsonArray *
checkpoint_blockers (MoltAgent *agent)
{
  MoltJobRegistry *registry = molt_agent_get_registry (agent);
  g_autoptr (GPtrArray) jobs = NULL;
  g_autoptr (GPtrArray) running = g_ptr_array_new ();
  g_autoptr (GArray) pids = g_array_new (FALSE, FALSE, sizeof (gint));
  g_autoptr (GHashTable) held = NULL;
  JsonArray *blockers = json_array_new ();

  if (molt_job_registry_refresh (registry))
    molt_agent_save_registry (agent);
  jobs = molt_job_registry_list (registry);
  for (guint i = 0; i < jobs->len; i++)
    {
      MoltJob *job = g_ptr_array_index (jobs, i);
      if (job->state != MOLT_JOB_STATE_RUNNING)
        continue;
      g_ptr_array_add (running, job);
      g_array_append_val (pids, job->host_pid);
    }
  held = molt_job_sockets_held ((const gint *) pids->data, pids->len);
  for (guint i = 0; i < running->len; i++)
    {
      MoltJob *job = g_ptr_array_index (running, i);
      g_autoptr (GHashTable) others = other_jobs_sockets (held, running, i);
      g_autoptr (GPtrArray) reasons
          = molt_dump_inspect_tree (job->host_pid, MOLT_CRIU_GHOST_LIMIT, others);
      JsonObject *entry;
      JsonArray *texts;

      if (reasons->len == 0)
        continue;
      entry = json_object_new ();
      texts = json_array_new ();
      json_object_set_string_member (entry, "job", job->name);
      for (guint r = 0; r < reasons->len; r++)
        json_array_add_string_element (texts, g_ptr_array_index (reasons, r));
      json_object_set_array_member (entry, "reasons", texts);
      json_array_add_object_element (blockers, entry);
    }
  return blockers;
}

/* Per running job, its sockets by kind: [{job, tcp-established, ...}]. */
static JsonArray *
job_sockets (MoltAgent *agent)
{
  g_autoptr (GPtrArray) jobs = molt_job_registry_list (molt_agent_get_registry (agent));
  JsonArray *all = json_array_new ();

  for (guint i = 0; i < jobs->len; i++)
    {
      MoltJob *job = g_ptr_array_index (jobs, i);
      MoltSocketCensus census;
      JsonObject *entry;

      if (job->state != MOLT_JOB_STATE_RUNNING)
        continue;
      molt_socket_census_tree (job->host_pid, &census);
      entry = molt_socket_census_to_json (&census);
      json_object_set_string_member (entry, "job", job->name);
      json_array_add_object_element (all, entry);
    }
  return all;
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
  json_object_set_object_member (obj, "running-kernel", running_kernel ());
  json_object_set_array_member (obj, "installed-kernels", molt_installed_kernels ("/boot"));
  if (statvfs (molt_agent_get_state_dir (agent), &vfs) == 0)
    json_object_set_int_member (obj, "free-bytes", (gint64) vfs.f_bavail * (gint64) vfs.f_frsize);
  json_object_set_member (obj, "criu", molt_criu_probe_to_json (molt_agent_get_criu_probe (agent)));
  json_object_set_array_member (obj, "checkpoint-blockers", checkpoint_blockers (agent));
  json_object_set_array_member (obj, "sockets", job_sockets (agent));
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

/* kexec -u: nothing loaded stays to be run later. */
void
molt_unload_kernel (void)
{
  const gchar *argv[] = { "kexec", "-u", NULL };
  g_autoptr (GError) error = NULL;

  if (!g_spawn_sync (NULL, (gchar **) argv, NULL,
                     G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                     NULL, NULL, NULL, NULL, NULL, &error))
    g_warning ("cannot unload the kernel (kexec -u): %s", error->message);
}

typedef struct
{
  MoltAgent *agent;
  MoltCall *call;
  GSubprocess *proc;
  gchar *kernel;
  gchar *append;
  gchar *what; /* kernel, initrd and command line: what a kexec-load loaded */
  gboolean execute;
  guint timeout_id;
  gboolean timed_out;
} KexecLoad;

static gboolean
kexec_load_timeout (gpointer data)
{
  KexecLoad *load = data;

  load->timeout_id = 0;
  load->timed_out = TRUE;
  g_subprocess_force_exit (load->proc);
  return G_SOURCE_REMOVE;
}

/* kexec -l has ended (or was killed by the timeout). */
static void
kexec_loaded (GObject *source, GAsyncResult *result, gpointer data)
{
  KexecLoad *load = data;
  GSubprocess *proc = G_SUBPROCESS (source);
  g_autoptr (JsonObject) obj = json_object_new ();
  g_autofree gchar *output = NULL;
  GError *error = NULL;
  gboolean wanted;

  if (load->timeout_id != 0)
    g_source_remove (load->timeout_id);
  molt_agent_set_busy (load->agent, NULL);
  wanted = molt_agent_end_kexec_load (load->agent);
  if (!g_subprocess_communicate_utf8_finish (proc, result, &output, NULL, &error))
    g_prefix_error (&error, "kexec -l %s: ", load->kernel);
  else if (load->timed_out)
    error = g_error_new (MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                         "kexec -l %s did not finish within %d s (killed)", load->kernel,
                         MOLT_WIRE_KEXEC_LOAD_TIMEOUT_S);
  else if (!g_subprocess_get_successful (proc))
    error = g_error_new (MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC, "kexec -l %s failed: %s",
                         load->kernel, output != NULL ? g_strstrip (output) : "");
  else if (!wanted)
    {
      /* The jobs run again: a kernel switch now would lose them. */
      molt_unload_kernel ();
      error = g_error_new_literal (MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                                   "the jobs were thawed while the kernel loaded: the switch is "
                                   "called off and the kernel unloaded");
    }
  if (error != NULL)
    molt_call_fail (load->call, error);
  else
    {
      if (load->execute)
        molt_agent_schedule_kexec (load->agent, MOLT_KEXEC_DELAY_MS, kexec_now);
      else
        molt_agent_set_kexec_preloaded (load->agent, load->what);
      json_object_set_string_member (obj, "kernel", load->kernel);
      json_object_set_string_member (obj, "append", load->append);
      molt_call_return (load->call, json_node_init_object (json_node_alloc (), obj));
    }
  g_object_unref (load->proc);
  g_free (load->kernel);
  g_free (load->append);
  g_free (load->what);
  g_free (load);
}

/* kexec {kernel, initrd?, append?}: load the new kernel (kexec -l, which
 * reads and checks the image: seconds on a slow disk, so off the main loop),
 * and execute it shortly after the reply has gone. If kexec-load already
 * loaded the same kernel, initrd and command line, only the execution is
 * left. kexec-load {the same}: the load alone, done while the jobs still
 * run, so that the freeze window does not pay for it; a thaw unloads it. */
static void
kexec_command (MoltAgent *agent, JsonObject *args, MoltCall *call, gboolean execute)
{
  g_autoptr (GSubprocess) proc = NULL;
  g_autofree gchar *append = NULL;
  g_autofree gchar *initrd_opt = NULL;
  g_autofree gchar *append_opt = NULL;
  g_autofree gchar *what = NULL;
  const gchar *kernel, *initrd, *cmdline;
  GError *error = NULL;
  KexecLoad *load;

  if (!molt_args_get_string (args, "kernel", TRUE, &kernel, &error)
      || !molt_args_get_string (args, "initrd", FALSE, &initrd, &error)
      || !molt_args_get_string (args, "append", FALSE, &cmdline, &error)
      || !check_readable ("kernel", kernel, &error) || !check_readable ("initrd", initrd, &error))
    {
      molt_call_fail (call, error);
      return;
    }
  append = cmdline != NULL ? g_strdup (cmdline) : current_cmdline ();
  what = g_strdup_printf ("%s\n%s\n%s", kernel, initrd != NULL ? initrd : "", append);
  if (execute && molt_agent_take_kexec_preloaded (agent, what))
    {
      g_autoptr (JsonObject) obj = json_object_new ();
      molt_agent_schedule_kexec (agent, MOLT_KEXEC_DELAY_MS, kexec_now);
      json_object_set_string_member (obj, "kernel", kernel);
      json_object_set_string_member (obj, "append", append);
      molt_call_return (call, json_node_init_object (json_node_alloc (), obj));
      return;
    }
  /* kexec -l replaces whatever was loaded ahead. */
  molt_agent_set_kexec_preloaded (agent, NULL);
  append_opt = g_strdup_printf ("--append=%s", append);
  initrd_opt = initrd != NULL ? g_strdup_printf ("--initrd=%s", initrd) : NULL;
  proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE, &error,
                           "kexec", "-l", kernel, append_opt, initrd_opt, NULL);
  if (proc == NULL)
    {
      molt_call_fail (call, error);
      return;
    }
  load = g_new0 (KexecLoad, 1);
  load->agent = agent;
  load->call = call;
  load->proc = g_object_ref (proc);
  load->kernel = g_strdup (kernel);
  load->append = g_steal_pointer (&append);
  load->what = g_steal_pointer (&what);
  load->execute = execute;
  load->timeout_id = g_timeout_add_seconds_full (G_PRIORITY_DEFAULT, MOLT_WIRE_KEXEC_LOAD_TIMEOUT_S,
                                                 kexec_load_timeout, load, NULL);
  molt_agent_set_busy (agent, "kexec");
  molt_agent_begin_kexec_load (agent);
  g_subprocess_communicate_utf8_async (proc, NULL, NULL, kexec_loaded, load);
}

void
molt_command_kexec (MoltAgent *agent, JsonObject *args, MoltCall *call)
{
  kexec_command (agent, args, call, TRUE);
}

void
molt_command_kexec_load (MoltAgent *agent, JsonObject *args, MoltCall *call)
{
  kexec_command (agent, args, call, FALSE);
}
