/* molt policy status: how each policy is doing for each domain it covers,
 * for people (a block per pair), scripts (--json) and monitoring
 * (--monitor: one line and the Nagios/Icinga plugin exit codes). */
#include "molt-cli.h"
#include "molt-host-error.h"
#include "molt-message.h"
#include "molt-policy-apply.h"
#include "molt-policy-plan.h"
#include "molt-policy-report.h"
#include "molt-policy-status-command.h"

static gchar *
utc_text (gint64 t)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (t);

  return dt != NULL ? g_date_time_format (dt, "%Y-%m-%dT%H:%M:%SZ") : g_strdup ("?");
}

/* A domain asked for by name that no status covers: why. */
static MoltPolicyStatus *
uncovered (const gchar *domain, GPtrArray *states)
{
  MoltPolicyStatus *st = g_new0 (MoltPolicyStatus, 1);
  gboolean exists = FALSE;

  for (guint i = 0; i < states->len && !exists; i++)
    exists = g_str_equal (((MoltDomainState *) g_ptr_array_index (states, i))->name, domain);
  st->domain = g_strdup (domain);
  st->health = MOLT_HEALTH_UNKNOWN;
  st->summary = g_strdup (exists ? "no policy covers this domain" : "no such domain");
  return st;
}

static void
print_block (const MoltPolicyStatus *st)
{
  g_autofree gchar *due = NULL, *kept = NULL;
  g_autoptr (GString) classes = g_string_new (NULL);

  /* The summary and the last message can hold guest text (an agent's
   * error from a failed quiesce): escaped, as every guest string is. */
  g_autofree gchar *summary = molt_text_excerpt (st->summary, 1024);

  g_print ("%s / %s: %s - %s\n", st->domain, st->policy != NULL ? st->policy->name : "-",
           molt_health_to_string (st->health), summary);
  if (st->policy == NULL)
    return;
  for (guint c = 0; c < MOLT_RETENTION_PRUNED; c++)
    if (st->kept_by[c] > 0)
      g_string_append_printf (classes, "%s%s %u", classes->len > 0 ? ", " : "",
                              molt_retention_class_to_string (c), st->kept_by[c]);
  if (st->kept_by[MOLT_RETENTION_PRUNED] > 0)
    g_string_append_printf (classes, "%sto prune %u", classes->len > 0 ? ", " : "",
                            st->kept_by[MOLT_RETENTION_PRUNED]);
  due = utc_text (st->next_due);
  g_print ("  snapshots %u%s%s%s, next due %s\n", st->snapshots, classes->len > 0 ? " (" : "",
           classes->str, classes->len > 0 ? ")" : "", due);
  if (st->last_run_at > 0)
    {
      g_autofree gchar *at = utc_text (st->last_run_at);
      g_autofree gchar *message
          = molt_text_excerpt (st->last_run_message != NULL ? st->last_run_message : "", 1024);
      g_print ("  last action: %s at %s: %s\n", st->last_run_status, at, message);
    }
}

/* "MOLT POLICY WARNING - 1 warning, 2 ok: web1/nightly: ... | ok=2 ..." */
static MoltHealth
print_monitor_line (GPtrArray *statuses)
{
  guint counts[4] = { 0 };
  MoltHealth worst = MOLT_HEALTH_OK;
  g_autoptr (GString) problems = g_string_new (NULL);

  for (guint i = 0; i < statuses->len; i++)
    {
      const MoltPolicyStatus *st = g_ptr_array_index (statuses, i);

      counts[st->health]++;
      worst = molt_health_worst (worst, st->health);
      if (st->health != MOLT_HEALTH_OK)
        {
          /* One line for the plugin: guest text escaped, no newline in it. */
          g_autofree gchar *summary = molt_text_excerpt (st->summary, 512);
          g_string_append_printf (problems, "%s%s/%s: %s", problems->len > 0 ? "; " : ": ",
                                  st->domain, st->policy != NULL ? st->policy->name : "-", summary);
        }
    }
  if (statuses->len == 0)
    {
      g_print ("MOLT POLICY UNKNOWN - no domain is covered by a policy\n");
      return MOLT_HEALTH_UNKNOWN;
    }
  g_print ("MOLT POLICY %s - %u ok, %u warning, %u critical, %u unknown%s | ok=%u warning=%u "
           "critical=%u unknown=%u\n",
           molt_health_to_string (worst), counts[0], counts[1], counts[2], counts[3], problems->str,
           counts[0], counts[1], counts[2], counts[3]);
  return worst;
}

