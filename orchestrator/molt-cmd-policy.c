/* molt policy check|plan|apply: the nightly snapshot policy. */
#include "molt-cli.h"
#include "molt-commands.h"
#include "molt-host-error.h"
#include "molt-policy-apply.h"
#include "molt-policy-parser.h"
#include "molt-policy-report.h"
#include "molt-policy-status-command.h"
#include "molt-state-dir.h"

#define MOLT_POLICY_DIR "/etc/molt/policies.d"

/* "2026-03-01T02:30:00Z", "2026-03-01 02:30" (UTC) or "@EPOCH". */
static gboolean
parse_time (const gchar *text, gint64 *out)
{
  g_autoptr (GTimeZone) utc = g_time_zone_new_utc ();
  g_autoptr (GDateTime) dt = NULL;
  g_autofree gchar *iso = g_strdup (text);
  gchar *end = NULL;

  if (text[0] == '@')
    {
      *out = g_ascii_strtoll (text + 1, &end, 10);
      return end != text + 1 && *end == '\0';
    }
  g_strdelimit (iso, " ", 'T');
  dt = g_date_time_new_from_iso8601 (iso, utc);
  if (dt == NULL)
    return FALSE;
  *out = g_date_time_to_unix (dt);
  return TRUE;
}

static gboolean
load (const gchar *dir, char **files, int n_files, GPtrArray *policies, GPtrArray *errors)
{
  gboolean ok = TRUE;

  if (n_files == 0)
    return molt_policy_load_dir (dir, policies, errors);
  for (int i = 0; i < n_files; i++)
    ok &= molt_policy_parse_file (files[i], policies, errors);
  return ok;
}

static JsonObject *
policy_json (MoltPolicy *p)
{
  JsonObject *obj = json_object_new ();
  g_autoptr (JsonArray) domains = json_array_new ();
  g_autofree gchar *schedule = molt_schedule_to_string (&p->schedule);

  for (guint i = 0; p->domains[i] != NULL; i++)
    json_array_add_string_element (domains, p->domains[i]);
  json_object_set_string_member (obj, "name", p->name);
  json_object_set_string_member (obj, "file", p->file);
  json_object_set_int_member (obj, "line", p->line);
  json_object_set_array_member (obj, "domains", g_steal_pointer (&domains));
  json_object_set_string_member (obj, "schedule", schedule);
  json_object_set_boolean_member (obj, "memory", p->memory);
  json_object_set_string_member (obj, "quiesce", molt_quiesce_to_string (p->quiesce));
  json_object_set_string_member (obj, "snapshot-type",
                                 molt_snapshot_type_to_string (p->snapshot_type));
  json_object_set_int_member (obj, "warn-age", molt_policy_warn_age (p));
  json_object_set_int_member (obj, "crit-age", molt_policy_crit_age (p));
  if (p->metrics_file != NULL)
    json_object_set_string_member (obj, "metrics-file", p->metrics_file);
  return obj;
}

/* A failed action is a line on stderr too, so that the journal of
 * molt-policy.service and OnFailure= mails carry it whatever the output. */
static void
print_failures (JsonArray *results)
{
  for (guint i = 0; i < json_array_get_length (results); i++)
    {
      JsonObject *r = json_array_get_object_element (results, i);
      g_autofree gchar *what = NULL;

      if (g_strcmp0 (json_object_get_string_member (r, "status"), "failed") != 0)
        continue;
      what = g_strdup_printf ("policy %s: %s %s of %s", json_object_get_string_member (r, "policy"),
                              json_object_get_string_member (r, "action"),
                              json_object_get_string_member (r, "snapshot"),
                              json_object_get_string_member (r, "domain"));
      molt_cli_print_error (what, json_object_get_string_member (r, "message"));
    }
}

/* After an apply: the history line, then the metrics files, which show the
 * domains as the run left them. Either failing fails the run: a timer
 * whose records are lost is not working. */
