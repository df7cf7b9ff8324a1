#include "molt-retention.h"

typedef enum
{
  MARK_NONE,
  MARK_KEEP,
  MARK_REMOVE,
} Mark;

typedef enum
{
  PERIOD_LAST,
  PERIOD_HOUR,
  PERIOD_DAY,
  PERIOD_WEEK,
  PERIOD_MONTH,
  PERIOD_YEAR,
} Period;

/* An id that is equal for two times in the same period. */
static gint64
period_id (Period period, gint64 t)
{
  g_autoptr (GDateTime) dt = NULL;

  switch (period)
    {
    case PERIOD_LAST:
      return t;
    case PERIOD_HOUR:
      return t >= 0 ? t / 3600 : (t - 3599) / 3600;
    case PERIOD_DAY:
      return t >= 0 ? t / 86400 : (t - 86399) / 86400;
    default:
      break;
    }
  dt = g_date_time_new_from_unix_utc (t);
  switch (period)
    {
    case PERIOD_WEEK:
      return (gint64) g_date_time_get_week_numbering_year (dt) * 100
             + g_date_time_get_week_of_year (dt);
    case PERIOD_MONTH:
      return (gint64) g_date_time_get_year (dt) * 100 + g_date_time_get_month (dt);
    case PERIOD_YEAR:
    default:
      return g_date_time_get_year (dt);
    }
}

static void
mark_period (Period period, guint count, const gint64 *created, guint n, Mark *marks)
{
  g_autoptr (GHashTable) already = NULL;
  g_autoptr (GHashTable) newly = NULL;

  if (count == 0)
    return;
  already = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  newly = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  for (guint i = 0; i < n; i++)
    if (marks[i] == MARK_KEEP)
      g_hash_table_add (already,
                        g_memdup2 (&(gint64){ period_id (period, created[i]) }, sizeof (gint64)));
  for (guint i = 0; i < n; i++)
    {
      gint64 id = period_id (period, created[i]);

      if (marks[i] != MARK_NONE || g_hash_table_contains (already, &id))
        continue;
      if (!g_hash_table_contains (newly, &id))
        {
          if (g_hash_table_size (newly) >= count)
            break;
          g_hash_table_add (newly, g_memdup2 (&id, sizeof id));
          marks[i] = MARK_KEEP;
        }
      else
        marks[i] = MARK_REMOVE;
    }
}

void
molt_retention_mark (const MoltRetention *rule, const gint64 *created, guint n, gboolean *keep)
{
  g_autofree Mark *marks = g_new0 (Mark, MAX (n, 1));

  if (rule->last + rule->hourly + rule->daily + rule->weekly + rule->monthly + rule->yearly == 0)
    {
      for (guint i = 0; i < n; i++)
        keep[i] = TRUE;
      return;
    }
  mark_period (PERIOD_LAST, rule->last, created, n, marks);
  mark_period (PERIOD_HOUR, rule->hourly, created, n, marks);
  mark_period (PERIOD_DAY, rule->daily, created, n, marks);
  mark_period (PERIOD_WEEK, rule->weekly, created, n, marks);
  mark_period (PERIOD_MONTH, rule->monthly, created, n, marks);
  mark_period (PERIOD_YEAR, rule->yearly, created, n, marks);
  for (guint i = 0; i < n; i++)
    keep[i] = marks[i] == MARK_KEEP;
}
