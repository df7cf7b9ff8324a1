/* sync, sync-delimited, commands: the plumbing the host relies on. */
#include "molt-args.h"
#include "molt-dispatch.h"

JsonNode *
molt_command_sync (MoltAgent *agent, JsonObject *args, GError **error)
{
  gint64 id = 0;

  if (!molt_args_get_int (args, "id", TRUE, G_MININT64, G_MAXINT64, &id, error))
    return NULL;
  return json_node_init_int (json_node_alloc (), id);
}

JsonNode *
molt_command_commands (MoltAgent *agent, JsonObject *args, GError **error)
{
  g_autoptr (JsonArray) array = json_array_new ();

  for (const MoltCommand *cmd = molt_dispatch_table (); cmd->name != NULL; cmd++)
    {
      g_autoptr (JsonObject) obj = json_object_new ();
      json_object_set_string_member (obj, "name", cmd->name);
      json_object_set_boolean_member (obj, "allowed-while-frozen",
                                      (cmd->flags & MOLT_COMMAND_FLAG_ALLOWED_WHILE_JOBS_FROZEN)
                                          != 0);
      json_object_set_boolean_member (obj, "allowed-while-filesystems-frozen",
                                      (cmd->flags & MOLT_COMMAND_FLAG_ALLOWED_WHILE_FS_FROZEN)
                                          != 0);
      json_object_set_boolean_member (obj, "allowed-while-busy",
                                      (cmd->flags & MOLT_COMMAND_FLAG_ALLOWED_WHILE_BUSY) != 0);
      json_array_add_object_element (array, g_steal_pointer (&obj));
    }
  return json_node_init_array (json_node_alloc (), array);
}
