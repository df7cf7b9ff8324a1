/* molt exec DOMAIN --name NAME -- CMD...: start a managed job in the guest;
 * with --wait, wait for its end and print its output. */
#include <sys/wait.h>

#include "molt-cli.h"
#include "molt-commands.h"
#include "molt-guest-command.h"
#include "molt-host-error.h"
#include "molt-message.h"
#include "molt-reply.h"

/* How often --wait asks the agent for the job's state. */
#define MOLT_EXEC_WAIT_POLL_MS 100
/* The most of the output --wait prints (job-log's own limit). */
#define MOLT_EXEC_WAIT_OUTPUT_MAX 65536

/* --wait: the job's end, then its output (the log's last 64 KiB: with
 * --json beside its size, so that a script sees when it was cut) and an
 * exit status that says whether the command succeeded. */
static int
wait_for_job (MoltCli *cli, MoltAgentClient *client, const gchar *domain, const gchar *name,
              guint timeout_s)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) args = json_object_new ();
  g_autoptr (JsonNode) log = NULL;
  JsonObject *obj;
  const gchar *tail = NULL;
  gint64 status = -1;
  gboolean timed_out = FALSE;
  gint ws;

  if (!molt_guest_job_wait (client, name, timeout_s, MOLT_EXEC_WAIT_POLL_MS, &status, &timed_out,
                            &error))
    return molt_cli_fail (cli, domain, error);
  json_object_set_string_member (args, "name", name);
  json_object_set_int_member (args, "bytes", MOLT_EXEC_WAIT_OUTPUT_MAX);
  if ((log = molt_agent_client_call (client, "job-log", args, &error)) == NULL
      || (obj = molt_reply_as_object (log, "job-log", &error)) == NULL
      || !molt_reply_get_string (obj, "job-log", "tail", 0, &tail, &error))
    {
      g_prefix_error (&error, "job %s ended, but its output cannot be read: ", name);
      return molt_cli_fail (cli, domain, error);
    }
  json_object_set_string_member (obj, "name", name);
  json_object_set_int_member (obj, "exit-status", status);
  if (!cli->json)
    g_print ("%s", tail);
  ws = status < 0 ? 0 : (gint) status;
  if (status >= 0 && WIFEXITED (ws) && WEXITSTATUS (ws) == 0)
    {
      if (cli->json)
        molt_cli_print_json (log);
      return MOLT_EXIT_OK;
    }
  if (status < 0)
    g_set_error (&error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                 "job %s ended, but the agent did not see its exit status", name);
  else if (WIFSIGNALED (ws))
    g_set_error (&error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED, "job %s was killed by signal %d",
                 name, WTERMSIG (ws));
  else
    g_set_error (&error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED, "job %s exited with status %d",
                 name, WEXITSTATUS (ws));
  if (cli->json)
    {
      /* One object: the output and why it failed. */
      JsonObject *err = json_object_new ();

      json_object_set_string_member (err, "message", error->message);
      json_object_set_int_member (err, "exit-code", MOLT_EXIT_FAILED);
      json_object_set_object_member (obj, "error", err);
      molt_cli_print_json (log);
      return MOLT_EXIT_FAILED;
    }
  return molt_cli_fail (cli, domain, error);
}

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
  gboolean no_pid_ns = FALSE, wait = FALSE;
  gint wait_timeout = 0;
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
    { "wait", 'w', 0, G_OPTION_ARG_NONE, &wait,
      "wait for the job to end, print its output (the last 64 KiB) and fail unless it exited 0",
      NULL },
    { "wait-timeout", 0, 0, G_OPTION_ARG_INT, &wait_timeout,
      "with --wait, give up after SECONDS (the job goes on; default: no limit)", "SECONDS" },
    { NULL },
  };

  if (!molt_cli_parse (cli, &molt_cmd_exec, entries, &argc, &argv, &(int){ 0 }))
    return MOLT_EXIT_USAGE;
  if (name == NULL)
    return molt_cli_usage (&molt_cmd_exec, "--name is required");
  if (wait_timeout < 0 || (wait_timeout > 0 && !wait))
    return molt_cli_usage (&molt_cmd_exec, "--wait-timeout takes seconds (> 0) and --wait");
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
  if (wait)
    return wait_for_job (cli, client, domain, name, (guint) wait_timeout);
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
  .parameters = "DOMAIN --name NAME [--cwd DIR] [--env NAME=VALUE]... [--wait [--wait-timeout "
                "SECONDS]] -- CMD [ARG...]",
  .summary = "Start CMD in DOMAIN as the managed job NAME.",
  .description = "The job runs in its own PID namespace with its init as session leader;\n"
                 "stdout and stderr go to /var/lib/molt/jobs/NAME/output.log in the guest.\n"
                 "The guest's molt-run starts jobs the same way from inside.\n"
                 "With --wait, molt waits for the job's end, prints its output (with --json:\n"
                 "the log's tail, size and path, and the job's wait status as exit-status) and\n"
                 "exits 0 if it exited 0, else 1 saying its status or signal.",
  .run = run_exec,
};