int
molt_policy_status_command (MoltCli *cli, virConnectPtr conn, GPtrArray *policies,
                            const gchar *state_dir, char **domains, gboolean monitor, gint64 now,
                            GError **error)
{
  g_autoptr (GPtrArray) states = molt_policy_gather (conn, error);
  g_autoptr (MoltPolicyHistory) history = NULL;
  g_autoptr (GPtrArray) statuses = NULL;
  gdouble run_seconds = 0;
  gboolean run_ok = TRUE;
  gint64 last_run;

  if (states == NULL || (history = molt_policy_history_load (state_dir, error)) == NULL)
    return -1;
  statuses = molt_policy_statuses (
      policies, states, history,
      domains != NULL && domains[0] != NULL ? (const gchar *const *) domains : NULL, now);
  for (guint i = 0; domains != NULL && domains[i] != NULL; i++)
    {
      gboolean found = FALSE;
      for (guint s = 0; s < statuses->len && !found; s++)
        found = g_str_equal (((MoltPolicyStatus *) g_ptr_array_index (statuses, s))->domain,
                             domains[i]);
      if (!found)
        g_ptr_array_add (statuses, uncovered (domains[i], states));
    }
  last_run = molt_policy_history_last_run (history, &run_seconds, &run_ok);
  if (monitor)
    return (int) print_monitor_line (statuses);
  if (cli->json)
    {
      g_autoptr (JsonObject) out = json_object_new ();
      g_autoptr (JsonArray) list = json_array_new ();
      g_autoptr (JsonNode) node = NULL;

      for (guint i = 0; i < statuses->len; i++)
        json_array_add_object_element (
            list, molt_policy_status_to_json (g_ptr_array_index (statuses, i)));
      json_object_set_int_member (out, "at", now);
      if (last_run > 0)
        {
          g_autoptr (JsonObject) run = json_object_new ();
          json_object_set_int_member (run, "at", last_run);
          json_object_set_double_member (run, "seconds", run_seconds);
          json_object_set_boolean_member (run, "ok", run_ok);
          json_object_set_object_member (out, "last-apply", g_steal_pointer (&run));
        }
      else
        json_object_set_null_member (out, "last-apply");
      json_object_set_int_member (out, "history-skipped-lines",
                                  molt_policy_history_skipped_lines (history));
      json_object_set_array_member (out, "statuses", g_steal_pointer (&list));
      node = json_node_init_object (json_node_alloc (), out);
      molt_cli_print_json (node);
      return MOLT_EXIT_OK;
    }
  if (last_run > 0)
    {
      g_autofree gchar *at = utc_text (last_run);
      g_print ("last apply: %s, %.1f s, %s\n", at, run_seconds,
               run_ok ? "every action done" : "with failures");
    }
  else
    g_print ("last apply: none recorded in %s\n", state_dir);
  if (molt_policy_history_skipped_lines (history) > 0)
    g_printerr ("molt: policy: %u line(s) of the history could not be read and were skipped\n",
                molt_policy_history_skipped_lines (history));
  for (guint i = 0; i < statuses->len; i++)
    print_block (g_ptr_array_index (statuses, i));
  if (statuses->len == 0)
    g_print ("no domain is covered by a policy\n");
  return MOLT_EXIT_OK;
}
