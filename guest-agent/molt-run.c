/* molt-run: start a managed job from inside the guest.
 *
 *   molt-run [OPTION...] NAME -- CMD [ARG...]
 *
 * Asks the local molt-agent to start CMD as job NAME in its own PID
 * namespace. With --wait it stays until the job ends and exits with the job's
 * status, which suits a systemd ExecStart= of Type=simple: the job is born in
 * molt-run's cgroup, so the unit owns it. After a kernel switch the unit's
 * start finds the job restored and attaches to it (moves it into the unit's
 * cgroup) instead of starting a second copy. */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>

#include "molt-line-reader.h"
#include "molt-message.h"
#include "molt-sd-notify.h"
#include "molt-wire.h"

#define MOLT_DEFAULT_SOCKET MOLT_WIRE_LOCAL_SOCKET
#define MOLT_RUN_MAX_REPLY  (1024 * 1024)
#define MOLT_RUN_TIMEOUT_S  30
/* At boot a unit may start before the agent does (udev starts it when the
 * host's channel appears) or before the restore of its job has run. */
#define MOLT_RUN_AGENT_WAIT_S   120
#define MOLT_RUN_RESTORE_WAIT_S (15 * 60)
#define MOLT_RUN_ATTACH_TRIES   60

extern char **environ;

/* $NOTIFY_SOCKET of a Type=notify unit, or NULL. */
static gchar *notify_socket;

/* STATE to systemd, when a Type=notify unit runs us; a failure is said
 * once (the job runs either way; systemd times the start out). */
static void
notify (const gchar *state)
{
  static gboolean warned;
  g_autoptr (GError) error = NULL;

  if (notify_socket == NULL || molt_sd_notify (notify_socket, state, &error) || warned)
    return;
  g_printerr ("molt-run: %s\n", error->message);
  warned = TRUE;
}

/* Still waiting, with a reason: systemd's start timeout is pushed back
 * (molt-run's own deadlines bound the wait). */
static void
notify_waiting (const gchar *status)
{
  g_autofree gchar *state = g_strdup_printf ("EXTEND_TIMEOUT_USEC=%" G_GUINT64_FORMAT "\nSTATUS=%s",
                                             (guint64) 30 * G_USEC_PER_SEC, status);
  notify (state);
}

/* The job is registered with the agent: the unit is up. */
static void
notify_ready (const gchar *what, const gchar *name)
{
  g_autofree gchar *state = g_strdup_printf ("READY=1\nSTATUS=%s job %s", what, name);
  notify (state);
}

static JsonNode *
call (const gchar *socket_path, const gchar *execute, JsonObject *args, GError **error)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketAddress) address = g_unix_socket_address_new (socket_path);
  g_autoptr (GSocketConnection) conn = NULL;
  g_autoptr (MoltLineReader) reader = molt_line_reader_new (MOLT_RUN_MAX_REPLY);
  g_autofree gchar *request = molt_request_build (execute, args, 1);
  GInputStream *in;
  GOutputStream *out;

  g_socket_client_set_timeout (client, MOLT_RUN_TIMEOUT_S);
  conn = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (address), NULL, error);
  if (conn == NULL)
    {
      g_prefix_error (error, "cannot reach molt-agent at %s (is it running?): ", socket_path);
      return NULL;
    }
  out = g_io_stream_get_output_stream (G_IO_STREAM (conn));
  in = g_io_stream_get_input_stream (G_IO_STREAM (conn));
  if (!g_output_stream_write_all (out, request, strlen (request), NULL, NULL, error))
    return NULL;

  for (;;)
    {
      guint8 buf[4096];
      gchar *line = NULL;
      MoltLineStatus status;
      gssize n = g_input_stream_read (in, buf, sizeof buf, NULL, error);

      if (n < 0)
        return NULL;
      if (n == 0)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED,
                               "molt-agent closed the connection without replying");
          return NULL;
        }
      molt_line_reader_feed (reader, buf, (gsize) n);
      while ((status = molt_line_reader_next (reader, &line)) != MOLT_LINE_NONE)
        {
          g_autofree gchar *owned = line;
          g_autoptr (MoltReply) reply = NULL;

          if (status != MOLT_LINE_OK)
            continue;
          reply = molt_reply_parse (owned, error);
          if (reply == NULL)
            return NULL;
          if (molt_reply_is_error (reply))
            {
              molt_reply_propagate_error (reply, error);
              return NULL;
            }
          return json_node_ref (reply->ret);
        }
    }
}

