#include <stdlib.h>

#include "molt-duration.h"
#include "molt-policy-status.h"
#include "molt-schedule.h"

static gint
newest_first (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? 1 : x > y ? -1 : 0;
}

static void
count_kept (MoltPolicyStatus *st, const gint64 *created, guint n)
{
  g_autofree gint64 *sorted = g_memdup2 (created, MAX (n, 1) * sizeof *created);
  g_autofree MoltRetentionClass *kept_by = g_new (MoltRetentionClass, MAX (n, 1));

  qsort (sorted, n, sizeof *sorted, newest_first);
  molt_retention_classify (&st->policy->keep, sorted, n, kept_by);
  for (guint i = 0; i < n; i++)
    st->kept_by[kept_by[i]]++;
  st->newest = n > 0 ? sorted[0] : 0;
}

/* The health and the line that says why, worst cause first. */
static void
judge (MoltPolicyStatus *st, const MoltPolicyLastRun *last_run, gint64 now)
{
  g_autofree gchar *age = molt_duration_format (now - st->newest);
  g_autofree gchar *limit = NULL;
  gboolean failed_since = last_run != NULL && last_run->at > 0
                          && g_strcmp0 (last_run->status, "failed") == 0
                          && last_run->at >= st->newest;
  g_autofree gchar *failure
      = failed_since ? g_strdup_printf ("; the last run failed to %s: %s", last_run->action,
                                        last_run->message != NULL ? last_run->message : "?")
                     : g_strdup ("");

  if (st->newest == 0)
    {
      st->health = failed_since ? MOLT_HEALTH_CRITICAL : MOLT_HEALTH_WARNING;
      st->summary = g_strdup_printf ("no snapshot yet%s", failure);
      return;
    }
  if (now - st->newest > st->crit_age)
    {
      limit = molt_duration_format (st->crit_age);
      st->health = MOLT_HEALTH_CRITICAL;
      st->summary = g_strdup_printf ("newest snapshot %s old (crit-age %s)%s", age, limit, failure);
    }
  else if (now - st->newest > st->warn_age)
    {
      limit = molt_duration_format (st->warn_age);
      st->health = MOLT_HEALTH_WARNING;
      st->summary = g_strdup_printf ("newest snapshot %s old (warn-age %s)%s", age, limit, failure);
    }
  else
    {
      /* A prune that failed leaves snapshots to the next run: worth a
       * warning, not an alarm, while the newest is fresh. */
      st->health = failed_since ? MOLT_HEALTH_WARNING : MOLT_HEALTH_OK;
      st->summary = g_strdup_printf ("newest snapshot %s old%s", age, failure);
    }
}

MoltPolicyStatus *
molt_policy_status_new (const MoltPolicy *policy, const gchar *domain, const gint64 *created,
                        guint n, const MoltPolicyLastRun *last_run, gint64 now)
{
  MoltPolicyStatus *st = g_new0 (MoltPolicyStatus, 1);

  st->policy = policy;
  st->domain = g_strdup (domain);
  st->snapshots = n;
  st->warn_age = molt_policy_warn_age (policy);
  st->crit_age = molt_policy_crit_age (policy);
  st->next_due = molt_schedule_next_due (&policy->schedule, now);
  count_kept (st, created, n);
  if (last_run != NULL && last_run->at > 0)
    {
      st->last_run_at = last_run->at;
      st->last_run_status = g_strdup (last_run->status);
      st->last_run_message = g_strdup (last_run->message);
    }
  judge (st, last_run, now);
  return st;
}

void
molt_policy_status_free (MoltPolicyStatus *st)
{
  if (st == NULL)
    return;
  g_free (st->domain);
  g_free (st->last_run_status);
  g_free (st->last_run_message);
  g_free (st->summary);
  g_free (st);
}

const gchar *
molt_health_to_string (MoltHealth health)
{
  static const gchar *const names[] = { "OK", "WARNING", "CRITICAL", "UNKNOWN" };

  return (guint) health < G_N_ELEMENTS (names) ? names[health] : "UNKNOWN";
}

MoltHealth
molt_health_worst (MoltHealth a, MoltHealth b)
{
  static const gint rank[] = { 0, 1, 3, 2 };

  return rank[a] >= rank[b] ? a : b;
}
