/* molt switch DOMAIN --kernel PATH: the kernel switch under live jobs.
 * molt rollback DOMAIN: undo an interrupted switch from its journal. */
#include "molt-cli.h"
#include "molt-commands.h"
#include "molt-state-dir.h"
#include "molt-installed-kernel.h"
#include "molt-message.h"
#include "molt-reply.h"
#include "molt-switch-modules.h"
#include "molt-switch.h"

/* After a rollback's thaw, before the jobs are checked: a job that cannot
 * live on dies within it. */
#define MOLT_ROLLBACK_SETTLE_MS 2000

/* Report values may hold guest text (kernel releases, job names). */
static void
print_field (const gchar *label, JsonObject *obj, const gchar *member)
{
  g_autofree gchar *shown
      = molt_text_excerpt (json_object_get_string_member_with_default (obj, member, "?"), 256);
  g_print ("%-13s %s\n", label, shown);
}

static void
print_job (JsonObject *job)
{
  g_autofree gchar *name
      = molt_text_excerpt (json_object_get_string_member_with_default (job, "name", "?"), 64);
  const gchar *state = json_object_get_string_member_with_default (job, "state", "?");

  if (json_object_has_member (job, "detail"))
    {
      g_autofree gchar *detail = molt_text_excerpt (
          json_object_get_string_member_with_default (job, "detail", ""), 1024);
      g_print ("Job %-20s %s: %s\n", name, state, detail);
    }
  else if (json_object_has_member (job, "pid-before"))
    g_print ("Job %-20s %s, downtime %6.2f s, pid %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT
             " (%" G_GINT64_FORMAT " in its namespace, unchanged)\n",
             name, state, json_object_get_double_member_with_default (job, "downtime-s", -1),
             json_object_get_int_member_with_default (job, "pid-before", -1),
             json_object_get_int_member_with_default (job, "pid-after", -1),
             json_object_get_int_member_with_default (job, "ns-pid", -1));
  else
    g_print ("Job %-20s %s (same PID in its namespace)\n", name, state);
}

/* Each step's time, then each job's outcome. */
static void
print_steps_and_jobs (JsonObject *report)
{
  JsonArray *steps = json_object_has_member (report, "steps")
                         ? json_object_get_array_member (report, "steps")
                         : NULL;
  JsonArray *jobs = json_object_has_member (report, "jobs")
                        ? json_object_get_array_member (report, "jobs")
                        : NULL;

  for (guint i = 0; steps != NULL && i < json_array_get_length (steps); i++)
    {
      JsonObject *step = json_array_get_object_element (steps, i);
      g_print ("  %-12s %7.2f s\n", json_object_get_string_member (step, "step"),
               json_object_get_double_member (step, "seconds"));
    }
  for (guint i = 0; jobs != NULL && i < json_array_get_length (jobs); i++)
    print_job (json_array_get_object_element (jobs, i));
}

static void
print_report (JsonObject *report)
{
  g_autofree gchar *old_release = molt_text_excerpt (
      json_object_get_string_member_with_default (report, "old-kernel-release", "?"), 128);
  g_autofree gchar *new_release = molt_text_excerpt (
      json_object_get_string_member_with_default (report, "new-kernel-release", "?"), 128);

  print_field ("Domain:", report, "domain");
  print_field ("Result:", report, "result");
  g_print ("%-13s %s -> %s\n", "Kernel:", old_release, new_release);
  print_steps_and_jobs (report);
}

/* Progress lines carry guest text (CRIU's errors, job names). */
static void
print_progress (const gchar *line, gpointer data)
{
  g_autofree gchar *shown = molt_text_excerpt (line, 4096);
  g_printerr ("%s\n", shown);
}