static JsonNode *
find_job (JsonNode *list, const gchar *name)
{
  JsonArray *array;

  if (!JSON_NODE_HOLDS_ARRAY (list))
    return NULL;
  array = json_node_get_array (list);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *job = json_array_get_element (array, i);
      if (JSON_NODE_HOLDS_OBJECT (job)
          && g_strcmp0 (json_object_get_string_member_with_default (json_node_get_object (job),
                                                                    "name", NULL),
                        name)
                 == 0)
        return job;
    }
  return NULL;
}

/* Polls rather than holding a connection: the agent may restart (or the
 * kernel may be switched under the job) while we wait. */
static int
wait_for_job (const gchar *socket_path, const gchar *name)
{
  gint64 exited_seen = 0;

  for (;;)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonNode) list = call (socket_path, "job-list", NULL, &error);
      JsonNode *job;
      JsonObject *obj;

      if (list == NULL)
        {
          g_printerr ("molt-run: %s (retrying)\n", error->message);
          g_usleep (5 * G_USEC_PER_SEC);
          continue;
        }
      job = find_job (list, name);
      if (job == NULL)
        {
          g_printerr ("molt-run: job %s is no longer registered\n", name);
          return 1;
        }
      obj = json_node_get_object (job);
      if (g_strcmp0 (json_object_get_string_member_with_default (obj, "state", ""), "exited") == 0)
        {
          gint64 status = json_object_get_int_member_with_default (obj, "exit-status", -1);
          /* The agent can list a job as exited a moment before it reaps it
           * and knows its status (a successful job's unit failed so). */
          if (status < 0 && exited_seen == 0)
            exited_seen = g_get_monotonic_time ();
          if (status < 0 && g_get_monotonic_time () - exited_seen < 2 * G_USEC_PER_SEC)
            {
              g_usleep (G_USEC_PER_SEC / 10);
              continue;
            }
          if (status < 0)
            {
              g_printerr ("molt-run: job %s ended, but the agent did not see its exit status\n",
                          name);
              return 1;
            }
          if (WIFEXITED ((int) status))
            return WEXITSTATUS ((int) status);
          return 128 + WTERMSIG ((int) status);
        }
      g_usleep (G_USEC_PER_SEC);
    }
}

static const gchar *
job_state (JsonNode *job)
{
  return json_object_get_string_member_with_default (json_node_get_object (job), "state", "");
}

/* This process's cgroup (v2) when it is a unit's, not the root: where the
 * job should live. */
static gchar *
own_cgroup (void)
{
  g_autofree gchar *contents = NULL;
  g_auto (GStrv) lines = NULL;

  if (!g_file_get_contents ("/proc/self/cgroup", &contents, NULL, NULL))
    return NULL;
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], "0::/") && lines[i][4] != '\0')
      return g_strdup (lines[i] + 3);
  return NULL;
}

static void
print_job (const gchar *what, const gchar *name, JsonNode *node)
{
  JsonObject *job;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return;
  job = json_node_get_object (node);
  g_print ("%s job %s: pid %" G_GINT64_FORMAT " (%" G_GINT64_FORMAT
           " in its namespace), output in %s\n",
           what, name, json_object_get_int_member_with_default (job, "pid", -1),
           json_object_get_int_member_with_default (job, "ns-pid", -1),
           json_object_get_string_member_with_default (job, "log", "?"));
}

/* --wait: start the job, or take over the one a kernel switch restored.
 * Returns an exit code (the job's, once it ends). */
