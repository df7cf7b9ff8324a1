#include <sys/wait.h>

#include "molt-host-error.h"
#include "molt-reply.h"
#include "molt-switch-jobs.h"
#include "molt-wire.h"

/* The guest's clock in microseconds: bounded so that differences of two
 * of them cannot overflow. */
#define MOLT_MAX_TIME_US (G_MAXINT64 / 4)

typedef struct
{
  const gchar *name;
  const gchar *state;
  gint64 pid;
  gint64 ns_pid;
  gint64 frozen_at;
  gint64 resumed_at;
  gint64 exit_status;
  gboolean exited;
  const gchar *ns_pids_at_checkpoint;
  const gchar *ns_pids_at_restore;
  const gchar *restore_error;
} JobView;

static gboolean
job_view_read (JsonArray *jobs, guint index, const gchar *what, JobView *v, GError **error)
{
  JsonObject *job = molt_reply_array_object (jobs, what, index, error);

  *v = (JobView){ .pid = -1, .ns_pid = -1, .exit_status = G_MININT64 };
  if (job == NULL || !molt_reply_get_string (job, what, MOLT_JOB_KEY_NAME, 0, &v->name, error)
      || !molt_reply_get_string (job, what, MOLT_JOB_KEY_STATE, 0, &v->state, error)
      || !molt_reply_get_int (job, what, MOLT_JOB_KEY_PID, -1, G_MAXINT32, MOLT_REPLY_OPTIONAL,
                              &v->pid, error)
      || !molt_reply_get_int (job, what, MOLT_JOB_KEY_NS_PID, -1, G_MAXINT32, MOLT_REPLY_OPTIONAL,
                              &v->ns_pid, error)
      || !molt_reply_get_int (job, what, MOLT_JOB_KEY_FROZEN_AT_US, 0, MOLT_MAX_TIME_US,
                              MOLT_REPLY_OPTIONAL, &v->frozen_at, error)
      || !molt_reply_get_int (job, what, MOLT_JOB_KEY_RESUMED_AT_US, 0, MOLT_MAX_TIME_US,
                              MOLT_REPLY_OPTIONAL, &v->resumed_at, error)
      || !molt_reply_get_int (job, what, MOLT_JOB_KEY_EXIT_STATUS, G_MININT32, G_MAXINT32,
                              MOLT_REPLY_OPTIONAL, &v->exit_status, error)
      || !molt_reply_get_string (job, what, MOLT_JOB_KEY_NS_PIDS_AT_CHECKPOINT, MOLT_REPLY_OPTIONAL,
                                 &v->ns_pids_at_checkpoint, error)
      || !molt_reply_get_string (job, what, MOLT_JOB_KEY_NS_PIDS_AT_RESTORE, MOLT_REPLY_OPTIONAL,
                                 &v->ns_pids_at_restore, error)
      || !molt_reply_get_string (job, what, MOLT_JOB_KEY_RESTORE_ERROR, MOLT_REPLY_OPTIONAL,
                                 &v->restore_error, error))
    return FALSE;
  v->exited = v->exit_status != G_MININT64;
  return TRUE;
}