static int
finish (MoltCli *cli, MoltSwitchResult result, JsonObject *report, GError *error,
        const gchar *domain)
{
  if (error != NULL)
    {
      int code;
      json_object_set_string_member (report, "result",
                                     result == MOLT_SWITCH_ROLLED_BACK ? "rolled-back"
                                     : result == MOLT_SWITCH_BROKEN    ? "broken"
                                                                       : "not-started");
      json_object_set_string_member (report, "message", error->message);
      if (result == MOLT_SWITCH_NOTHING_DONE)
        return molt_cli_fail (cli, domain, error);
      code = result == MOLT_SWITCH_ROLLED_BACK ? MOLT_EXIT_ROLLED_BACK : MOLT_EXIT_BROKEN;
      molt_cli_print_error (domain, error->message);
      json_object_set_int_member (report, "exit-code", code);
      if (cli->json)
        {
          g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), report);
          molt_cli_print_json (node);
        }
      else
        print_report (report);
      return code;
    }
  if (cli->json)
    {
      g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), report);
      molt_cli_print_json (node);
    }
  else if (result == MOLT_SWITCH_DRY_RUN)
    g_print ("preflight passed: molt would freeze the jobs of %s, checkpoint them, "
             "switch to %s and restore them\n",
             json_object_get_string_member (report, "domain"),
             json_object_get_string_member (report, "kernel"));
  else
    print_report (report);
  return MOLT_EXIT_OK;
}

/* --kernel installed: asks the guest which kernels its /boot holds and
 * takes the newest of the running flavour, with its initrd unless one was
 * given. Before the switch, which then runs with plain paths: its journal,
 * --resume and rollback know the file, not the word. */
static gboolean
resolve_installed (MoltCli *cli, const gchar *domain, gchar **kernel, gchar **initrd,
                   GError **error)
{
  g_autoptr (MoltAgentClient) client = molt_cli_open_agent (cli, domain, error);
  g_autoptr (JsonNode) info_node = NULL;
  g_autoptr (JsonNode) preflight_node = NULL;
  g_autofree gchar *image = NULL, *found_initrd = NULL, *release = NULL;
  JsonObject *info, *preflight;
  const gchar *running = NULL;

  if (client == NULL)
    return FALSE;
  info_node = molt_agent_client_call (client, "info", NULL, error);
  info = info_node != NULL ? molt_reply_as_object (info_node, "info", error) : NULL;
  if (info == NULL || !molt_reply_get_string (info, "info", "kernel-release", 0, &running, error))
    return FALSE;
  preflight_node = molt_agent_client_call (client, "switch-preflight", NULL, error);
  preflight = preflight_node != NULL
                  ? molt_reply_as_object (preflight_node, "switch-preflight", error)
                  : NULL;
  if (preflight == NULL
      || !molt_installed_kernel_pick (preflight, running, &image, &found_initrd, &release, error))
    return FALSE;
  {
    g_autofree gchar *line = g_strdup_printf (
        "preflight: the newest kernel installed in the guest is %s (%s)", release, image);
    print_progress (line, NULL);
  }
  g_free (*kernel);
  *kernel = g_steal_pointer (&image);
  if (*initrd == NULL)
    *initrd = g_steal_pointer (&found_initrd);
  return TRUE;
}

