#include <stdio.h>

#include "molt-cli.h"
#include "molt-domain-lock.h"
#include "molt-state-dir.h"
#include "molt-host-error.h"
#include "molt-message.h"
#include "molt-protocol-error.h"

void
molt_cli_add_common_entries (MoltCli *cli, GOptionContext *context)
{
  const GOptionEntry entries[] = {
    { "connect", 'c', 0, G_OPTION_ARG_STRING, &cli->uri,
      "libvirt URI (default: $LIBVIRT_DEFAULT_URI, then " MOLT_DEFAULT_URI ")", "URI" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &cli->json, "print one JSON object for scripts", NULL },
    { "timeout", 't', 0, G_OPTION_ARG_INT, &cli->timeout_s,
      "seconds to wait for each agent reply (default 10)", "SECONDS" },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &cli->verbose,
      "log what happens, including the full protocol exchange", NULL },
    { NULL },
  };

  g_option_context_add_main_entries (context, entries, NULL);
}

gboolean
molt_cli_parse (MoltCli *cli, const MoltCliCommand *cmd, const GOptionEntry *entries, int *argc,
                char ***argv, int *exit_code)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *params = g_strdup_printf ("%s", cmd->parameters);

  context = g_option_context_new (params);
  g_option_context_set_summary (context, cmd->summary);
  if (cmd->description != NULL)
    g_option_context_set_description (context, cmd->description);
  if (entries != NULL)
    g_option_context_add_main_entries (context, entries, NULL);
  molt_cli_add_common_entries (cli, context);
  g_set_prgname (g_strdup_printf ("molt %s", cmd->name));
  if (!g_option_context_parse (context, argc, argv, &error))
    {
      *exit_code = molt_cli_usage (cmd, error->message);
      return FALSE;
    }
  if (cli->verbose)
    g_setenv ("G_MESSAGES_DEBUG", "all", TRUE);
  if (cli->timeout_s <= 0)
    cli->timeout_s = MOLT_AGENT_CLIENT_DEFAULT_TIMEOUT_MS / 1000;
  return TRUE;
}

MoltAgentClient *
molt_cli_open_agent (MoltCli *cli, const gchar *domain, GError **error)
{
  g_autoptr (virConnect) conn = NULL;
  g_autoptr (virDomain) dom = NULL;
  g_autoptr (MoltAgentClient) client = NULL;
  g_autoptr (MoltDomainLock) lock = NULL;
  g_autoptr (MoltDomainLock) channel_lock = NULL;
  MoltTransport *transport;

  conn = molt_libvirt_connect (cli->uri, error);
  if (conn == NULL)
    return NULL;
  dom = molt_libvirt_lookup_domain (conn, domain, error);
  if (dom == NULL)
    return NULL;
  /* Read-only: shared with other readers, refused at once while a switch
   * or a snapshot holds the domain; then the channel, one reader at a time
   * (molt-domain-lock.h). */
  lock = molt_domain_lock_acquire (molt_state_dir (), dom, MOLT_LOCK_SHARED, "read", error);
  if (lock == NULL)
    return NULL;
  channel_lock
      = molt_domain_lock_channel (molt_state_dir (), dom, (guint) cli->timeout_s * 1000, error);
  if (channel_lock == NULL)
    return NULL;
  transport = molt_libvirt_open_agent (dom, error);
  if (transport == NULL)
    return NULL;
  /* The stream holds its own reference to the connection. */
  client = molt_agent_client_new (transport);
  molt_agent_client_hold (client, g_steal_pointer (&lock),
                          (GDestroyNotify) molt_domain_lock_release);
  molt_agent_client_hold (client, g_steal_pointer (&channel_lock),
                          (GDestroyNotify) molt_domain_lock_release);
  molt_agent_client_set_timeout (client, (guint) cli->timeout_s * 1000);
  if (!molt_agent_client_sync (client, error))
    return NULL;
  return g_steal_pointer (&client);
}