gboolean
molt_switch_jobs_check_list (JsonArray *jobs, const gchar *what, GError **error)
{
  for (guint i = 0; i < json_array_get_length (jobs); i++)
    {
      JobView v;
      if (!job_view_read (jobs, i, what, &v, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean job_failed (GError **error, const gchar *format, ...) G_GNUC_PRINTF (2, 3);

gboolean
molt_switch_jobs_check_restorable (JsonArray *jobs, GError **error)
{
  for (guint i = 0; i < json_array_get_length (jobs); i++)
    {
      JobView v;
      if (!job_view_read (jobs, i, "job-list", &v, error))
        return FALSE;
      if (g_str_equal (v.state, "running") && v.pid > 1 && v.ns_pid == v.pid)
        return job_failed (error,
                           "job %s runs in the guest's own PID namespace (started with "
                           "--no-pid-namespace), so it could not be restored after the switch: "
                           "stop it first ('molt stop DOMAIN %s')",
                           v.name, v.name);
    }
  return TRUE;
}

/* Jobs (and reasons per job) named in the message; the rest are counted. */
#define BLOCKERS_SHOWN 3

gboolean
molt_switch_jobs_check_blockers (JsonObject *preflight, GError **error)
{
  JsonArray *blockers = NULL;
  g_autoptr (GString) text = g_string_new (NULL);
  guint n;

  if (!molt_reply_get_array (preflight, "switch-preflight", "checkpoint-blockers",
                             MOLT_REPLY_OPTIONAL, &blockers, error))
    return FALSE;
  n = blockers != NULL ? json_array_get_length (blockers) : 0;
  for (guint i = 0; i < n && i < BLOCKERS_SHOWN; i++)
    {
      g_autofree gchar *what = g_strdup_printf ("switch-preflight.checkpoint-blockers[%u]", i);
      JsonObject *entry = molt_reply_array_object (blockers, what, i, error);
      JsonArray *reasons = NULL;
      const gchar *job = NULL;
      guint count;

      if (entry == NULL || !molt_reply_get_string (entry, what, "job", 0, &job, error)
          || !molt_reply_get_array (entry, what, "reasons", 0, &reasons, error))
        return FALSE;
      g_string_append_printf (text, "%sjob %s: ", i > 0 ? "; " : "", job);
      count = json_array_get_length (reasons);
      for (guint r = 0; r < count && r < BLOCKERS_SHOWN; r++)
        {
          JsonNode *node = json_array_get_element (reasons, r);
          if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
            {
              g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_AGENT_PROTOCOL,
                           "%s.reasons[%u] is not a string", what, r);
              return FALSE;
            }
          g_string_append_printf (text, "%s%s", r > 0 ? ", " : "", json_node_get_string (node));
        }
      if (count > BLOCKERS_SHOWN)
        g_string_append_printf (text, " (and %u more)", count - BLOCKERS_SHOWN);
    }
  if (n == 0)
    return TRUE;
  if (n > BLOCKERS_SHOWN)
    g_string_append_printf (text, "; and %u more jobs", n - BLOCKERS_SHOWN);
  g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
               "CRIU cannot checkpoint %s; nothing was frozen: change what %s, or stop %s "
               "('molt stop'), and switch again",
               text->str, n == 1 ? "the job holds" : "the jobs hold", n == 1 ? "it" : "them");
  return FALSE;
}

/* The job named NAME in AFTER; FALSE only on a malformed list. */
static gboolean
find_job (JsonArray *after, const gchar *name, JobView *found, gboolean *present, GError **error)
{
  *present = FALSE;
  for (guint j = 0; j < json_array_get_length (after); j++)
    {
      JobView cand;
      if (!job_view_read (after, j, "job-list", &cand, error))
        return FALSE;
      if (g_str_equal (cand.name, name))
        {
          *found = cand;
          *present = TRUE;
        }
    }
  return TRUE;
}

static gboolean job_failed (GError **error, const gchar *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
job_failed (GError **error, const gchar *format, ...)
{
  g_autofree gchar *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED, message);
  return FALSE;
}

gboolean
molt_switch_jobs_verify_switch (JsonArray *before, JsonArray *after, gdouble host_bound_s,
                                JsonArray *report_jobs, GError **error)
{
  for (guint i = 0; i < json_array_get_length (before); i++)
    {
      JobView old, now;
      gboolean present;
      g_autoptr (JsonObject) entry = NULL;

      if (!job_view_read (before, i, "job-list", &old, error))
        return FALSE;
      if (!g_str_equal (old.state, "frozen"))
        continue;
      if (!find_job (after, old.name, &now, &present, error))
        return FALSE;
      if (!present)
        return job_failed (error, "job %s is missing after the switch", old.name);
      /* Frozen: restored and held for a probe, thawed once it passed. */
      if (!g_str_equal (now.state, "running") && !g_str_equal (now.state, "frozen"))
        return job_failed (error, "job %s did not come back (state %s): %s", now.name, now.state,
                           now.restore_error != NULL ? now.restore_error : "no reason recorded");
      if (now.ns_pid < 1 || now.ns_pid != old.ns_pid)
        return job_failed (error,
                           "job %s came back with PID %" G_GINT64_FORMAT
                           " in its namespace, was %" G_GINT64_FORMAT,
                           now.name, now.ns_pid, old.ns_pid);
      if (now.ns_pids_at_checkpoint == NULL || now.ns_pids_at_restore == NULL)
        return job_failed (error, "the agent did not report job %s's namespace PIDs at %s",
                           now.name, now.ns_pids_at_restore == NULL ? "restore" : "checkpoint");
      if (!g_str_equal (now.ns_pids_at_checkpoint, now.ns_pids_at_restore))
        return job_failed (error, "job %s came back with other PIDs in its namespace (%s, was %s)",
                           now.name, now.ns_pids_at_restore, now.ns_pids_at_checkpoint);
      entry = json_object_new ();
      json_object_set_string_member (entry, "name", now.name);
      json_object_set_string_member (entry, "state", "running");
      json_object_set_int_member (entry, "ns-pid", now.ns_pid);
      json_object_set_int_member (entry, "pid-before", old.pid);
      json_object_set_int_member (entry, "pid-after", now.pid);
      json_object_set_string_member (entry, "ns-pids", now.ns_pids_at_restore);
      /* Both bounded by MOLT_MAX_TIME_US: no overflow. A clock that went
       * backwards gives no downtime rather than a negative one. */
      if (old.frozen_at > 0 && now.resumed_at >= old.frozen_at)
        {
          json_object_set_double_member (entry, "downtime-s",
                                         (gdouble) (now.resumed_at - old.frozen_at) / 1e6);
          json_object_set_string_member (entry, "downtime-clock", "guest");
        }
      else if (host_bound_s > 0)
        {
          json_object_set_double_member (entry, "downtime-s", host_bound_s);
          json_object_set_string_member (entry, "downtime-clock", "host");
        }
      json_array_add_object_element (report_jobs, g_steal_pointer (&entry));
    }
  return TRUE;
}

static gchar *
describe_exit (gint64 status)
{
  if (WIFSIGNALED ((int) status))
    return g_strdup_printf ("killed by signal %d (%s)", WTERMSIG ((int) status),
                            g_strsignal (WTERMSIG ((int) status)));
  if (WIFEXITED ((int) status))
    return g_strdup_printf ("exited with status %d", WEXITSTATUS ((int) status));
  return g_strdup_printf ("ended (wait status %" G_GINT64_FORMAT ")", status);
}

guint
molt_switch_jobs_verify_rollback (JsonArray *before, JsonArray *after, const GError *list_error,
                                  JsonArray *report_jobs, gchar **summary)
{
  g_autoptr (GString) text = g_string_new (NULL);
  guint not_running = 0;

  for (guint i = 0; before != NULL && i < json_array_get_length (before); i++)
    {
      JobView old, now = { 0 };
      gboolean present = FALSE;
      g_autoptr (JsonObject) entry = json_object_new ();
      g_autoptr (GError) local_error = NULL;
      g_autofree gchar *detail = NULL;
      const gchar *state;

      /* Frozen by the switch, or running when the freeze failed. */
      if (!job_view_read (before, i, "job-list", &old, NULL)
          || (!g_str_equal (old.state, "frozen") && !g_str_equal (old.state, "running")))
        continue;
      if (after == NULL || !find_job (after, old.name, &now, &present, &local_error))
        {
          state = "unknown";
          detail = local_error != NULL ? g_strdup (local_error->message)
                   : list_error != NULL
                       ? g_strdup_printf ("the agent could not be asked: %s", list_error->message)
                       : g_strdup ("the agent could not be asked");
        }
      else if (!present)
        {
          state = "gone";
          detail = g_strdup ("no longer in the agent's job list");
        }
      else if (g_str_equal (now.state, "running") && now.ns_pid == old.ns_pid)
        state = "running";
      else if (now.exited || g_str_equal (now.state, "exited"))
        {
          state = "gone";
          detail = now.exited ? describe_exit (now.exit_status) : g_strdup ("exited");
        }
      else
        {
          state = "unknown";
          detail = g_strdup_printf ("state %s, PID %" G_GINT64_FORMAT
                                    " in its namespace (was %" G_GINT64_FORMAT ")",
                                    now.state, now.ns_pid, old.ns_pid);
        }
      json_object_set_string_member (entry, "name", old.name);
      json_object_set_string_member (entry, "state", state);
      if (detail != NULL)
        {
          json_object_set_string_member (entry, "detail", detail);
          g_string_append_printf (text, "%sjob %s is %s (%s)", not_running > 0 ? "; " : "",
                                  old.name, state, detail);
          not_running++;
        }
      json_array_add_object_element (report_jobs, g_steal_pointer (&entry));
    }
  if (summary != NULL)
    *summary = g_strdup (text->str);
  return not_running;
}

guint
molt_switch_jobs_count_state (JsonArray *jobs, const gchar *state)
{
  guint count = 0;

  for (guint i = 0; jobs != NULL && i < json_array_get_length (jobs); i++)
    {
      JsonNode *node = json_array_get_element (jobs, i);
      JsonObject *job = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      JsonNode *member = job != NULL ? json_object_get_member (job, MOLT_JOB_KEY_STATE) : NULL;

      if (member != NULL && JSON_NODE_HOLDS_VALUE (member)
          && json_node_get_value_type (member) == G_TYPE_STRING
          && g_str_equal (json_node_get_string (member), state))
        count++;
    }
  return count;
}

gboolean
molt_switch_jobs_ran_on_new_kernel (JsonArray *before, JsonArray *after)
{
  for (guint i = 0; before != NULL && i < json_array_get_length (before); i++)
    {
      JobView old, now;
      gboolean present = FALSE;

      if (!job_view_read (before, i, "job-list", &old, NULL) || !g_str_equal (old.state, "frozen"))
        continue;
      /* A list that cannot be read cannot show the job did not run: the
       * safe answer is that it may have. */
      if (!find_job (after, old.name, &now, &present, NULL)
          || (present && g_str_equal (now.state, "running")))
        return TRUE;
    }
  return FALSE;
}