/* --modules: the driver-set switch (molt-switch-modules.h). */
static int
run_switch_modules (MoltCli *cli, const gchar *domain, const gchar *dir, gboolean dry_run,
                    MoltSwitchModulesPath path, const MoltSwitchOptions *kexec)
{
  g_autoptr (JsonObject) report = json_object_new ();
  g_autoptr (GError) error = NULL;
  MoltSwitchModulesOptions o = { 0 };
  MoltSwitchResult result;
  int code;

  o.uri = cli->uri;
  o.domain = domain;
  o.dir = dir;
  o.state_dir = molt_state_dir ();
  o.dry_run = dry_run;
  o.agent_timeout_s = (guint) cli->timeout_s;
  o.progress = print_progress;
  o.path = path;
  o.kexec = kexec;
  result = molt_switch_modules (&o, report, &error);
  if (error != NULL && result == MOLT_SWITCH_NOTHING_DONE)
    return molt_cli_fail (cli, domain, error);
  code = error == NULL                       ? MOLT_EXIT_OK
         : result == MOLT_SWITCH_ROLLED_BACK ? MOLT_EXIT_ROLLED_BACK
                                             : MOLT_EXIT_BROKEN;
  if (error != NULL)
    {
      json_object_set_string_member (report, "result",
                                     code == MOLT_EXIT_ROLLED_BACK ? "rolled-back" : "broken");
      json_object_set_string_member (report, "message", error->message);
      json_object_set_int_member (report, "exit-code", code);
      molt_cli_print_error (domain, error->message);
    }
  else if (result == MOLT_SWITCH_DRY_RUN)
    json_object_set_string_member (report, "result", "dry-run");
  if (cli->json)
    {
      g_autoptr (JsonNode) node
          = json_node_init_object (json_node_alloc (), json_object_ref (report));
      molt_cli_print_json (node);
    }
  else
    {
      JsonArray *modules = json_object_has_member (report, "modules")
                               ? json_object_get_array_member (report, "modules")
                               : NULL;
      g_print ("%-13s %s\n%-13s %s\n%-13s %s (%s)\n", "Domain:", domain,
               "Result:", json_object_get_string_member_with_default (report, "result", "?"),
               "Path:", json_object_get_string_member_with_default (report, "path", "-"),
               json_object_get_string_member_with_default (report, "reason", ""));
      for (guint i = 0; modules != NULL && i < json_array_get_length (modules); i++)
        {
          JsonObject *m = json_array_get_object_element (modules, i);
          g_autofree gchar *line = g_strdup_printf (
              "  %s: version %s -> %s, srcversion %s -> %s",
              json_object_get_string_member_with_default (m, "name", "?"),
              json_object_get_string_member_with_default (m, "old-version", "-"),
              json_object_get_string_member_with_default (m, "new-version", "-"),
              json_object_get_string_member_with_default (m, "old-srcversion", "-"),
              json_object_get_string_member_with_default (m, "new-srcversion", "-"));
          g_autofree gchar *shown = molt_text_excerpt (line, 512);
          g_print ("%s\n", shown);
        }
      if (json_object_has_member (report, "downtime-s"))
        g_print ("%-13s %.2f s\n",
                 "Downtime:", json_object_get_double_member (report, "downtime-s"));
      print_steps_and_jobs (report);
    }
  return code;
}