static int
start_or_attach (const gchar *socket_path, const gchar *name, JsonObject *start_args,
                 const gchar *cgroup)
{
  gint64 agent_deadline = g_get_monotonic_time () + MOLT_RUN_AGENT_WAIT_S * G_USEC_PER_SEC;
  gint64 restore_deadline = g_get_monotonic_time () + MOLT_RUN_RESTORE_WAIT_S * G_USEC_PER_SEC;
  gboolean told_agent = FALSE, told_restore = FALSE;
  g_autoptr (GError) last_attach_error = NULL;
  guint attach_tries = 0;

  if (cgroup != NULL)
    json_object_set_string_member (start_args, "cgroup", cgroup);
  for (;;)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonNode) list = call (socket_path, "job-list", NULL, &error);
      g_autoptr (JsonNode) result = NULL;
      JsonNode *job;
      const gchar *state;

      if (list == NULL)
        {
          if (g_get_monotonic_time () > agent_deadline)
            {
              g_printerr ("molt-run: cannot start job %s: %s (waited %d s)\n", name, error->message,
                          MOLT_RUN_AGENT_WAIT_S);
              return 1;
            }
          if (!told_agent)
            g_printerr ("molt-run: waiting for molt-agent: %s\n", error->message);
          told_agent = TRUE;
          notify_waiting ("waiting for molt-agent");
          g_usleep (G_USEC_PER_SEC);
          continue;
        }
      job = find_job (list, name);
      state = job != NULL ? job_state (job) : "";
      if (g_str_equal (state, "checkpointed"))
        {
          /* Restored early in the boot, by molt-restore.service. */
          if (g_get_monotonic_time () > restore_deadline)
            {
              g_printerr ("molt-run: job %s was checkpointed for a kernel switch and has not "
                          "been restored within %d s: see 'molt jobs' on the host\n",
                          name, MOLT_RUN_RESTORE_WAIT_S);
              return 1;
            }
          if (!told_restore)
            g_print ("job %s was checkpointed for a kernel switch: waiting for its restore\n",
                     name);
          told_restore = TRUE;
          notify_waiting ("waiting for the restore of the job after a kernel switch");
          g_usleep (G_USEC_PER_SEC);
          continue;
        }
      if (g_str_equal (state, "restore-failed"))
        {
          /* Not a fresh copy: the host's rollback restores this one on the
           * old kernel. */
          g_printerr ("molt-run: job %s could not be restored after a kernel switch: %s; "
                      "not starting a second copy (molt rolls the switch back; see 'molt jobs' "
                      "on the host)\n",
                      name,
                      json_object_get_string_member_with_default (json_node_get_object (job),
                                                                  "restore-error", "no reason"));
          return 1;
        }
      if (g_str_equal (state, "frozen") || g_str_equal (state, "stopping"))
        {
          /* A switch or a snapshot holds it, or it is on its way out. */
          notify_waiting ("waiting: the job is frozen (a kernel switch or a snapshot holds it) "
                          "or stopping");
          g_usleep (G_USEC_PER_SEC);
          continue;
        }
      if (g_str_equal (state, "running"))
        {
          if (cgroup == NULL)
            {
              print_job ("waiting for the running", name, job);
              notify_ready ("waiting for the running", name);
              return wait_for_job (socket_path, name);
            }
          {
            g_autoptr (JsonObject) args = json_object_new ();
            json_object_set_string_member (args, "name", name);
            json_object_set_string_member (args, "cgroup", cgroup);
            result = call (socket_path, "job-attach", args, &error);
          }
          if (result != NULL)
            {
              print_job ("attached to the running", name, result);
              notify_ready ("attached to the running", name);
              return wait_for_job (socket_path, name);
            }
          /* Refused while a switch holds the agent: ask again. */
          g_clear_error (&last_attach_error);
          last_attach_error = g_steal_pointer (&error);
          if (++attach_tries >= MOLT_RUN_ATTACH_TRIES)
            {
              g_printerr ("molt-run: cannot attach to job %s: %s\n", name,
                          last_attach_error->message);
              return 1;
            }
          g_usleep (G_USEC_PER_SEC);
          continue;
        }
      /* Not registered, or ended: start it. */
      result = call (socket_path, "job-start", start_args, &error);
      if (result == NULL)
        {
          g_printerr ("molt-run: cannot start job %s: %s\n", name, error->message);
          return 1;
        }
      print_job ("started", name, result);
      notify_ready ("started", name);
      return wait_for_job (socket_path, name);
    }
}

