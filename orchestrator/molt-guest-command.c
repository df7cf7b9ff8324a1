/* A command run in the guest and waited for: see molt-guest-command.h. */
#include <string.h>
#include <sys/wait.h>

#include "molt-agent-client.h"
#include "molt-guest-command.h"
#include "molt-host-error.h"
#include "molt-libvirt.h"
#include "molt-message.h"
#include "molt-reply.h"

#define MOLT_GUEST_COMMAND_POLL_MS 200
/* How long an exited job's status may take to appear (its reaping). */
#define MOLT_GUEST_COMMAND_REAP_US (2 * G_USEC_PER_SEC)
/* Each agent request's own limit (the command's is TIMEOUT_S). */
#define MOLT_GUEST_COMMAND_CALL_MS 30000

/* The job's state and exit status, from job-list; FALSE with an error
 * when the reply is not what the protocol says. */
static gboolean
job_state (MoltAgentClient *client, const gchar *name, const gchar **state, gint64 *status,
           JsonNode **keep, GError **error)
{
  JsonArray *jobs;

  g_clear_pointer (keep, json_node_unref);
  if ((*keep = molt_agent_client_call (client, "job-list", NULL, error)) == NULL
      || (jobs = molt_reply_as_array (*keep, "job-list", error)) == NULL)
    return FALSE;
  for (guint i = 0; i < json_array_get_length (jobs); i++)
    {
      JsonObject *job = molt_reply_array_object (jobs, "job-list", i, error);
      const gchar *job_name = NULL;

      if (job == NULL || !molt_reply_get_string (job, "job-list", "name", 0, &job_name, error))
        return FALSE;
      if (!g_str_equal (job_name, name))
        continue;
      return molt_reply_get_string (job, "job-list", "state", 0, state, error)
             && molt_reply_get_int (job, "job-list", "exit-status", -1, G_MAXINT32,
                                    MOLT_REPLY_OPTIONAL, status, error);
    }
  g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
               "the agent lists no job '%s' after starting it", name);
  return FALSE;
}

/* The tail of the job's output; NULL when it cannot be read. */
static gchar *
job_output (MoltAgentClient *client, const gchar *name)
{
  g_autoptr (JsonObject) args = json_object_new ();
  g_autoptr (JsonNode) log = NULL;
  JsonObject *obj;
  const gchar *tail = NULL;

  json_object_set_string_member (args, "name", name);
  json_object_set_int_member (args, "bytes", MOLT_GUEST_COMMAND_OUTPUT_MAX);
  if ((log = molt_agent_client_call (client, "job-log", args, NULL)) == NULL
      || (obj = molt_reply_as_object (log, "job-log", NULL)) == NULL
      || !molt_reply_get_string (obj, "job-log", "tail", 0, &tail, NULL))
    return NULL;
  return g_strdup (tail);
}

/* The last non-empty line of TEXT, for the error message. */
static gchar *
last_line (const gchar *text)
{
  g_auto (GStrv) lines = g_strsplit (text != NULL ? text : "", "\n", -1);

  /* The guest's text: escaped and cut (molt_text_excerpt). */
  for (gint i = (gint) g_strv_length (lines) - 1; i >= 0; i--)
    if (g_strstrip (lines[i])[0] != '\0')
      return molt_text_excerpt (lines[i], 200);
  return NULL;
}

