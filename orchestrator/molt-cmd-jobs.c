/* molt jobs DOMAIN: the managed jobs in the guest. */
#include "molt-cli.h"
#include "molt-commands.h"

static gchar *
format_time (gint64 epoch)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_local (epoch);
  return dt != NULL ? g_date_time_format (dt, "%F %T") : g_strdup ("?");
}

static gchar *
join_argv (JsonObject *job)
{
  JsonArray *argv = json_object_get_array_member (job, "argv");
  GString *out = g_string_new (NULL);

  for (guint i = 0; argv != NULL && i < json_array_get_length (argv); i++)
    {
      JsonNode *element = json_array_get_element (argv, i);
      if (i > 0)
        g_string_append_c (out, ' ');
      if (JSON_NODE_HOLDS_VALUE (element) && json_node_get_value_type (element) == G_TYPE_STRING)
        g_string_append (out, json_node_get_string (element));
    }
  return g_string_free (out, FALSE);
}

static int
run_jobs (MoltCli *cli, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MoltAgentClient) client = NULL;
  g_autoptr (JsonNode) list = NULL;
  JsonArray *jobs;

  if (!molt_cli_parse (cli, &molt_cmd_jobs, NULL, &argc, &argv, &(int){ 0 }))
    return MOLT_EXIT_USAGE;
  if (argc != 2)
    return molt_cli_usage (&molt_cmd_jobs, "expected one DOMAIN");
  client = molt_cli_open_agent (cli, argv[1], &error);
  if (client == NULL)
    return molt_cli_fail (cli, argv[1], error);
  list = molt_agent_client_call (client, "job-list", NULL, &error);
  if (list == NULL)
    return molt_cli_fail (cli, argv[1], error);
  if (cli->json)
    {
      g_autoptr (JsonObject) obj = json_object_new ();
      g_autoptr (JsonNode) root = NULL;
      json_object_set_string_member (obj, "domain", argv[1]);
      json_object_set_member (obj, "jobs", json_node_ref (list));
      root = json_node_init_object (json_node_alloc (), obj);
      molt_cli_print_json (root);
      return MOLT_EXIT_OK;
    }
  if (!JSON_NODE_HOLDS_ARRAY (list))
    {
      g_printerr ("molt: %s: the agent's job list is not a list\n", argv[1]);
      return MOLT_EXIT_FAILED;
    }
  jobs = json_node_get_array (list);
  g_print ("%-20s %-9s %8s %7s  %-19s  %s\n", "NAME", "STATE", "PID", "NS-PID", "STARTED",
           "COMMAND");
  for (guint i = 0; i < json_array_get_length (jobs); i++)
    {
      JsonNode *node = json_array_get_element (jobs, i);
      JsonObject *job;
      g_autofree gchar *started = NULL;
      g_autofree gchar *command = NULL;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      job = json_node_get_object (node);
      started = format_time (json_object_get_int_member_with_default (job, "start-time", 0));
      command = join_argv (job);
      g_print ("%-20s %-9s %8" G_GINT64_FORMAT " %7" G_GINT64_FORMAT "  %-19s  %s\n",
               json_object_get_string_member_with_default (job, "name", "?"),
               json_object_get_string_member_with_default (job, "state", "?"),
               json_object_get_int_member_with_default (job, "pid", -1),
               json_object_get_int_member_with_default (job, "ns-pid", -1), started, command);
    }
  if (json_array_get_length (jobs) == 0)
    g_print ("(no managed jobs; start one with 'molt exec' or molt-run in the guest)\n");
  return MOLT_EXIT_OK;
}

const MoltCliCommand molt_cmd_jobs = {
  .name = "jobs",
  .parameters = "DOMAIN",
  .summary = "List the managed jobs in DOMAIN.",
  .description = "PID is the job's init seen from the guest; NS-PID the same process inside\n"
                 "the job's own PID namespace (1 for its init).",
  .run = run_jobs,
};