int
main (int argc, char **argv)
{
  g_autofree gchar *socket_path = g_strdup (MOLT_DEFAULT_SOCKET);
  g_autofree gchar *cwd = NULL;
  g_autofree gchar *user = NULL;
  g_autofree gchar *cgroup = NULL;
  g_auto (GStrv) extra_env = NULL;
  gboolean wait = FALSE, clean_env = FALSE;
  g_autoptr (GError) error = NULL;
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (JsonObject) args = json_object_new ();
  g_autoptr (JsonArray) argv_json = json_array_new ();
  g_autoptr (JsonArray) env_json = json_array_new ();
  g_autoptr (JsonNode) result = NULL;
  const gchar *name;
  const GOptionEntry entries[] = {
    { "socket", 's', 0, G_OPTION_ARG_FILENAME, &socket_path,
      "molt-agent's socket (default " MOLT_DEFAULT_SOCKET ")", "PATH" },
    { "cwd", 'C', 0, G_OPTION_ARG_FILENAME, &cwd,
      "working directory of the job (default: the current one)", "DIR" },
    { "env", 'e', 0, G_OPTION_ARG_STRING_ARRAY, &extra_env,
      "set NAME=VALUE in the job's environment (repeatable)", "NAME=VALUE" },
    { "clean-env", 0, 0, G_OPTION_ARG_NONE, &clean_env,
      "do not pass this environment on, only --env ones", NULL },
    { "user", 'u', 0, G_OPTION_ARG_STRING, &user,
      "run the job as USER, with USER's groups (default: root)", "USER" },
    { "wait", 'w', 0, G_OPTION_ARG_NONE, &wait,
      "stay until the job ends and exit with its status; the job joins this process's "
      "cgroup (a systemd unit's), and a job restored after a kernel switch is taken over "
      "instead of started again",
      NULL },
    { NULL },
  };

  setlocale (LC_ALL, "");
  /* Under systemd stdout is the journal: a line must show when written. */
  setvbuf (stdout, NULL, _IOLBF, 0);
  context = g_option_context_new ("NAME -- CMD [ARG...]");
  g_option_context_set_summary (
      context, "Start CMD as the managed job NAME: molt-agent runs it in its own "
               "PID namespace,\nits output goes to /var/lib/molt/jobs/NAME/output.log, "
               "and molt can switch\nthe kernel under it.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("molt-run: %s\n", error->message);
      return 64;
    }
  /* GOption keeps "--" when it is followed by arguments. */
  if (argc >= 2 && g_str_equal (argv[1], "--"))
    {
      argv++;
      argc--;
    }
  if (argc < 3 || (argc >= 3 && g_str_equal (argv[2], "--") && argc < 4))
    {
      g_printerr ("molt-run: usage: molt-run [OPTION...] NAME -- CMD [ARG...]\n");
      return 64;
    }
  name = argv[1];
  /* Before the environment is copied into the job's. */
  notify_socket = molt_sd_notify_take_socket ();
  for (int i = g_str_equal (argv[2], "--") ? 3 : 2; i < argc; i++)
    json_array_add_string_element (argv_json, argv[i]);
  if (!clean_env)
    for (char **e = environ; *e != NULL; e++)
      json_array_add_string_element (env_json, *e);
  for (guint i = 0; extra_env != NULL && extra_env[i] != NULL; i++)
    json_array_add_string_element (env_json, extra_env[i]);
  if (cwd == NULL)
    cwd = g_get_current_dir ();

  json_object_set_string_member (args, "name", name);
  json_object_set_array_member (args, "argv", json_array_ref (argv_json));
  json_object_set_string_member (args, "cwd", cwd);
  json_object_set_array_member (args, "env", json_array_ref (env_json));
  if (user != NULL)
    json_object_set_string_member (args, "user", user);
  if (wait)
    {
      cgroup = own_cgroup ();
      return start_or_attach (socket_path, name, args, cgroup);
    }
  result = call (socket_path, "job-start", args, &error);
  if (result == NULL)
    {
      g_printerr ("molt-run: cannot start job %s: %s\n", name, error->message);
      return 1;
    }
  if (JSON_NODE_HOLDS_OBJECT (result))
    print_job ("started", name, result);
  notify_ready ("started", name);
  return 0;
}
