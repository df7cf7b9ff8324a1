/* A driver-set switch: see molt-switch-modules.h. */
#include "molt-agent-client.h"
#include "molt-domain-lock.h"
#include "molt-host-error.h"
#include "molt-libvirt.h"
#include "molt-reply.h"
#include "molt-switch-modules.h"

/* The agent thaws by itself if the host vanishes for this long. */
#define MOLT_MODULES_AUTO_THAW_S 120
/* modules-reload unloads and loads in the guest: seconds, not more. */
#define MOLT_MODULES_RELOAD_TIMEOUT_MS 120000

static void
progress (const MoltSwitchModulesOptions *o, const gchar *line)
{
  if (o->progress != NULL)
    o->progress (line, NULL);
}

static void
add_step (JsonObject *report, const gchar *name, gint64 start)
{
  JsonArray *steps = json_object_get_array_member (report, "steps");
  JsonObject *step = json_object_new ();

  json_object_set_string_member (step, "step", name);
  json_object_set_double_member (step, "seconds",
                                 (gdouble) ((g_get_monotonic_time () - start) / 1000) / 1000);
  json_array_add_object_element (steps, step);
}

/* The preflight's decision: FALSE with the reason when the set cannot be
 * installed, or not live. */
static gboolean
decide (JsonObject *inspect, JsonObject *report, GError **error)
{
  JsonArray *problems = NULL, *modules = NULL;
  g_autoptr (GString) why = g_string_new (NULL);

  if (!molt_reply_get_array (inspect, "modules-inspect", "problems", 0, &problems, error)
      || !molt_reply_get_array (inspect, "modules-inspect", "modules", 0, &modules, error))
    return FALSE;
  for (guint i = 0; i < json_array_get_length (problems); i++)
    {
      JsonNode *node = json_array_get_element (problems, i);
      if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
        g_string_append_printf (why, "%s%s", why->len > 0 ? "; " : "", json_node_get_string (node));
    }
  if (why->len > 0)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "preflight: the driver set cannot be installed: %s; nothing was changed",
                   why->str);
      return FALSE;
    }
  for (guint i = 0; i < json_array_get_length (modules); i++)
    {
      JsonObject *module = molt_reply_array_object (modules, "modules-inspect", i, error);
      const gchar *busy = NULL;

      if (module == NULL
          || !molt_reply_get_string (module, "modules-inspect", "busy", MOLT_REPLY_OPTIONAL, &busy,
                                     error))
        return FALSE;
      if (busy != NULL)
        g_string_append_printf (why, "%s%s", why->len > 0 ? "; " : "", busy);
    }
  if (why->len > 0)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "preflight: no live reload: %s (the same-kernel kexec path for such a module "
                   "is not built yet: stop what holds it, then switch again); nothing was changed",
                   why->str);
      return FALSE;
    }
  json_object_set_string_member (report, "path", "live");
  json_object_set_string_member (report, "reason",
                                 "every module to replace can be unloaded: the jobs wait frozen "
                                 "while the modules are swapped, no kexec");
  return TRUE;
}

