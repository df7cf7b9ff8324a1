#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>

#include "molt-host-error.h"
#include "molt-policy-plan.h"
#include "molt-policy-report.h"

static gboolean
wanted (const gchar *domain, const gchar *const *only_domains)
{
  return only_domains == NULL || g_strv_contains (only_domains, domain);
}

GPtrArray *
molt_policy_statuses (GPtrArray *policies, GPtrArray *states, MoltPolicyHistory *history,
                      const gchar *const *only_domains, gint64 now)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) molt_policy_status_free);

  for (guint p = 0; p < policies->len; p++)
    {
      const MoltPolicy *policy = g_ptr_array_index (policies, p);

      for (guint d = 0; d < states->len; d++)
        {
          MoltDomainState *state = g_ptr_array_index (states, d);
          g_autoptr (GArray) created = g_array_new (FALSE, FALSE, sizeof (gint64));
          MoltPolicyLastRun last;

          if (!molt_policy_matches_domain (policy, state->name)
              || !wanted (state->name, only_domains))
            continue;
          for (guint s = 0; s < state->snapshots->len; s++)
            {
              MoltSnapshotRef *ref = &g_array_index (state->snapshots, MoltSnapshotRef, s);
              gint64 t;

              if (molt_policy_snapshot_owned (policy, ref->name, ref->description, &t))
                g_array_append_val (created, t);
            }
          last = molt_policy_history_last_action (history, policy->name, state->name);
          g_ptr_array_add (out, molt_policy_status_new (policy, state->name,
                                                        (const gint64 *) created->data,
                                                        created->len, &last, now));
        }
    }
  return out;
}

JsonObject *
molt_policy_status_to_json (const MoltPolicyStatus *st)
{
  JsonObject *obj = json_object_new ();
  g_autoptr (JsonObject) kept = json_object_new ();

  json_object_set_string_member (obj, "policy", st->policy->name);
  json_object_set_string_member (obj, "domain", st->domain);
  json_object_set_string_member (obj, "state", molt_health_to_string (st->health));
  json_object_set_string_member (obj, "summary", st->summary);
  json_object_set_int_member (obj, "snapshots", st->snapshots);
  if (st->newest > 0)
    json_object_set_int_member (obj, "newest", st->newest);
  else
    json_object_set_null_member (obj, "newest");
  for (guint c = 0; c < MOLT_RETENTION_PRUNED; c++)
    if (st->kept_by[c] > 0)
      json_object_set_int_member (kept, molt_retention_class_to_string (c), st->kept_by[c]);
  json_object_set_object_member (obj, "kept", g_steal_pointer (&kept));
  json_object_set_int_member (obj, "to-prune", st->kept_by[MOLT_RETENTION_PRUNED]);
  json_object_set_int_member (obj, "next-due", st->next_due);
  json_object_set_int_member (obj, "warn-age", st->warn_age);
  json_object_set_int_member (obj, "crit-age", st->crit_age);
  if (st->last_run_at > 0)
    {
      g_autoptr (JsonObject) last = json_object_new ();
      json_object_set_int_member (last, "at", st->last_run_at);
      json_object_set_string_member (last, "status", st->last_run_status);
      json_object_set_string_member (last, "message", st->last_run_message);
      json_object_set_object_member (obj, "last-action", g_steal_pointer (&last));
    }
  else
    json_object_set_null_member (obj, "last-action");
  return obj;
}

/* Label values: backslash, double quote and newline escaped (the text
 * format's rules). */
static void
append_labels (GString *out, const MoltPolicyStatus *st)
{
  const gchar *values[] = { st->domain, st->policy->name };
  const gchar *names[] = { "domain", "policy" };

  g_string_append_c (out, '{');
  for (guint i = 0; i < G_N_ELEMENTS (values); i++)
    {
      g_string_append_printf (out, "%s%s=\"", i > 0 ? "," : "", names[i]);
      for (const gchar *c = values[i]; *c != '\0'; c++)
        if (*c == '\\' || *c == '"')
          g_string_append_printf (out, "\\%c", *c);
        else if (*c == '\n')
          g_string_append (out, "\\n");
        else
          g_string_append_c (out, *c);
      g_string_append_c (out, '"');
    }
  g_string_append_c (out, '}');
}

typedef enum
{
  METRIC_LAST_SUCCESS,
  METRIC_KEPT,
  METRIC_HEALTH,
  METRIC_RUN_SUCCESS,
  METRIC_RUN_PRUNED,
  METRIC_RUN_QUIESCE_FAILURES,
} Metric;

