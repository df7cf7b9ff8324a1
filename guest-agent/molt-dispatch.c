#include "molt-dispatch.h"

static const MoltCommand commands[] = {
  { "sync", molt_command_sync, MOLT_COMMAND_FLAG_ALLOWED_WHILE_FROZEN },
  { "sync-delimited", molt_command_sync,
    MOLT_COMMAND_FLAG_ALLOWED_WHILE_FROZEN | MOLT_COMMAND_FLAG_DELIMITED },
  { "info", molt_command_info, MOLT_COMMAND_FLAG_ALLOWED_WHILE_FROZEN },
  { "commands", molt_command_commands, MOLT_COMMAND_FLAG_ALLOWED_WHILE_FROZEN },
  { "job-start", molt_command_job_start, MOLT_COMMAND_FLAG_NONE },
  { "job-list", molt_command_job_list, MOLT_COMMAND_FLAG_ALLOWED_WHILE_FROZEN },
  { "job-stop", molt_command_job_stop, MOLT_COMMAND_FLAG_NONE },
  { "job-log", molt_command_job_log, MOLT_COMMAND_FLAG_ALLOWED_WHILE_FROZEN },
  { "switch-preflight", molt_command_switch_preflight, MOLT_COMMAND_FLAG_ALLOWED_WHILE_FROZEN },
  { "freeze", molt_command_freeze, MOLT_COMMAND_FLAG_NONE },
  { "thaw", molt_command_thaw, MOLT_COMMAND_FLAG_ALLOWED_WHILE_FROZEN },
  { "fsfreeze-status", molt_command_fsfreeze_status, MOLT_COMMAND_FLAG_ALLOWED_WHILE_FROZEN },
  { "checkpoint", molt_command_checkpoint, MOLT_COMMAND_FLAG_ALLOWED_WHILE_FROZEN },
  { "kexec", molt_command_kexec, MOLT_COMMAND_FLAG_ALLOWED_WHILE_FROZEN },
  { "images-drop", molt_command_images_drop, MOLT_COMMAND_FLAG_NONE },
  { "images-logs", molt_command_images_logs, MOLT_COMMAND_FLAG_ALLOWED_WHILE_FROZEN },
  { NULL, NULL, 0 },
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