static int
run_switch (MoltCli *cli, int argc, char **argv)
{
  g_autofree gchar *kernel = NULL;
  g_autofree gchar *initrd = NULL;
  g_autofree gchar *append = NULL;
  g_autofree gchar *method = NULL;
  g_autoptr (JsonObject) report = json_object_new ();
  g_autoptr (GError) error = NULL;
  g_autofree gchar *probe = NULL;
  g_autofree gchar *snapshot = NULL;
  g_autofree gchar *tcp = NULL;
  g_autofree gchar *modules = NULL;
  gboolean keep = FALSE, keep_images = FALSE, dry_run = FALSE, resume = FALSE, live = FALSE;
  gboolean force_kexec = FALSE;
  gint boot_timeout = 180, probe_timeout = 60, checkpoint_timeout = 600;
  MoltSwitchOptions o = { 0 };
  MoltSwitchResult result;
  const GOptionEntry entries[] = {
    { "kernel", 'k', 0, G_OPTION_ARG_FILENAME, &kernel,
      "the new kernel: a path in the guest (kexec) or on the host (reboot); 'installed': the "
      "newest one in the guest's /boot, with its initrd",
      "PATH" },
    { "initrd", 'i', 0, G_OPTION_ARG_FILENAME, &initrd, "its initramfs, likewise", "PATH" },
    { "modules", 0, 0, G_OPTION_ARG_FILENAME, &modules,
      "instead of a kernel, a driver set: the .ko files of DIR in the guest, built for the running "
      "kernel, replace the loaded modules of the same names: live while the jobs wait when every "
      "one can be unloaded, else by a kexec of the running kernel",
      "DIR" },
    { "live", 0, 0, G_OPTION_ARG_NONE, &live,
      "with --modules: the live reload only, refused at preflight (naming the holder) when a "
      "module cannot be unloaded",
      NULL },
    { "kexec", 0, 0, G_OPTION_ARG_NONE, &force_kexec,
      "with --modules: the same-kernel kexec path even when a live reload is possible (the "
      "running kernel boots again with the new modules in its initramfs, the jobs checkpointed "
      "and restored)",
      NULL },
    { "append", 'a', 0, G_OPTION_ARG_STRING, &append, "its command line (default: the running one)",
      "CMDLINE" },
    { "method", 'm', 0, G_OPTION_ARG_STRING, &method,
      "kexec (default): from the running guest; reboot: a new QEMU with a new direct-boot kernel",
      "METHOD" },
    { "snapshot", 0, 0, G_OPTION_ARG_STRING, &snapshot,
      "never (default): roll back by the jobs' layers only; always: also take a live external "
      "whole-VM snapshot before the freeze, the last resort (UEFI domains too); auto: that "
      "snapshot only before a kernel's first switch on the domain, and going on without it if "
      "it fails",
      "WHEN" },
    { "tcp", 0, 0, G_OPTION_ARG_STRING, &tcp,
      "keep (default): the jobs' TCP connections are re-created on the new kernel, the peers "
      "see a pause; close: they come back closed, and the jobs must reconnect (for peers that "
      "cannot wait, and --method reboot on a user-mode network)",
      "MODE" },
    { "keep-snapshot", 0, 0, G_OPTION_ARG_NONE, &keep,
      "keep the snapshot (--snapshot always or auto) after success", NULL },
    { "keep-images", 0, 0, G_OPTION_ARG_NONE, &keep_images,
      "keep the jobs' checkpoint images in the guest (/var/lib/molt/images/TAG) afterwards", NULL },
    { "dry-run", 'n', 0, G_OPTION_ARG_NONE, &dry_run,
      "run the preflight only and say what would happen", NULL },
    { "probe", 'p', 0, G_OPTION_ARG_STRING, &probe,
      "a shell command run in the guest after the restore; it must exit 0", "CMD" },
    { "probe-timeout", 0, 0, G_OPTION_ARG_INT, &probe_timeout,
      "seconds the probe may take (default 60)", "SECONDS" },
    { "resume", 0, 0, G_OPTION_ARG_NONE, &resume,
      "finish an interrupted switch of DOMAIN from its journal", NULL },
    { "boot-timeout", 0, 0, G_OPTION_ARG_INT, &boot_timeout,
      "seconds for the new kernel to bring the agent back (default 180)", "SECONDS" },
    { "checkpoint-timeout", 0, 0, G_OPTION_ARG_INT, &checkpoint_timeout,
      "seconds the CRIU dump of all jobs may take (default 600)", "SECONDS" },
    { NULL },
  };

  if (!molt_cli_parse (cli, &molt_cmd_switch, entries, &argc, &argv, &(int){ 0 }))
    return MOLT_EXIT_USAGE;
  if (argc != 2)
    return molt_cli_usage (&molt_cmd_switch, "expected one DOMAIN");
  if (modules != NULL
      && (kernel != NULL || initrd != NULL || append != NULL || resume || method != NULL))
    return molt_cli_usage (&molt_cmd_switch,
                           "--modules switches the driver set of the running kernel: it takes "
                           "none of --kernel, --initrd, --append, --method, --resume");
  if ((live || force_kexec) && modules == NULL)
    return molt_cli_usage (&molt_cmd_switch, "--live and --kexec are for --modules");
  if (live && force_kexec)
    return molt_cli_usage (&molt_cmd_switch, "--live and --kexec exclude each other");
  if (kernel == NULL && !resume && modules == NULL)
    return molt_cli_usage (&molt_cmd_switch, "--kernel or --modules is required");
  if (probe_timeout <= 0)
    return molt_cli_usage (&molt_cmd_switch, "--probe-timeout must be positive");
  if (snapshot != NULL && g_strcmp0 (snapshot, "never") != 0 && g_strcmp0 (snapshot, "always") != 0
      && g_strcmp0 (snapshot, "auto") != 0)
    return molt_cli_usage (&molt_cmd_switch, "--snapshot must be never, always or auto");
  if (keep && g_strcmp0 (snapshot, "always") != 0 && g_strcmp0 (snapshot, "auto") != 0)
    return molt_cli_usage (&molt_cmd_switch, "--keep-snapshot needs --snapshot always or auto");
  if (tcp != NULL && g_strcmp0 (tcp, "keep") != 0 && g_strcmp0 (tcp, "close") != 0)
    return molt_cli_usage (&molt_cmd_switch, "--tcp must be keep or close");
  if (method != NULL && g_strcmp0 (method, "kexec") != 0 && g_strcmp0 (method, "reboot") != 0)
    return molt_cli_usage (&molt_cmd_switch, "--method must be kexec or reboot");
  if (boot_timeout <= 0)
    return molt_cli_usage (&molt_cmd_switch, "--boot-timeout must be positive");
  if (checkpoint_timeout <= 0)
    return molt_cli_usage (&molt_cmd_switch, "--checkpoint-timeout must be positive");

  if (g_strcmp0 (kernel, MOLT_KERNEL_INSTALLED) == 0)
    {
      if (g_strcmp0 (method, "reboot") == 0)
        return molt_cli_usage (&molt_cmd_switch,
                               "--kernel installed is for --method kexec (a guest that boots "
                               "from its own disk starts its newest kernel when restarted)");
      if (resume)
        return molt_cli_usage (&molt_cmd_switch, "--resume takes the kernel from the journal");
      if (!resolve_installed (cli, argv[1], &kernel, &initrd, &error))
        return molt_cli_fail (cli, argv[1], error);
    }
  o.uri = cli->uri;
  o.method
      = g_strcmp0 (method, "reboot") == 0 ? MOLT_SWITCH_METHOD_REBOOT : MOLT_SWITCH_METHOD_KEXEC;
  o.domain = argv[1];
  o.kernel = kernel;
  o.initrd = initrd;
  o.append = append;
  o.state_dir = molt_state_dir ();
  o.snapshot = g_strcmp0 (snapshot, "always") == 0 ? MOLT_SWITCH_SNAPSHOT_ALWAYS
               : g_strcmp0 (snapshot, "auto") == 0 ? MOLT_SWITCH_SNAPSHOT_AUTO
                                                   : MOLT_SWITCH_SNAPSHOT_NEVER;
  o.keep_snapshot = keep;
  o.keep_images = keep_images;
  o.tcp_close = g_strcmp0 (tcp, "close") == 0;
  o.dry_run = dry_run;
  o.progress = print_progress;
  o.rollback_settle_ms = MOLT_ROLLBACK_SETTLE_MS;
  o.agent_timeout_s = (guint) cli->timeout_s;
  o.checkpoint_timeout_s = (guint) checkpoint_timeout;
  o.boot_timeout_s = (guint) boot_timeout;
  o.probe = probe;
  o.probe_timeout_s = (guint) probe_timeout;
  if (modules != NULL)
    return run_switch_modules (cli, argv[1], modules, dry_run,
                               live          ? MOLT_SWITCH_MODULES_LIVE
                               : force_kexec ? MOLT_SWITCH_MODULES_KEXEC
                                             : MOLT_SWITCH_MODULES_AUTO,
                               &o);
  result = resume ? molt_switch_resume (&o, report, &error) : molt_switch_run (&o, report, &error);
  return finish (cli, result, report, error, argv[1]);
}

