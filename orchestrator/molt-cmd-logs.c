/* molt logs DOMAIN NAME: the tail of a managed job's output. */
#include "molt-cli.h"
#include "molt-commands.h"

static int
run_logs (MoltCli *cli, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MoltAgentClient) client = NULL;
  g_autoptr (JsonObject) args = json_object_new ();
  g_autoptr (JsonNode) log = NULL;
  gint bytes = 4096;
  const GOptionEntry entries[] = {
    { "bytes", 'b', 0, G_OPTION_ARG_INT, &bytes,
      "how many bytes from the end (default 4096, at most 65536)", "N" },
    { NULL },
  };

  if (!molt_cli_parse (cli, &molt_cmd_logs, entries, &argc, &argv, &(int){ 0 }))
    return MOLT_EXIT_USAGE;
  if (argc != 3)
    return molt_cli_usage (&molt_cmd_logs, "expected DOMAIN and a job NAME");
  json_object_set_string_member (args, "name", argv[2]);
  json_object_set_int_member (args, "bytes", bytes);
  client = molt_cli_open_agent (cli, argv[1], &error);
  if (client == NULL)
    return molt_cli_fail (cli, argv[1], error);
  log = molt_agent_client_call (client, "job-log", args, &error);
  if (log == NULL)
    return molt_cli_fail (cli, argv[1], error);
  if (cli->json)
    molt_cli_print_json (log);
  else if (JSON_NODE_HOLDS_OBJECT (log))
    g_print ("%s",
             json_object_get_string_member_with_default (json_node_get_object (log), "tail", ""));
  return MOLT_EXIT_OK;
}

const MoltCliCommand molt_cmd_logs = {
  .name = "logs",
  .parameters = "DOMAIN NAME",
  .summary = "Print the end of job NAME's output (its stdout and stderr).",
  .description = "With --json, also the log's path in the guest and its total size in bytes.",
  .run = run_logs,
};