static gboolean
record_run (virConnectPtr conn, GPtrArray *policies, JsonArray *results, gint64 now,
            gdouble seconds)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) paths = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GPtrArray) states = NULL;
  g_autoptr (MoltPolicyHistory) history = NULL;
  g_autoptr (GPtrArray) statuses = NULL;
  GHashTableIter iter;
  gpointer path;
  gboolean ok = TRUE;

  if (!molt_policy_history_append (molt_state_dir (), now, seconds, results, &error))
    {
      molt_cli_print_error ("policy", error->message);
      g_clear_error (&error);
      ok = FALSE;
    }
  for (guint i = 0; i < policies->len; i++)
    {
      MoltPolicy *p = g_ptr_array_index (policies, i);
      if (p->metrics_file != NULL)
        g_hash_table_add (paths, p->metrics_file);
    }
  if (g_hash_table_size (paths) == 0)
    return ok;
  states = molt_policy_gather (conn, &error);
  history = states != NULL ? molt_policy_history_load (molt_state_dir (), &error) : NULL;
  if (history == NULL)
    {
      g_prefix_error (&error, "cannot write the metrics: ");
      molt_cli_print_error ("policy", error->message);
      return FALSE;
    }
  statuses = molt_policy_statuses (policies, states, history, NULL, now);
  g_hash_table_iter_init (&iter, paths);
  while (g_hash_table_iter_next (&iter, &path, NULL))
    if (!molt_policy_metrics_write (path, statuses, results, now, seconds, &error))
      {
        molt_cli_print_error ("policy", error->message);
        g_clear_error (&error);
        ok = FALSE;
      }
  return ok;
}