static int
run_rollback (MoltCli *cli, int argc, char **argv)
{
  g_autoptr (JsonObject) report = json_object_new ();
  g_autoptr (GError) error = NULL;
  gint boot_timeout = 180;
  gint checkpoint_timeout = 600;
  MoltSwitchOptions o = { 0 };
  MoltSwitchResult result;
  const GOptionEntry entries[] = {
    { "boot-timeout", 0, 0, G_OPTION_ARG_INT, &boot_timeout,
      "seconds a kernel may take to bring the agent back (default 180)", "SECONDS" },
    { "checkpoint-timeout", 0, 0, G_OPTION_ARG_INT, &checkpoint_timeout,
      "seconds the CRIU dump may take when jobs go back by a new switch (default 600)", "SECONDS" },
    { NULL },
  };

  if (!molt_cli_parse (cli, &molt_cmd_rollback, entries, &argc, &argv, &(int){ 0 }))
    return MOLT_EXIT_USAGE;
  if (argc != 2)
    return molt_cli_usage (&molt_cmd_rollback, "expected one DOMAIN");
  if (boot_timeout <= 0)
    return molt_cli_usage (&molt_cmd_rollback, "--boot-timeout must be positive");
  if (checkpoint_timeout <= 0)
    return molt_cli_usage (&molt_cmd_rollback, "--checkpoint-timeout must be positive");
  o.boot_timeout_s = (guint) boot_timeout;
  o.checkpoint_timeout_s = (guint) checkpoint_timeout;
  o.uri = cli->uri;
  o.domain = argv[1];
  o.state_dir = molt_state_dir ();
  o.agent_timeout_s = (guint) cli->timeout_s;
  o.progress = print_progress;
  o.rollback_settle_ms = MOLT_ROLLBACK_SETTLE_MS;
  result = molt_switch_rollback (&o, report, &error);
  if (result == MOLT_SWITCH_NOTHING_DONE)
    return molt_cli_fail (cli, argv[1], error);
  if (result == MOLT_SWITCH_BROKEN)
    return finish (cli, result, report, error, argv[1]);
  return finish (cli, result, report, NULL, argv[1]);
}

