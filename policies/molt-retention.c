#include "molt-retention.h"

typedef enum
{
  MARK_NONE,
  MARK_KEEP,
  MARK_REMOVE,
} Mark;

enum
{
  PERIOD_LAST,
  PERIOD_HOUR,
  PERIOD_DAY,
  PERIOD_WEEK,
  PERIOD_MONTH,
  PERIOD_YEAR,
  PERIOD_COUNT
};

static gint64
floor_div (gint64 a, gint64 b)
{
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* Ids equal for two times in the same UTC period. GDate lives on the
 * stack: no allocation per snapshot (plan runs over 100 000 of them). */
static void
period_ids (gint64 t, gint64 ids[PERIOD_COUNT])
{
  gint64 day = floor_div (t, 86400);
  gint64 week, year;
  GDate date;

  g_date_clear (&date, 1);
  /* Julian day 1 is 0001-01-01; 1970-01-01 is day 719163. */
  g_date_set_julian (&date, (guint32) (day + 719163));
  ids[PERIOD_LAST] = t;
  ids[PERIOD_HOUR] = floor_div (t, 3600);
  ids[PERIOD_DAY] = day;
  /* The ISO week-numbering year: late-December days can be in week 1 of
   * the next year, early-January days in week 52/53 of the previous. */
  week = g_date_get_iso8601_week_of_year (&date);
  year = g_date_get_year (&date);
  if (g_date_get_month (&date) == G_DATE_JANUARY && week > 50)
    year--;
  else if (g_date_get_month (&date) == G_DATE_DECEMBER && week == 1)
    year++;
  ids[PERIOD_WEEK] = year * 100 + week;
  ids[PERIOD_MONTH] = (gint64) g_date_get_year (&date) * 100 + g_date_get_month (&date);
  ids[PERIOD_YEAR] = g_date_get_year (&date);
}

static gboolean
contains (const gint64 *set, guint n, gint64 id)
{
  for (guint i = 0; i < n; i++)
    if (set[i] == id)
      return TRUE;
  return FALSE;
}

/* Proxmox's prune_mark for one option, over entries sorted newest first. */
static void
mark_period (guint period, guint count, gint64 (*ids)[PERIOD_COUNT], guint n, Mark *marks,
             MoltRetentionClass *kept_by, gint64 *scratch)
{
  guint n_already = 0, n_new = 0;
  gint64 *already = scratch, *newly = scratch + n;

  if (count == 0)
    return;
  for (guint i = 0; i < n; i++)
    if (marks[i] == MARK_KEEP && !contains (already, n_already, ids[i][period]))
      already[n_already++] = ids[i][period];
  for (guint i = 0; i < n; i++)
    {
      gint64 id = ids[i][period];

      if (marks[i] != MARK_NONE || contains (already, n_already, id))
        continue;
      /* Entries are newest first, so a period's entries are adjacent: the
       * last one added is the only one to compare with. */
      if (n_new == 0 || newly[n_new - 1] != id)
        {
          if (n_new >= count)
            break;
          newly[n_new++] = id;
          marks[i] = MARK_KEEP;
          kept_by[i] = (MoltRetentionClass) period;
        }
      else
        marks[i] = MARK_REMOVE;
    }
}

void
molt_retention_classify (const MoltRetention *rule, const gint64 *created, guint n,
                         MoltRetentionClass *kept_by)
{
  const guint counts[PERIOD_COUNT]
      = { rule->last, rule->hourly, rule->daily, rule->weekly, rule->monthly, rule->yearly };
  g_autofree Mark *marks = NULL;
  g_autofree gint64 (*ids)[PERIOD_COUNT] = NULL;
  g_autofree gint64 *scratch = NULL;

  G_STATIC_ASSERT ((int) MOLT_RETENTION_LAST == PERIOD_LAST);
  G_STATIC_ASSERT ((int) MOLT_RETENTION_YEARLY == PERIOD_YEAR);
  if (rule->last + rule->hourly + rule->daily + rule->weekly + rule->monthly + rule->yearly == 0)
    {
      for (guint i = 0; i < n; i++)
        kept_by[i] = MOLT_RETENTION_ALL;
      return;
    }
  marks = g_new0 (Mark, MAX (n, 1));
  ids = g_malloc_n (MAX (n, 1), sizeof *ids);
  scratch = g_new (gint64, 2 * MAX (n, 1));
  for (guint i = 0; i < n; i++)
    {
      period_ids (created[i], ids[i]);
      kept_by[i] = MOLT_RETENTION_PRUNED;
    }
  for (guint p = 0; p < PERIOD_COUNT; p++)
    mark_period (p, counts[p], ids, n, marks, kept_by, scratch);
}

void
molt_retention_mark (const MoltRetention *rule, const gint64 *created, guint n, gboolean *keep)
{
  g_autofree MoltRetentionClass *kept_by = g_new (MoltRetentionClass, MAX (n, 1));

  molt_retention_classify (rule, created, n, kept_by);
  for (guint i = 0; i < n; i++)
    keep[i] = kept_by[i] != MOLT_RETENTION_PRUNED;
}

const gchar *
molt_retention_class_to_string (MoltRetentionClass kept_by)
{
  static const gchar *const names[]
      = { "last", "hourly", "daily", "weekly", "monthly", "yearly", "all", "pruned" };

  G_STATIC_ASSERT (G_N_ELEMENTS (names) == MOLT_RETENTION_PRUNED + 1);
  return (guint) kept_by < G_N_ELEMENTS (names) ? names[kept_by] : "?";
}
