/* molt info DOMAIN: the agent's view of the guest. */
#include "molt-cli.h"
#include "molt-commands.h"

/* The agent probes CRIU in the background after it starts; wait for the
 * verdict rather than printing "checking". */
static JsonNode *
call_info_settled (MoltCli *cli, MoltAgentClient *client, GError **error)
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

static const gchar *
str (JsonObject *obj, const gchar *name)
{
  return obj != NULL ? json_object_get_string_member_with_default (obj, name, "?") : "?";
}

static int
run_info (MoltCli *cli, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MoltAgentClient) client = NULL;
  g_autoptr (JsonNode) info = NULL;
  JsonObject *obj, *criu;

  if (!molt_cli_parse (cli, &molt_cmd_info, NULL, &argc, &argv, &(int){ 0 }))
    return MOLT_EXIT_USAGE;
  if (argc != 2)
    return molt_cli_usage (&molt_cmd_info, "expected one DOMAIN");
  client = molt_cli_open_agent (cli, argv[1], &error);
  if (client == NULL)
    return molt_cli_fail (cli, argv[1], error);
  info = call_info_settled (cli, client, &error);
  if (info == NULL)
    return molt_cli_fail (cli, argv[1], error);
  if (cli->json)
    {
      molt_cli_print_json (info);
      return MOLT_EXIT_OK;
    }
  obj = JSON_NODE_HOLDS_OBJECT (info) ? json_node_get_object (info) : NULL;
  criu = obj != NULL ? json_object_get_object_member (obj, "criu") : NULL;
  g_print ("Domain:          %s\n", argv[1]);
  g_print ("Agent version:   %s\n", str (obj, "version"));
  g_print ("Kernel release:  %s\n", str (obj, "kernel-release"));
  g_print ("Boot id:         %s\n", str (obj, "boot-id"));
  if (obj != NULL)
    g_print ("Uptime:          %.1f s\n",
             json_object_get_double_member_with_default (obj, "uptime", 0));
  if (criu != NULL && json_object_get_boolean_member_with_default (criu, "works", FALSE))
    g_print ("CRIU:            works (version %" G_GINT64_FORMAT ")\n",
             json_object_get_int_member_with_default (criu, "version", 0));
  else if (criu != NULL)
    g_print ("CRIU:            %s: %s\n", str (criu, "state"),
             json_object_get_string_member_with_default (criu, "error", "no reason given"));
  return MOLT_EXIT_OK;
}

const MoltCliCommand molt_cmd_info = {
  .name = "info",
  .parameters = "DOMAIN",
  .summary = "Show the guest's kernel, boot id, uptime and whether CRIU works there.",
  .description = "If the agent is still checking CRIU (it does so once after it starts),\n"
                 "waits up to --timeout seconds for the verdict.",
  .run = run_info,
};
