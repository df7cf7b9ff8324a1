/* The agent's one table of protocol commands. */
#pragma once

#include "molt-agent.h"

G_BEGIN_DECLS

typedef enum
{
  MOLT_COMMAND_FLAG_NONE = 0,
  /* Allowed while the guest's jobs/filesystems are frozen. */
  MOLT_COMMAND_FLAG_ALLOWED_WHILE_FROZEN = 1 << 0,
  /* The reply is preceded by 0xFF so the host can resynchronise. */
  MOLT_COMMAND_FLAG_DELIMITED = 1 << 1,
} MoltCommandFlags;

typedef JsonNode *(*MoltCommandFunc) (MoltAgent *agent, JsonObject *args, GError **error);

typedef struct
{
  const gchar *name;
  MoltCommandFunc func;
  MoltCommandFlags flags;
} MoltCommand;

const MoltCommand *molt_dispatch_lookup (const gchar *name);
/* NULL-terminated by name == NULL. */
const MoltCommand *molt_dispatch_table (void);

/* One function per command; one file per command group. */
JsonNode *molt_command_sync (MoltAgent *agent, JsonObject *args, GError **error);
JsonNode *molt_command_info (MoltAgent *agent, JsonObject *args, GError **error);
JsonNode *molt_command_commands (MoltAgent *agent, JsonObject *args, GError **error);
JsonNode *molt_command_job_start (MoltAgent *agent, JsonObject *args, GError **error);
JsonNode *molt_command_job_list (MoltAgent *agent, JsonObject *args, GError **error);
JsonNode *molt_command_job_stop (MoltAgent *agent, JsonObject *args, GError **error);
JsonNode *molt_command_job_log (MoltAgent *agent, JsonObject *args, GError **error);
JsonNode *molt_command_switch_preflight (MoltAgent *agent, JsonObject *args, GError **error);
JsonNode *molt_command_freeze (MoltAgent *agent, JsonObject *args, GError **error);
JsonNode *molt_command_thaw (MoltAgent *agent, JsonObject *args, GError **error);
JsonNode *molt_command_fsfreeze_status (MoltAgent *agent, JsonObject *args, GError **error);
JsonNode *molt_command_checkpoint (MoltAgent *agent, JsonObject *args, GError **error);
JsonNode *molt_command_kexec (MoltAgent *agent, JsonObject *args, GError **error);
JsonNode *molt_command_images_drop (MoltAgent *agent, JsonObject *args, GError **error);
JsonNode *molt_command_images_logs (MoltAgent *agent, JsonObject *args, GError **error);

G_END_DECLS