static int
run_status (MoltCli *cli, const gchar *dir, char **domains, gboolean monitor, gint64 now)
{
  g_autoptr (GPtrArray) policies
      = g_ptr_array_new_with_free_func ((GDestroyNotify) molt_policy_free);
  g_autoptr (GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (virConnect) conn = NULL;
  g_autoptr (GError) error = NULL;
  int code = -1;

  if (!load (dir, NULL, 0, policies, errors))
    g_set_error (&error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                 "the policies in %s have errors (%s)", dir,
                 (gchar *) g_ptr_array_index (errors, 0));
  else if ((conn = molt_libvirt_connect (cli->uri, &error)) != NULL)
    code = molt_policy_status_command (cli, conn, policies, molt_state_dir (), domains, monitor,
                                       now, &error);
  if (code >= 0)
    return code;
  if (monitor)
    {
      g_autofree gchar *line = g_strdelimit (g_strdup (error->message), "\n|", ' ');
      g_print ("MOLT POLICY UNKNOWN - %s\n", line);
      return 3;
    }
  return molt_cli_fail (cli, "policy", error);
}

static int
run_policy (MoltCli *cli, int argc, char **argv)
{
  g_autofree gchar *dir = g_strdup (MOLT_POLICY_DIR);
  g_autofree gchar *at = NULL;
  g_autoptr (GPtrArray) policies
      = g_ptr_array_new_with_free_func ((GDestroyNotify) molt_policy_free);
  g_autoptr (GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) out = json_object_new ();
  const gchar *action;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  gboolean monitor = FALSE;
  const GOptionEntry entries[] = {
    { "policy-dir", 'd', 0, G_OPTION_ARG_FILENAME, &dir,
      "policy files (default " MOLT_POLICY_DIR "/*.conf)", "DIR" },
    { "at", 0, 0, G_OPTION_ARG_STRING, &at,
      "plan/apply/status as if it were TIME (UTC: 2026-03-01T02:30:00Z, or @EPOCH)", "TIME" },
    { "monitor", 0, 0, G_OPTION_ARG_NONE, &monitor,
      "status: one line and the monitoring plugin exit codes (0 ok, 1 warning, 2 critical, "
      "3 unknown)",
      NULL },
    { NULL },
  };

  if (!molt_cli_parse (cli, &molt_cmd_policy, entries, &argc, &argv, &(int){ 0 }))
    return MOLT_EXIT_USAGE;
  if (argc < 2)
    return molt_cli_usage (&molt_cmd_policy, "expected check, plan, apply or status");
  action = argv[1];
  if (monitor && !g_str_equal (action, "status"))
    return molt_cli_usage (&molt_cmd_policy, "--monitor is for status");
  if (at != NULL && !parse_time (at, &now))
    return molt_cli_usage (&molt_cmd_policy, "--at: not a time (2026-03-01T02:30:00Z or @EPOCH)");

  if (g_str_equal (action, "check"))
    {
      g_autoptr (JsonArray) list = json_array_new ();
      g_autoptr (JsonArray) errs = json_array_new ();
      gboolean ok = load (dir, argv + 2, argc - 2, policies, errors);

      for (guint i = 0; i < errors->len; i++)
        {
          g_printerr ("%s\n", (gchar *) g_ptr_array_index (errors, i));
          json_array_add_string_element (errs, g_ptr_array_index (errors, i));
        }
      for (guint i = 0; i < policies->len; i++)
        json_array_add_object_element (list, policy_json (g_ptr_array_index (policies, i)));
      if (cli->json)
        {
          g_autoptr (JsonNode) node = NULL;
          json_object_set_boolean_member (out, "valid", ok);
          json_object_set_array_member (out, "policies", g_steal_pointer (&list));
          json_object_set_array_member (out, "errors", g_steal_pointer (&errs));
          node = json_node_init_object (json_node_alloc (), out);
          molt_cli_print_json (node);
        }
      else if (ok)
        g_print ("%u polic%s valid\n", policies->len, policies->len == 1 ? "y" : "ies");
      return ok ? MOLT_EXIT_OK : MOLT_EXIT_FAILED;
    }
  if (g_str_equal (action, "plan") || g_str_equal (action, "apply"))
    {
      MoltPolicyRunOptions o = { .state_dir = molt_state_dir (),
                                 .agent_timeout_s = (guint) cli->timeout_s,
                                 .apply = g_str_equal (action, "apply") };
      g_autoptr (virConnect) conn = NULL;
      g_autoptr (JsonArray) results = NULL;
      gboolean all_ok = TRUE;

      if (argc != 2)
        return molt_cli_usage (&molt_cmd_policy,
                               "plan and apply take no file arguments (use --policy-dir)");
      if (!load (dir, NULL, 0, policies, errors))
        {
          for (guint i = 0; i < errors->len; i++)
            g_printerr ("%s\n", (gchar *) g_ptr_array_index (errors, i));
          g_set_error (&error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                       "the policies in %s have errors (above); nothing was done", dir);
          return molt_cli_fail (cli, "policy", error);
        }
      gint64 started = g_get_monotonic_time ();

      conn = molt_libvirt_connect (cli->uri, &error);
      if (conn == NULL
          || (results = molt_policy_run (conn, policies, now, &o, &all_ok, &error)) == NULL)
        return molt_cli_fail (cli, "policy", error);
      if (o.apply)
        all_ok &= record_run (conn, policies, results, now,
                              (gdouble) (g_get_monotonic_time () - started) / G_USEC_PER_SEC);
      if (cli->json)
        {
          g_autoptr (JsonNode) node = NULL;
          json_object_set_int_member (out, "at", now);
          json_object_set_array_member (out, "actions", json_array_ref (results));
          node = json_node_init_object (json_node_alloc (), out);
          molt_cli_print_json (node);
        }
      else
        {
          for (guint i = 0; i < json_array_get_length (results); i++)
            {
              JsonObject *r = json_array_get_object_element (results, i);
              g_print ("%-8s %-7s %-20s %s (%s)\n", json_object_get_string_member (r, "status"),
                       json_object_get_string_member (r, "action"),
                       json_object_get_string_member (r, "domain"),
                       json_object_get_string_member (r, "snapshot"),
                       json_object_get_string_member (r, "message"));
            }
          if (json_array_get_length (results) == 0)
            g_print ("nothing to do\n");
        }
      print_failures (results);
      return all_ok ? MOLT_EXIT_OK : MOLT_EXIT_FAILED;
    }
  if (g_str_equal (action, "status"))
    return run_status (cli, dir, argv + 2, monitor, now);
  return molt_cli_usage (&molt_cmd_policy, "expected check, plan, apply or status");
}

const MoltCliCommand molt_cmd_policy = {
  .name = "policy",
  .parameters = "check [FILE...] | plan [--at TIME] | apply [--at TIME] | status [--monitor] "
                "[DOMAIN...]",
  .summary = "Check, plan, apply or report on the scheduled snapshot policies.",
  .description
  = "check: validate policy files (default: every *.conf of --policy-dir); each error as\n"
    "  FILE:LINE: KEY: what is wrong, what is allowed.\n"
    "plan: what apply would create and delete now (or --at TIME); touches nothing.\n"
    "apply: take the due snapshots (quiesced as the policy says) and prune the expired\n"
    "  ones. Idempotent; a missed window is caught up once. Only snapshots a policy\n"
    "  took are pruned. Domains locked by another molt operation are skipped. Each\n"
    "  run is recorded in STATE_DIR/policy-history.jsonl; policies with metrics-file\n"
    "  get a Prometheus text file. A failed action: a line on stderr, exit 1.\n"
    "status: per domain and policy, the newest snapshot and its age, what the\n"
    "  retention keeps, the last action, the next due time and a state (OK, WARNING,\n"
    "  CRITICAL, UNKNOWN) from warn-age/crit-age. --monitor: one line, exit 0-3 as a\n"
    "  Nagios/Icinga plugin.\n"
    "Times are UTC. See docs/policies.md.",
  .run = run_policy,
};