static int
exit_code_for (const GError *error)
{
  if (error->domain == MOLT_HOST_ERROR)
    switch ((MoltHostErrorCode) error->code)
      {
      case MOLT_HOST_ERROR_DOMAIN_NOT_FOUND:
        return MOLT_EXIT_NOT_FOUND;
      case MOLT_HOST_ERROR_CONNECT:
      case MOLT_HOST_ERROR_DOMAIN_NOT_RUNNING:
      case MOLT_HOST_ERROR_NO_CHANNEL:
      case MOLT_HOST_ERROR_AGENT_UNRESPONSIVE:
      case MOLT_HOST_ERROR_AGENT_PROTOCOL:
      case MOLT_HOST_ERROR_REPLY_TOO_LARGE:
      case MOLT_HOST_ERROR_AGENT_CLOSED:
        return MOLT_EXIT_UNREACHABLE;
      case MOLT_HOST_ERROR_BUSY:
        return MOLT_EXIT_BUSY;
      default:
        break;
      }
  return MOLT_EXIT_FAILED;
}

static const gchar *
error_code_name (const GError *error)
{
  if (error->domain == MOLT_HOST_ERROR)
    return molt_host_error_to_string ((MoltHostErrorCode) error->code);
  if (error->domain == MOLT_PROTOCOL_ERROR)
    return molt_protocol_error_to_class ((MoltProtocolErrorCode) error->code);
  return "failed";
}

void
molt_cli_print_error (const gchar *what, const gchar *message)
{
  /* Messages carry guest text (job names, CRIU's errors, ...). */
  g_autofree gchar *what_shown = molt_text_excerpt (what, 256);
  g_autofree gchar *shown = molt_text_excerpt (message, 64 * 1024);

  g_printerr ("molt: %s: %s\n", what_shown, shown);
}

int
molt_cli_fail (MoltCli *cli, const gchar *what, const GError *error)
{
  int code = exit_code_for (error);

  molt_cli_print_error (what, error->message);
  if (cli->json)
    {
      g_autoptr (JsonObject) err = json_object_new ();
      g_autoptr (JsonObject) obj = json_object_new ();
      g_autoptr (JsonNode) root = NULL;

      json_object_set_string_member (err, "code", error_code_name (error));
      json_object_set_string_member (err, "message", error->message);
      json_object_set_int_member (err, "exit-code", code);
      json_object_set_object_member (obj, "error", g_steal_pointer (&err));
      root = json_node_init_object (json_node_alloc (), obj);
      molt_cli_print_json (root);
    }
  return code;
}

int
molt_cli_usage (const MoltCliCommand *cmd, const gchar *message)
{
  g_printerr ("molt %s: %s\nUsage: molt %s %s\n('molt %s --help' for more)\n", cmd->name, message,
              cmd->name, cmd->parameters, cmd->name);
  return MOLT_EXIT_USAGE;
}

void
molt_cli_print_json (JsonNode *node)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autofree gchar *text = NULL;

  json_generator_set_pretty (gen, TRUE);
  json_generator_set_root (gen, node);
  text = json_generator_to_data (gen, NULL);
  g_print ("%s\n", text);
}

/* The agent probes CRIU in the background after it starts; wait for the
 * verdict rather than printing "checking". */
JsonNode *
molt_cli_info_settled (MoltCli *cli, MoltAgentClient *client, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) cli->timeout_s * G_USEC_PER_SEC;

  for (;;)
    {
      g_autoptr (JsonNode) info = molt_agent_client_call (client, "info", NULL, error);
      JsonObject *criu;

      if (info == NULL)
        return NULL;
      if (!JSON_NODE_HOLDS_OBJECT (info))
        return g_steal_pointer (&info);
      criu = json_object_get_object_member (json_node_get_object (info), "criu");
      if (criu == NULL
          || g_strcmp0 (json_object_get_string_member_with_default (criu, "state", ""), "checking")
                 != 0
          || g_get_monotonic_time () > deadline)
        return g_steal_pointer (&info);
      g_usleep (G_USEC_PER_SEC / 2);
    }
}
