/* molt ping DOMAIN: is the agent there, and how fast does it answer. */
#include "molt-cli.h"
#include "molt-commands.h"

static int
run_ping (MoltCli *cli, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MoltAgentClient) client = NULL;
  gint64 start;
  gdouble ms;

  if (!molt_cli_parse (cli, &molt_cmd_ping, NULL, &argc, &argv, &(int){ 0 }))
    return MOLT_EXIT_USAGE;
  if (argc != 2)
    return molt_cli_usage (&molt_cmd_ping, "expected one DOMAIN");
  client = molt_cli_open_agent (cli, argv[1], &error);
  if (client == NULL)
    return molt_cli_fail (cli, argv[1], error);
  start = g_get_monotonic_time ();
  if (!molt_agent_client_sync (client, &error))
    return molt_cli_fail (cli, argv[1], error);
  ms = (gdouble) (g_get_monotonic_time () - start) / 1000.0;
  if (cli->json)
    {
      g_autoptr (JsonObject) obj = json_object_new ();
      g_autoptr (JsonNode) root = NULL;
      json_object_set_string_member (obj, "domain", argv[1]);
      json_object_set_boolean_member (obj, "responding", TRUE);
      json_object_set_double_member (obj, "round-trip-ms", ms);
      root = json_node_init_object (json_node_alloc (), obj);
      molt_cli_print_json (root);
    }
  else
    g_print ("agent in %s is responding (round trip %.1f ms)\n", argv[1], ms);
  return MOLT_EXIT_OK;
}

const MoltCliCommand molt_cmd_ping = {
  .name = "ping",
  .parameters = "DOMAIN",
  .summary = "Check that molt-agent in DOMAIN answers.",
  .description = "Opens the domain's org.molt.agent.0 channel through libvirt, synchronises\n"
                 "with the agent and prints the round-trip time of one sync.",
  .run = run_ping,
};
