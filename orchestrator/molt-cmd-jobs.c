/* molt jobs DOMAIN: the managed jobs in the guest. */
#include "molt-cli.h"
#include "molt-commands.h"
#include "molt-message.h"
#include "molt-reply.h"

static gchar *
format_time (gint64 epoch)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_local (epoch);
  return dt != NULL ? g_date_time_format (dt, "%F %T") : g_strdup ("?");
}

/* A table cell: guest text, escaped and cut to WIDTH (--json gives it whole). */
static gchar *
cell (const gchar *text, gsize width)
{
  /* Whole if it fits; else cut to leave room for the "..." that says so. */
  return molt_text_excerpt (text, (gsize) g_utf8_strlen (text, -1) <= width ? width : width - 3);
}

static gchar *
join_argv (JsonArray *argv)
{
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

static gboolean
print_job (JsonArray *jobs, guint index, GError **error)
{
  JsonObject *job = molt_reply_array_object (jobs, "job-list", index, error);
  const gchar *name = NULL, *state = NULL;
  gint64 pid = -1, ns_pid = -1, start_time = 0;
  JsonArray *argv = NULL;
  g_autofree gchar *started = NULL;
  g_autofree gchar *command = NULL;
  g_autofree gchar *name_cell = NULL;
  g_autofree gchar *state_cell = NULL;
  g_autofree gchar *command_cell = NULL;

  if (job == NULL || !molt_reply_get_string (job, "job-list", "name", 0, &name, error)
      || !molt_reply_get_string (job, "job-list", "state", 0, &state, error)
      || !molt_reply_get_int (job, "job-list", "pid", -1, G_MAXINT32, MOLT_REPLY_OPTIONAL, &pid,
                              error)
      || !molt_reply_get_int (job, "job-list", "ns-pid", -1, G_MAXINT32, MOLT_REPLY_OPTIONAL,
                              &ns_pid, error)
      || !molt_reply_get_int (job, "job-list", "start-time", 0, G_MAXINT64 / G_USEC_PER_SEC,
                              MOLT_REPLY_OPTIONAL, &start_time, error)
      || !molt_reply_get_array (job, "job-list", "argv", MOLT_REPLY_OPTIONAL, &argv, error))
    return FALSE;
  started = format_time (start_time);
  command = join_argv (argv);
  name_cell = cell (name, 20);
  state_cell = cell (state, 9);
  command_cell = cell (command, 60);
  g_print ("%-20s %-9s %8" G_GINT64_FORMAT " %7" G_GINT64_FORMAT "  %-19s  %s\n", name_cell,
           state_cell, pid, ns_pid, started, command_cell);
  return TRUE;
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
  if (list == NULL || (jobs = molt_reply_as_array (list, "job-list", &error)) == NULL)
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
  g_print ("%-20s %-9s %8s %7s  %-19s  %s\n", "NAME", "STATE", "PID", "NS-PID", "STARTED",
           "COMMAND");
  for (guint i = 0; i < json_array_get_length (jobs); i++)
    if (!print_job (jobs, i, &error))
      return molt_cli_fail (cli, argv[1], error);
  if (json_array_get_length (jobs) == 0)
    g_print ("(no managed jobs; start one with 'molt exec' or molt-run in the guest)\n");
  return MOLT_EXIT_OK;
}

const MoltCliCommand molt_cmd_jobs = {
  .name = "jobs",
  .parameters = "DOMAIN",
  .summary = "List the managed jobs in DOMAIN.",
  .description = "PID is the job's init seen from the guest; NS-PID the same process inside\n"
                 "the job's own PID namespace (1 for its init). Guest text is shown with\n"
                 "control characters escaped (\\xNN) and cut to fit its column; --json\n"
                 "gives every field whole.",
  .run = run_jobs,
};
