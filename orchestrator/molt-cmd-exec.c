/* molt exec DOMAIN --name NAME -- CMD...: start a managed job in the guest. */
#include "molt-cli.h"
#include "molt-commands.h"
#include "molt-message.h"
#include "molt-reply.h"

static int
run_exec (MoltCli *cli, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MoltAgentClient) client = NULL;
  g_autoptr (JsonObject) args = json_object_new ();
  g_autoptr (JsonArray) cmd_argv = json_array_new ();
  g_autoptr (JsonArray) env = json_array_new ();
  g_autoptr (JsonNode) job = NULL;
  g_autofree gchar *name = NULL;
  g_autofree gchar *cwd = NULL;
  g_auto (GStrv) env_opts = NULL;
  const gchar *domain;
  gboolean no_pid_ns = FALSE;
  int first_cmd;
  const GOptionEntry entries[] = {
    { "name", 'n', 0, G_OPTION_ARG_STRING, &name, "name of the job (required)", "NAME" },
    { "cwd", 'C', 0, G_OPTION_ARG_STRING, &cwd, "working directory in the guest (default /)",
      "DIR" },
    { "no-pid-namespace", 0, 0, G_OPTION_ARG_NONE, &no_pid_ns,
      "run in the guest's own PID namespace (sees every process; not restorable after a switch)",
      NULL },
    { "env", 'e', 0, G_OPTION_ARG_STRING_ARRAY, &env_opts,
      "set NAME=VALUE for the job (repeatable)", "NAME=VALUE" },
    { NULL },
  };

  if (!molt_cli_parse (cli, &molt_cmd_exec, entries, &argc, &argv, &(int){ 0 }))
    return MOLT_EXIT_USAGE;
  if (name == NULL)
    return molt_cli_usage (&molt_cmd_exec, "--name is required");
  /* argv: molt-exec DOMAIN [--] CMD... (GOption keeps a "--" only if not first) */
  if (argc < 2)
    return molt_cli_usage (&molt_cmd_exec, "expected DOMAIN -- CMD...");
  domain = argv[1];
  first_cmd = 2;
  if (first_cmd < argc && g_str_equal (argv[first_cmd], "--"))
    first_cmd++;
  if (first_cmd >= argc)
    return molt_cli_usage (&molt_cmd_exec, "expected a command after DOMAIN --");
  for (int i = first_cmd; i < argc; i++)
    json_array_add_string_element (cmd_argv, argv[i]);
  for (guint i = 0; env_opts != NULL && env_opts[i] != NULL; i++)
    json_array_add_string_element (env, env_opts[i]);

  json_object_set_string_member (args, "name", name);
  json_object_set_array_member (args, "argv", json_array_ref (cmd_argv));
  json_object_set_array_member (args, "env", json_array_ref (env));
  if (cwd != NULL)
    json_object_set_string_member (args, "cwd", cwd);
  if (no_pid_ns)
    json_object_set_boolean_member (args, "pid-namespace", FALSE);

  client = molt_cli_open_agent (cli, domain, &error);
  if (client == NULL)
    return molt_cli_fail (cli, domain, error);
  job = molt_agent_client_call (client, "job-start", args, &error);
  if (job == NULL)
    return molt_cli_fail (cli, domain, error);
  if (cli->json)
    molt_cli_print_json (job);
  else
    {
      JsonObject *obj = molt_reply_as_object (job, "job-start", &error);
      gint64 pid = -1, ns_pid = -1;
      const gchar *log = "?";
      g_autofree gchar *log_shown = NULL;

      if (obj == NULL
          || !molt_reply_get_int (obj, "job-start", "pid", 1, G_MAXINT32, 0, &pid, &error)
          || !molt_reply_get_int (obj, "job-start", "ns-pid", -1, G_MAXINT32, MOLT_REPLY_OPTIONAL,
                                  &ns_pid, &error)
          || !molt_reply_get_string (obj, "job-start", "log", MOLT_REPLY_OPTIONAL, &log, &error))
        return molt_cli_fail (cli, domain, error);
      log_shown = molt_text_excerpt (log, 256);
      g_print ("started job %s in %s: pid %" G_GINT64_FORMAT " (%" G_GINT64_FORMAT
               " in its namespace), output in %s\n",
               name, domain, pid, ns_pid, log_shown);
    }
  return MOLT_EXIT_OK;
}

const MoltCliCommand molt_cmd_exec = {
  .name = "exec",
  .parameters = "DOMAIN --name NAME [--cwd DIR] [--env NAME=VALUE]... -- CMD [ARG...]",
  .summary = "Start CMD in DOMAIN as the managed job NAME.",
  .description = "The job runs in its own PID namespace with its init as session leader;\n"
                 "stdout and stderr go to /var/lib/molt/jobs/NAME/output.log in the guest.\n"
                 "The guest's molt-run starts jobs the same way from inside.",
  .run = run_exec,
};
