#include "molt-policy.h"
#include "molt-schedule.h"

static const gchar *const quiesce_names[] = {
  [MOLT_QUIESCE_REQUIRED] = "required",
  [MOLT_QUIESCE_BEST_EFFORT] = "best-effort",
  [MOLT_QUIESCE_OFF] = "off",
};
G_STATIC_ASSERT (G_N_ELEMENTS (quiesce_names) == MOLT_QUIESCE_LAST);

static const gchar *const snapshot_type_names[] = {
  [MOLT_SNAPSHOT_TYPE_AUTO] = "auto",
  [MOLT_SNAPSHOT_TYPE_INTERNAL] = "internal",
  [MOLT_SNAPSHOT_TYPE_EXTERNAL] = "external",
};
G_STATIC_ASSERT (G_N_ELEMENTS (snapshot_type_names) == MOLT_SNAPSHOT_TYPE_LAST);

static const gchar *const weekday_names[] = { "", "mon", "tue", "wed", "thu", "fri", "sat", "sun" };

void
molt_policy_free (MoltPolicy *policy)
{
  if (policy == NULL)
    return;
  g_free (policy->name);
  g_free (policy->file);
  g_strfreev (policy->domains);
  g_free (policy->metrics_file);
  g_free (policy->pre_snapshot);
  g_free (policy->post_snapshot);
  g_free (policy->guest_pre_snapshot);
  g_free (policy);
}

const gchar *
molt_quiesce_to_string (MoltQuiesce quiesce)
{
  return (guint) quiesce < MOLT_QUIESCE_LAST ? quiesce_names[quiesce] : "?";
}

gboolean
molt_quiesce_from_string (const gchar *text, MoltQuiesce *out)
{
  for (guint i = 0; i < MOLT_QUIESCE_LAST; i++)
    if (g_strcmp0 (text, quiesce_names[i]) == 0)
      {
        *out = (MoltQuiesce) i;
        return TRUE;
      }
  return FALSE;
}

const gchar *
molt_snapshot_type_to_string (MoltSnapshotType type)
{
  return (guint) type < MOLT_SNAPSHOT_TYPE_LAST ? snapshot_type_names[type] : "?";
}

gboolean
molt_snapshot_type_from_string (const gchar *text, MoltSnapshotType *out)
{
  for (guint i = 0; i < MOLT_SNAPSHOT_TYPE_LAST; i++)
    if (g_strcmp0 (text, snapshot_type_names[i]) == 0)
      {
        *out = (MoltSnapshotType) i;
        return TRUE;
      }
  return FALSE;
}

gchar *
molt_schedule_to_string (const MoltSchedule *s)
{
  switch (s->kind)
    {
    case MOLT_SCHEDULE_HOURLY:
      return g_strdup_printf ("hourly :%02d", s->minute);
    case MOLT_SCHEDULE_DAILY:
      return g_strdup_printf ("daily %02d:%02d", s->hour, s->minute);
    case MOLT_SCHEDULE_WEEKLY:
      return g_strdup_printf ("weekly %s %02d:%02d", weekday_names[s->weekday], s->hour, s->minute);
    case MOLT_SCHEDULE_MONTHLY:
      return g_strdup_printf ("monthly %d %02d:%02d", s->mday, s->hour, s->minute);
    case MOLT_SCHEDULE_LAST:
    default:
      return g_strdup ("?");
    }
}

gboolean
molt_policy_matches_domain (const MoltPolicy *policy, const gchar *domain)
{
  for (guint i = 0; policy->domains[i] != NULL; i++)
    if (g_pattern_match_simple (policy->domains[i], domain))
      return TRUE;
  return FALSE;
}

gint64
molt_policy_warn_age (const MoltPolicy *policy)
{
  gint64 period = molt_schedule_period (&policy->schedule);

  return policy->warn_age > 0 ? policy->warn_age : period + period / 2;
}

/* A warn-age set alone moves the critical one with it: one more period. */
gint64
molt_policy_crit_age (const MoltPolicy *policy)
{
  return policy->crit_age > 0
             ? policy->crit_age
             : molt_policy_warn_age (policy) + molt_schedule_period (&policy->schedule);
}
