#include "molt-host-error.h"
#include "molt-libvirt.h"
#include "molt-quiesce.h"

/* The agent thaws by itself after this long without our thaw. */
#define MOLT_QUIESCE_AUTO_THAW_S 120

MoltAgentClient *
molt_quiesce_begin (virDomainPtr dom, MoltQuiesce mode, guint timeout_s, gchar **warning,
                    GError **error)
{
  g_autoptr (MoltAgentClient) client = NULL;
  g_autoptr (JsonObject) args = json_object_new ();
  g_autoptr (JsonNode) frozen = NULL;
  g_autoptr (GError) local_error = NULL;
  MoltTransport *transport;

  if (mode == MOLT_QUIESCE_OFF || virDomainIsActive (dom) != 1)
    return NULL;
  transport = molt_libvirt_open_agent (dom, &local_error);
  if (transport != NULL)
    {
      client = molt_agent_client_new (transport);
      molt_agent_client_set_timeout (client, timeout_s * 1000);
      json_object_set_boolean_member (args, "filesystems", TRUE);
      json_object_set_int_member (args, "timeout", MOLT_QUIESCE_AUTO_THAW_S);
      frozen = molt_agent_client_call (client, "freeze", args, &local_error);
    }
  if (frozen != NULL)
    return g_steal_pointer (&client);
  if (client != NULL)
    {
      /* A half-done freeze must not outlive us. */
      g_autoptr (JsonNode) thawed = molt_agent_client_call (client, "thaw", NULL, NULL);
    }
  if (mode == MOLT_QUIESCE_REQUIRED)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "cannot quiesce '%s' (quiesce=required, so no snapshot was taken): %s",
                   virDomainGetName (dom), local_error->message);
      return NULL;
    }
  *warning = g_strdup_printf ("not quiesced (%s); the snapshot is crash-consistent",
                              local_error->message);
  return NULL;
}

gboolean
molt_quiesce_end (MoltAgentClient *client, GError **error)
{
  g_autoptr (JsonNode) thawed = NULL;

  if (client == NULL)
    return TRUE;
  thawed = molt_agent_client_call (client, "thaw", NULL, error);
  molt_agent_client_free (client);
  return thawed != NULL;
}
