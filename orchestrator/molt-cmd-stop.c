/* molt stop DOMAIN NAME: stop a managed job (SIGTERM, SIGKILL after a grace). */
#include "molt-cli.h"
#include "molt-commands.h"

static int
run_stop (MoltCli *cli, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MoltAgentClient) client = NULL;
  g_autoptr (JsonObject) args = json_object_new ();
  g_autoptr (JsonNode) job = NULL;
  gint grace = 10;
  const GOptionEntry entries[] = {
    { "grace", 'g', 0, G_OPTION_ARG_INT, &grace,
      "seconds between SIGTERM and SIGKILL (default 10; 0: SIGKILL at once)", "SECONDS" },
    { NULL },
  };

  if (!molt_cli_parse (cli, &molt_cmd_stop, entries, &argc, &argv, &(int){ 0 }))
    return MOLT_EXIT_USAGE;
  if (argc != 3)
    return molt_cli_usage (&molt_cmd_stop, "expected DOMAIN and a job NAME");
  if (grace < 0)
    return molt_cli_usage (&molt_cmd_stop, "--grace must not be negative");
  json_object_set_string_member (args, "name", argv[2]);
  json_object_set_int_member (args, "grace", grace);
  client = molt_cli_open_agent (cli, argv[1], &error);
  if (client == NULL)
    return molt_cli_fail (cli, argv[1], error);
  job = molt_agent_client_call (client, "job-stop", args, &error);
  if (job == NULL)
    return molt_cli_fail (cli, argv[1], error);
  if (cli->json)
    molt_cli_print_json (job);
  else
    g_print ("stopping job %s in %s\n", argv[2], argv[1]);
  return MOLT_EXIT_OK;
}

const MoltCliCommand molt_cmd_stop = {
  .name = "stop",
  .parameters = "DOMAIN NAME [--grace SECONDS]",
  .summary = "Stop job NAME: SIGTERM to its init, SIGKILL to the namespace after a grace period.",
  .description = "Killing the init of the job's PID namespace ends every process in it.",
  .run = run_stop,
};