gboolean
molt_guest_job_wait (MoltAgentClient *client, const gchar *name, guint timeout_s, guint poll_ms,
                     gint64 *status, gboolean *timed_out, GError **error)
{
  g_autoptr (JsonNode) listed = NULL;
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_s * G_USEC_PER_SEC;
  gint64 exited_seen = G_MAXINT64;
  const gchar *state = NULL;

  *timed_out = FALSE;
  for (;;)
    {
      *status = G_MININT64;
      if (!job_state (client, name, &state, status, &listed, error))
        return FALSE;
      /* The agent can list a job as exited (its process gone) a moment
       * before it reaps it and knows the status: wait for that too. */
      if (g_str_equal (state, "exited"))
        {
          if (exited_seen == G_MAXINT64)
            exited_seen = g_get_monotonic_time ();
          if (*status >= 0 || g_get_monotonic_time () >= exited_seen + MOLT_GUEST_COMMAND_REAP_US)
            return TRUE;
        }
      if (timeout_s > 0 && g_get_monotonic_time () >= deadline)
        {
          *timed_out = TRUE;
          g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                       "job %s did not end within %u s (it is still %s)", name, timeout_s, state);
          return FALSE;
        }
      g_usleep (poll_ms * 1000);
    }
}

gboolean
molt_guest_command_run (virDomainPtr dom, const gchar *job_name, const gchar *command,
                        const gchar *const *env, guint timeout_s, gchar **output, GError **error)
{
  g_autoptr (MoltAgentClient) client = NULL;
  g_autoptr (JsonObject) args = json_object_new ();
  g_autoptr (JsonArray) argv = json_array_new ();
  g_autoptr (JsonArray) env_array = json_array_new ();
  g_autoptr (JsonNode) started = NULL;
  g_autofree gchar *out = NULL, *line = NULL;
  gint64 status = G_MININT64;
  gboolean timed_out = FALSE;
  MoltTransport *transport = molt_libvirt_open_agent (dom, error);

  if (transport == NULL)
    return FALSE;
  client = molt_agent_client_new (transport);
  molt_agent_client_set_timeout (client, MOLT_GUEST_COMMAND_CALL_MS);
  json_array_add_string_element (argv, "sh");
  json_array_add_string_element (argv, "-c");
  json_array_add_string_element (argv, command);
  for (guint i = 0; env != NULL && env[i] != NULL; i++)
    json_array_add_string_element (env_array, env[i]);
  json_object_set_string_member (args, "name", job_name);
  json_object_set_array_member (args, "argv", g_steal_pointer (&argv));
  json_object_set_array_member (args, "env", g_steal_pointer (&env_array));
  json_object_set_string_member (args, "cwd", "/");
  /* The guest's own PID namespace: the command talks to its daemons
   * (redis-cli, systemctl) as any of its processes would. */
  json_object_set_boolean_member (args, "pid-namespace", FALSE);
  if ((started = molt_agent_client_call (client, "job-start", args, error)) == NULL)
    {
      g_prefix_error (error, "cannot start it: ");
      return FALSE;
    }
  if (!molt_guest_job_wait (client, job_name, timeout_s, MOLT_GUEST_COMMAND_POLL_MS, &status,
                            &timed_out, error))
    {
      if (timed_out)
        {
          g_autoptr (JsonObject) stop = json_object_new ();
          g_autoptr (JsonNode) stopped = NULL;

          json_object_set_string_member (stop, "name", job_name);
          json_object_set_int_member (stop, "grace", 0);
          stopped = molt_agent_client_call (client, "job-stop", stop, NULL);
          g_clear_error (error);
          g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                       "it did not end within %u s (killed)", timeout_s);
        }
      return FALSE;
    }
  out = job_output (client, job_name);
  /* A wait status; none (or -1) when the agent did not see it end. */
  gint wait_status = status < 0 ? 0 : (gint) status;

  if (status < 0 || !WIFEXITED (wait_status) || WEXITSTATUS (wait_status) != 0)
    {
      g_autofree gchar *how
          = status < 0 ? g_strdup ("its end was not seen by the agent")
            : WIFSIGNALED (wait_status)
                ? g_strdup_printf ("it was killed by signal %d", WTERMSIG (wait_status))
                : g_strdup_printf ("it exited with status %d", WEXITSTATUS (wait_status));
      line = last_line (out);
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED, "%s%s%s", how,
                   line != NULL ? ": " : "", line != NULL ? line : "");
      return FALSE;
    }
  if (output != NULL)
    *output = g_steal_pointer (&out);
  return TRUE;
}
