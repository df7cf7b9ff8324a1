#include "molt-dispatch.h"

/* What reads only, and so may run whatever the guest's state. */
#define ANYTIME                                                                                    \
  (MOLT_COMMAND_FLAG_ALLOWED_WHILE_JOBS_FROZEN | MOLT_COMMAND_FLAG_ALLOWED_WHILE_FS_FROZEN         \
   | MOLT_COMMAND_FLAG_ALLOWED_WHILE_BUSY)

static const MoltCommand commands[] = {
  { "sync", molt_command_sync, ANYTIME, NULL },
  { "sync-delimited", molt_command_sync, ANYTIME | MOLT_COMMAND_FLAG_DELIMITED, NULL },
  { "info", molt_command_info, ANYTIME, NULL },
  { "commands", molt_command_commands, ANYTIME, NULL },
  { "job-start", NULL, MOLT_COMMAND_FLAG_NONE, molt_command_job_start },
  { "job-list", molt_command_job_list, ANYTIME, NULL },
  { "job-stop", molt_command_job_stop, MOLT_COMMAND_FLAG_NONE, NULL },
  { "job-attach", molt_command_job_attach, MOLT_COMMAND_FLAG_NONE, NULL },
  { "boot-once", molt_command_boot_once, MOLT_COMMAND_FLAG_NONE, NULL },
  { "modules-inspect", molt_command_modules_inspect, ANYTIME, NULL },
  { "modules-reload", molt_command_modules_reload, MOLT_COMMAND_FLAG_ALLOWED_WHILE_JOBS_FROZEN,
    NULL },
  /* A live reload held for the host's probe: kept or undone after it. */
  { "modules-reload-commit", molt_command_modules_reload_commit,
    MOLT_COMMAND_FLAG_ALLOWED_WHILE_JOBS_FROZEN, NULL },
  { "modules-reload-revert", molt_command_modules_reload_revert,
    MOLT_COMMAND_FLAG_ALLOWED_WHILE_JOBS_FROZEN, NULL },
  /* The same-kernel kexec path: its initramfs before, its check after the
   * boot, its files on disk at the commit. */
  { "modules-initrd", molt_command_modules_initrd, MOLT_COMMAND_FLAG_NONE, NULL },
  { "modules-settle", molt_command_modules_settle, MOLT_COMMAND_FLAG_ALLOWED_WHILE_JOBS_FROZEN,
    NULL },
  { "modules-install", molt_command_modules_install, MOLT_COMMAND_FLAG_NONE, NULL },
  /* The old modules after the boot of a failed live reload's last layer. */
  { "modules-load", molt_command_modules_load, MOLT_COMMAND_FLAG_ALLOWED_WHILE_JOBS_FROZEN, NULL },
  { "job-log", molt_command_job_log, ANYTIME, NULL },
  { "switch-preflight", molt_command_switch_preflight, ANYTIME, NULL },
  { "freeze", NULL, MOLT_COMMAND_FLAG_NONE, molt_command_freeze },
  /* Also while a freeze syncs (the thaw wins, the freeze fails); thaw itself
   * refuses while a dump runs: CRIU holds the jobs then. */
  { "thaw", molt_command_thaw, ANYTIME, NULL },
  { "fsfreeze-status", molt_command_fsfreeze_status, ANYTIME, NULL },
  /* Writes images: never to a frozen filesystem. pre-dump copies the
   * running jobs' memory before the freeze. */
  { "pre-dump", NULL, MOLT_COMMAND_FLAG_NONE, molt_command_pre_dump },
  { "checkpoint", NULL, MOLT_COMMAND_FLAG_ALLOWED_WHILE_JOBS_FROZEN, molt_command_checkpoint },
  { "kexec", NULL, MOLT_COMMAND_FLAG_ALLOWED_WHILE_JOBS_FROZEN, molt_command_kexec },
  { "kexec-load", NULL, MOLT_COMMAND_FLAG_NONE, molt_command_kexec_load },
  { "images-drop", molt_command_images_drop, MOLT_COMMAND_FLAG_NONE, NULL },
  { "images-logs", molt_command_images_logs, ANYTIME, NULL },
  { "images-verify", molt_command_images_verify, ANYTIME, NULL },
  { "restore-undo", molt_command_restore_undo, MOLT_COMMAND_FLAG_ALLOWED_WHILE_JOBS_FROZEN, NULL },
  { NULL, NULL, 0, NULL },
};
const MoltCommand *
molt_dispatch_table (void)
{
  return commands;
}

const MoltCommand *
molt_dispatch_lookup (const gchar *name)
{
  for (const MoltCommand *cmd = commands; cmd->name != NULL; cmd++)
    if (g_str_equal (cmd->name, name))
      return cmd;
  return NULL;
}