const MoltCliCommand molt_cmd_switch = {
  .name = "switch",
  .parameters = "DOMAIN --kernel PATH [--initrd PATH] [--append CMDLINE] [--method kexec|reboot] "
                "[--probe CMD] [--snapshot never|always|auto] [--keep-snapshot] [--keep-images] "
                "[--tcp keep|close] "
                "[--dry-run] [--boot-timeout S] [--checkpoint-timeout S] | --resume DOMAIN | "
                "DOMAIN --modules DIR [--live|--kexec] [--probe CMD] [--dry-run]",
  .summary = "Switch DOMAIN to another kernel, or driver set, while its managed jobs keep "
             "running.",
  .description
  = "Steps, each journaled on the host before it starts: preflight; snapshot the VM\n"
    "(with --snapshot always, or auto before a kernel's first switch on the domain);\n"
    "prepare (copy the jobs' memory, load the new kernel, while the jobs run); freeze\n"
    "the jobs; checkpoint them with CRIU; kexec the new kernel; restore the jobs early\n"
    "in its boot; verify; commit.\n"
    "Any failure rolls back by the least destructive way that works: before the kexec,\n"
    "the jobs are thawed where they are; after it, the guest switches back to the old\n"
    "kernel (or is restarted on it) and the jobs are restored there from their images;\n"
    "the snapshot, if taken, is the last resort.\n"
    "--resume finishes a switch whose orchestrator was killed: after the kernel\n"
    "switch began it waits for the new boot, verifies and commits; before, it\n"
    "rolls back.\n"
    "--modules DIR installs a driver set (.ko files in the guest, built for the running\n"
    "kernel): live (freeze, unload the old modules, load the new, thaw) when every one\n"
    "can be unloaded, else by the same-kernel kexec path (the running kernel boots\n"
    "again with the new modules in its initramfs; the switch's steps and rollback\n"
    "layers as above; on disk only at the commit).\n"
    "Exit codes: 0 switched, 4 failed and rolled back, 5 failed and the rollback\n"
    "failed too (the images, and a snapshot, are kept), others as for every command.",
  .run = run_switch,
};
const MoltCliCommand molt_cmd_rollback = {
  .name = "rollback",
  .parameters = "DOMAIN [--boot-timeout S] [--checkpoint-timeout S]",
  .summary = "Undo a switch that was interrupted, from its journal.",
  .description = "Brings DOMAIN's jobs back on the old kernel by the least destructive way:\n"
                 "thawed in place if the old kernel still runs; else the guest switches back\n"
                 "(or is restarted) to the old kernel, which restores them from their images;\n"
                 "a snapshot, if the switch took one, is the last resort. Then the jobs are\n"
                 "checked and the images (and snapshot) dropped.\n"
                 "Jobs that already run on the new kernel keep their work: the switch is\n"
                 "committed there and a new switch takes them back to the old kernel (if it\n"
                 "fails, they run on, on the new kernel: exit 1).",
  .run = run_rollback,
};