MoltSwitchResult
molt_switch_modules (const MoltSwitchModulesOptions *o, JsonObject *report, GError **error)
{
  g_autoptr (virConnect) conn = NULL;
  g_autoptr (virDomain) dom = NULL;
  g_autoptr (MoltDomainLock) lock = NULL;
  g_autoptr (MoltAgentClient) client = NULL;
  g_autoptr (JsonObject) args = json_object_new ();
  g_autoptr (JsonObject) freeze_args = json_object_new ();
  g_autoptr (JsonNode) inspect_node = NULL, frozen = NULL, reloaded = NULL, thawed = NULL;
  g_autoptr (GError) reload_error = NULL, thaw_error = NULL;
  JsonObject *inspect;
  MoltTransport *transport;
  gint64 start = g_get_monotonic_time (), frozen_at;

  json_object_set_string_member (report, "domain", o->domain);
  json_object_set_string_member (report, "modules-dir", o->dir);
  json_object_set_array_member (report, "steps", json_array_new ());
  progress (o, "preflight: checking the driver set against the running kernel");
  if ((conn = molt_libvirt_connect (o->uri, error)) == NULL
      || (dom = molt_libvirt_lookup_domain (conn, o->domain, error)) == NULL
      || (lock = molt_domain_lock_acquire (o->state_dir, dom, MOLT_LOCK_EXCLUSIVE, "switch", error))
             == NULL
      || (transport = molt_libvirt_open_agent (dom, error)) == NULL)
    return MOLT_SWITCH_NOTHING_DONE;
  client = molt_agent_client_new (transport);
  molt_agent_client_set_timeout (client, o->agent_timeout_s * 1000);
  json_object_set_string_member (args, "dir", o->dir);
  if ((inspect_node = molt_agent_client_call (client, "modules-inspect", args, error)) == NULL
      || (inspect = molt_reply_as_object (inspect_node, "modules-inspect", error)) == NULL)
    {
      g_prefix_error (error, "preflight: ");
      return MOLT_SWITCH_NOTHING_DONE;
    }
  json_object_set_member (report, "before", json_node_ref (inspect_node));
  if (!decide (inspect, report, error))
    return MOLT_SWITCH_NOTHING_DONE;
  add_step (report, "preflight", start);
  if (o->dry_run)
    return MOLT_SWITCH_DRY_RUN;

  progress (o, "freeze: stopping the jobs");
  start = g_get_monotonic_time ();
  json_object_set_int_member (freeze_args, "timeout", MOLT_MODULES_AUTO_THAW_S);
  if ((frozen = molt_agent_client_call (client, "freeze", freeze_args, error)) == NULL)
    {
      g_autoptr (JsonNode) undo = molt_agent_client_call (client, "thaw", NULL, NULL);
      g_prefix_error (error, "freeze: ");
      return MOLT_SWITCH_NOTHING_DONE;
    }
  frozen_at = g_get_monotonic_time ();
  add_step (report, "freeze", start);

  progress (o, "reload: swapping the modules (the old ones come back if a new one fails)");
  start = g_get_monotonic_time ();
  molt_agent_client_set_timeout (client, MOLT_MODULES_RELOAD_TIMEOUT_MS);
  reloaded = molt_agent_client_call (client, "modules-reload", args, &reload_error);
  molt_agent_client_set_timeout (client, o->agent_timeout_s * 1000);
  add_step (report, "reload", start);

  progress (o, "thaw: continuing the jobs");
  start = g_get_monotonic_time ();
  thawed = molt_agent_client_call (client, "thaw", NULL, &thaw_error);
  add_step (report, "thaw", start);
  json_object_set_double_member (report, "downtime-s",
                                 (gdouble) ((g_get_monotonic_time () - frozen_at) / 1000) / 1000);
  if (reloaded != NULL)
    json_object_set_member (report, "modules", json_node_ref (reloaded));
  if (reload_error != NULL)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&reload_error), "reload: ");
      if (thaw_error != NULL)
        g_prefix_error (error, "thaw failed too (the agent thaws by itself within %d s: %s); ",
                        MOLT_MODULES_AUTO_THAW_S, thaw_error->message);
      return strstr ((*error)->message, "rolled back: ") != NULL ? MOLT_SWITCH_ROLLED_BACK
                                                                 : MOLT_SWITCH_BROKEN;
    }
  if (thaw_error != NULL)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&thaw_error),
                                  "the modules were swapped, but the thaw failed (the agent "
                                  "thaws by itself within %d s): ",
                                  MOLT_MODULES_AUTO_THAW_S);
      return MOLT_SWITCH_BROKEN;
    }
  json_object_set_string_member (report, "result", "committed");
  return MOLT_SWITCH_COMMITTED;
}
