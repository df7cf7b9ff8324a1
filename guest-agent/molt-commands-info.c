/* info: who is this agent and what can this guest do. */
#include <sys/utsname.h>

#include "molt-dispatch.h"

static gchar *
read_trimmed (const gchar *path)
{
  gchar *contents = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return NULL;
  return g_strstrip (contents);
}

JsonNode *
molt_command_info (MoltAgent *agent, JsonObject *args, GError **error)
{
  g_autoptr (JsonObject) obj = json_object_new ();
  g_autofree gchar *boot_id = read_trimmed ("/proc/sys/kernel/random/boot_id");
  g_autofree gchar *uptime = read_trimmed ("/proc/uptime");
  struct utsname uts;

  json_object_set_string_member (obj, "version", MOLT_VERSION);
  if (uname (&uts) == 0)
    {
      json_object_set_string_member (obj, "kernel-release", uts.release);
      json_object_set_string_member (obj, "kernel-version", uts.version);
      json_object_set_string_member (obj, "machine", uts.machine);
    }
  if (boot_id != NULL)
    json_object_set_string_member (obj, "boot-id", boot_id);
  if (uptime != NULL)
    json_object_set_double_member (obj, "uptime", g_ascii_strtod (uptime, NULL));
  json_object_set_boolean_member (obj, "frozen", molt_agent_is_frozen (agent));
  json_object_set_boolean_member (obj, "filesystems-frozen",
                                  molt_agent_get_frozen_mounts (agent) != NULL);
  if (molt_agent_get_busy (agent) != NULL)
    json_object_set_string_member (obj, "busy", molt_agent_get_busy (agent));
  json_object_set_boolean_member (obj, "kexec-pending", molt_agent_kexec_pending (agent));
  json_object_set_member (obj, "criu", molt_criu_probe_to_json (molt_agent_get_criu_probe (agent)));
  return json_node_init_object (json_node_alloc (), obj);
}