static const struct
{
  const gchar *name;
  const gchar *help;
} metrics[] = {
  [METRIC_LAST_SUCCESS] = { "molt_policy_last_success_timestamp_seconds",
                            "Creation time of the newest snapshot the policy took of the domain "
                            "(0: none)." },
  [METRIC_KEPT] = { "molt_policy_snapshots_kept", "The policy's snapshots of the domain." },
  [METRIC_HEALTH]
  = { "molt_policy_health", "0 ok, 1 warning, 2 critical, 3 unknown (as molt policy status)." },
  [METRIC_RUN_SUCCESS]
  = { "molt_policy_last_run_success", "1 if no action on the domain failed in the last apply." },
  [METRIC_RUN_PRUNED]
  = { "molt_policy_last_run_snapshots_pruned", "Snapshots the last apply deleted." },
  [METRIC_RUN_QUIESCE_FAILURES] = { "molt_policy_last_run_quiesce_failures",
                                    "Snapshots of the last apply whose guest could not be "
                                    "quiesced." },
};

static gint64
count_actions (JsonArray *actions, const MoltPolicyStatus *st, const gchar *action,
               const gchar *key, const gchar *value)
{
  gint64 n = 0;

  for (guint i = 0; i < json_array_get_length (actions); i++)
    {
      JsonObject *a = json_array_get_object_element (actions, i);

      if (g_strcmp0 (json_object_get_string_member_with_default (a, "domain", ""), st->domain) == 0
          && g_strcmp0 (json_object_get_string_member_with_default (a, "policy", ""),
                        st->policy->name)
                 == 0
          && (action == NULL
              || g_strcmp0 (json_object_get_string_member_with_default (a, "action", ""), action)
                     == 0)
          && g_strcmp0 (json_object_get_string_member_with_default (a, key, ""), value) == 0)
        n++;
    }
  return n;
}

static gint64
metric_value (Metric m, const MoltPolicyStatus *st, JsonArray *actions)
{
  switch (m)
    {
    case METRIC_LAST_SUCCESS:
      return st->newest;
    case METRIC_KEPT:
      return st->snapshots;
    case METRIC_HEALTH:
      return st->health;
    case METRIC_RUN_SUCCESS:
      return count_actions (actions, st, NULL, "status", "failed") == 0;
    case METRIC_RUN_PRUNED:
      return count_actions (actions, st, "delete", "status", "done");
    case METRIC_RUN_QUIESCE_FAILURES:
    default:
      return count_actions (actions, st, "create", "quiesce", "failed");
    }
}

static gchar *
metrics_text (const gchar *path, GPtrArray *statuses, JsonArray *actions, gint64 at,
              gdouble seconds)
{
  GString *out = g_string_new (NULL);
  guint failures = 0;

  for (guint i = 0; i < json_array_get_length (actions); i++)
    failures += g_strcmp0 (json_object_get_string_member_with_default (
                               json_array_get_object_element (actions, i), "status", ""),
                           "failed")
                == 0;
  g_string_append_printf (
      out,
      "# HELP molt_policy_apply_last_run_timestamp_seconds When molt policy apply last ran.\n"
      "# TYPE molt_policy_apply_last_run_timestamp_seconds gauge\n"
      "molt_policy_apply_last_run_timestamp_seconds %" G_GINT64_FORMAT "\n"
      "# HELP molt_policy_apply_last_run_duration_seconds How long it took.\n"
      "# TYPE molt_policy_apply_last_run_duration_seconds gauge\n"
      "molt_policy_apply_last_run_duration_seconds %.3f\n"
      "# HELP molt_policy_apply_last_run_success 1 if none of its actions failed.\n"
      "# TYPE molt_policy_apply_last_run_success gauge\n"
      "molt_policy_apply_last_run_success %d\n",
      at, seconds, failures == 0);
  for (guint m = 0; m < G_N_ELEMENTS (metrics); m++)
    {
      g_string_append_printf (out, "# HELP %s %s\n# TYPE %s gauge\n", metrics[m].name,
                              metrics[m].help, metrics[m].name);
      for (guint i = 0; i < statuses->len; i++)
        {
          const MoltPolicyStatus *st = g_ptr_array_index (statuses, i);

          if (g_strcmp0 (st->policy->metrics_file, path) != 0)
            continue;
          g_string_append (out, metrics[m].name);
          append_labels (out, st);
          g_string_append_printf (out, " %" G_GINT64_FORMAT "\n",
                                  metric_value ((Metric) m, st, actions));
        }
    }
  return g_string_free (out, FALSE);
}

gboolean
molt_policy_metrics_write (const gchar *path, GPtrArray *statuses, JsonArray *actions, gint64 at,
                           gdouble seconds, GError **error)
{
  g_autofree gchar *text = metrics_text (path, statuses, actions, at, seconds);
  g_autoptr (GError) local_error = NULL;

  /* node_exporter reads *.prom files: a temporary name it skips, renamed
   * over the old file, so a scrape never sees half of one. */
  if (!g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644,
                                 &local_error))
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED, "cannot write the metrics: %s",
                   local_error->message);
      return FALSE;
    }
  return TRUE;
}
