/* The agent's one table of protocol commands. */
#pragma once

#include "molt-agent.h"

G_BEGIN_DECLS

/* What a command may run during; a state it is not allowed in refuses it
 * with CommandDisabled, saying which state. */
typedef enum
{
  MOLT_COMMAND_FLAG_NONE = 0,
  /* Allowed while the jobs are frozen (SIGSTOP). */
  MOLT_COMMAND_FLAG_ALLOWED_WHILE_JOBS_FROZEN = 1 << 0,
  /* The reply is preceded by 0xFF so the host can resynchronise. */
  MOLT_COMMAND_FLAG_DELIMITED = 1 << 1,
  /* Allowed while the filesystems are frozen (FIFREEZE): writes nothing. */
  MOLT_COMMAND_FLAG_ALLOWED_WHILE_FS_FROZEN = 1 << 2,
  /* Allowed while a command runs off the main loop (a CRIU dump, a sync). */
  MOLT_COMMAND_FLAG_ALLOWED_WHILE_BUSY = 1 << 3,
} MoltCommandFlags;

typedef JsonNode *(*MoltCommandFunc) (MoltAgent *agent, JsonObject *args, GError **error);

/* A request a command answers later, from the main loop. */
typedef struct _MoltCall MoltCall;
/* An asynchronous command: it answers through molt_call_return or
 * molt_call_fail, exactly once. */
typedef void (*MoltCommandAsyncFunc) (MoltAgent *agent, JsonObject *args, MoltCall *call);

typedef struct
{
  const gchar *name;
  MoltCommandFunc func; /* NULL for an asynchronous command */
  MoltCommandFlags flags;
  MoltCommandAsyncFunc async_func;
} MoltCommand;

/* Both take ownership of what they are given and free call. */
void molt_call_return (MoltCall *call, JsonNode *result);
void molt_call_fail (MoltCall *call, GError *error);

const MoltCommand *molt_dispatch_lookup (const gchar *name);
/* NULL-terminated by name == NULL. */
const MoltCommand *molt_dispatch_table (void);

/* kexec -u (molt-commands-switch.c): a thaw calls off a kernel switch. */
void molt_unload_kernel (void);

/* One function per command; one file per command group. */
JsonNode *molt_command_sync (MoltAgent *agent, JsonObject *args, GError **error);
JsonNode *molt_command_info (MoltAgent *agent, JsonObject *args, GError **error);
JsonNode *molt_command_commands (MoltAgent *agent, JsonObject *args, GError **error);
void molt_command_job_start (MoltAgent *agent, JsonObject *args, MoltCall *call);
JsonNode *molt_command_job_list (MoltAgent *agent, JsonObject *args, GError **error);
JsonNode *molt_command_job_stop (MoltAgent *agent, JsonObject *args, GError **error);
JsonNode *molt_command_job_attach (MoltAgent *agent, JsonObject *args, GError **error);
JsonNode *molt_command_boot_once (MoltAgent *agent, JsonObject *args, GError **error);
JsonNode *molt_command_modules_inspect (MoltAgent *agent, JsonObject *args, GError **error);
JsonNode *molt_command_modules_reload (MoltAgent *agent, JsonObject *args, GError **error);
JsonNode *molt_command_modules_reload_commit (MoltAgent *agent, JsonObject *args, GError **error);
JsonNode *molt_command_modules_reload_revert (MoltAgent *agent, JsonObject *args, GError **error);
JsonNode *molt_command_modules_initrd (MoltAgent *agent, JsonObject *args, GError **error);
JsonNode *molt_command_modules_settle (MoltAgent *agent, JsonObject *args, GError **error);
JsonNode *molt_command_modules_load (MoltAgent *agent, JsonObject *args, GError **error);
JsonNode *molt_command_modules_install (MoltAgent *agent, JsonObject *args, GError **error);
JsonNode *molt_command_job_log (MoltAgent *agent, JsonObject *args, GError **error);
JsonNode *molt_command_switch_preflight (MoltAgent *agent, JsonObject *args, GError **error);
void molt_command_freeze (MoltAgent *agent, JsonObject *args, MoltCall *call);
JsonNode *molt_command_thaw (MoltAgent *agent, JsonObject *args, GError **error);
JsonNode *molt_command_fsfreeze_status (MoltAgent *agent, JsonObject *args, GError **error);
void molt_command_checkpoint (MoltAgent *agent, JsonObject *args, MoltCall *call);
void molt_command_pre_dump (MoltAgent *agent, JsonObject *args, MoltCall *call);
void molt_command_kexec (MoltAgent *agent, JsonObject *args, MoltCall *call);
void molt_command_kexec_load (MoltAgent *agent, JsonObject *args, MoltCall *call);
JsonNode *molt_command_images_drop (MoltAgent *agent, JsonObject *args, GError **error);
JsonNode *molt_command_images_logs (MoltAgent *agent, JsonObject *args, GError **error);
JsonNode *molt_command_images_verify (MoltAgent *agent, JsonObject *args, GError **error);
JsonNode *molt_command_restore_undo (MoltAgent *agent, JsonObject *args, GError **error);

G_END_DECLS
