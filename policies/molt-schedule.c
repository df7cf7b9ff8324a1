#include <stdlib.h>
#include <string.h>

#include "molt-schedule.h"

static gint64
utc (gint year, gint month, gint day, gint hour, gint minute)
{
  g_autoptr (GDateTime) dt = g_date_time_new_utc (year, month, day, hour, minute, 0);
  return g_date_time_to_unix (dt);
}

static gint
days_in_month (gint year, gint month)
{
  return g_date_get_days_in_month ((GDateMonth) month, (GDateYear) year);
}

gint64
molt_schedule_last_due (const MoltSchedule *s, gint64 now)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (now);
  gint year = g_date_time_get_year (dt), month = g_date_time_get_month (dt);
  gint day = g_date_time_get_day_of_month (dt), hour = g_date_time_get_hour (dt);
  gint64 t;

  switch (s->kind)
    {
    case MOLT_SCHEDULE_HOURLY:
      t = utc (year, month, day, hour, s->minute);
      return t <= now ? t : t - 3600;
    case MOLT_SCHEDULE_DAILY:
      t = utc (year, month, day, s->hour, s->minute);
      return t <= now ? t : t - 86400;
    case MOLT_SCHEDULE_WEEKLY:
      {
        gint back = (g_date_time_get_day_of_week (dt) - s->weekday + 7) % 7;
        t = utc (year, month, day, s->hour, s->minute) - (gint64) back * 86400;
        return t <= now ? t : t - 7 * 86400;
      }
    case MOLT_SCHEDULE_MONTHLY:
      t = utc (year, month, MIN (s->mday, days_in_month (year, month)), s->hour, s->minute);
      if (t <= now)
        return t;
      if (--month == 0)
        {
          month = 12;
          year--;
        }
      return utc (year, month, MIN (s->mday, days_in_month (year, month)), s->hour, s->minute);
    case MOLT_SCHEDULE_LAST:
    default:
      return now;
    }
}

gint64
molt_schedule_period (const MoltSchedule *s)
{
  switch (s->kind)
    {
    case MOLT_SCHEDULE_HOURLY:
      return 3600;
    case MOLT_SCHEDULE_DAILY:
      return 86400;
    case MOLT_SCHEDULE_WEEKLY:
      return 7 * 86400;
    case MOLT_SCHEDULE_MONTHLY:
    case MOLT_SCHEDULE_LAST:
    default:
      return 31 * 86400;
    }
}

gint64
molt_schedule_next_due (const MoltSchedule *s, gint64 now)
{
  gint64 last = molt_schedule_last_due (s, now);
  gint64 lo = now, hi = now + molt_schedule_period (s);

  /* last_due is a step function: the first instant after now where it
   * changes is the next one due. Bisection needs no calendar rules of its
   * own (a monthly 31 in February, leap years), so it cannot disagree with
   * last_due. */
  while (hi - lo > 1)
    {
      gint64 mid = lo + (hi - lo) / 2;

      if (molt_schedule_last_due (s, mid) != last)
        hi = mid;
      else
        lo = mid;
    }
  return hi;
}

static gboolean
parse_number (const gchar *text, gint min, gint max, gint *out)
{
  gchar *end = NULL;
  glong value;

  if (text == NULL || !g_ascii_isdigit (text[0]) || strlen (text) > 2)
    return FALSE;
  value = strtol (text, &end, 10);
  if (*end != '\0' || value < min || value > max)
    return FALSE;
  *out = (gint) value;
  return TRUE;
}

static gboolean
parse_time (const gchar *text, MoltSchedule *out)
{
  g_auto (GStrv) parts = g_strsplit (text, ":", -1);

  return g_strv_length (parts) == 2 && parse_number (parts[0], 0, 23, &out->hour)
         && strlen (parts[1]) == 2 && parse_number (parts[1], 0, 59, &out->minute);
}

static gint
parse_weekday (const gchar *text)
{
  static const gchar *const names[]
      = { "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday" };
  g_autofree gchar *lower = g_ascii_strdown (text, -1);

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_str_equal (lower, names[i])
        || (strlen (lower) == 3 && g_str_has_prefix (names[i], lower)))
      return (gint) i + 1;
  return 0;
}

gboolean
molt_schedule_parse (const gchar *text, MoltSchedule *out, gchar **why)
{
  g_auto (GStrv) words = g_strsplit_set (text, " \t", -1);
  g_autoptr (GPtrArray) w = g_ptr_array_new ();
  MoltSchedule s = { 0 };

  for (guint i = 0; words[i] != NULL; i++)
    if (words[i][0] != '\0')
      g_ptr_array_add (w, words[i]);
  if (w->len == 0)
    {
      *why = g_strdup ("is empty");
      return FALSE;
    }
  if (g_str_equal (w->pdata[0], "hourly"))
    {
      s.kind = MOLT_SCHEDULE_HOURLY;
      if (w->len == 2 && ((gchar *) w->pdata[1])[0] == ':' && strlen ((gchar *) w->pdata[1]) == 3
          && parse_number ((gchar *) w->pdata[1] + 1, 0, 59, &s.minute))
        ;
      else if (w->len != 1)
        {
          *why = g_strdup ("takes only an optional minute, as in 'hourly :15'");
          return FALSE;
        }
    }
  else if (g_str_equal (w->pdata[0], "daily"))
    {
      s.kind = MOLT_SCHEDULE_DAILY;
      if (w->len != 2 || !parse_time (w->pdata[1], &s))
        {
          *why = g_strdup ("needs a time HH:MM (00:00-23:59), as in 'daily 02:30'");
          return FALSE;
        }
    }
  else if (g_str_equal (w->pdata[0], "weekly"))
    {
      s.kind = MOLT_SCHEDULE_WEEKLY;
      if (w->len != 3 || (s.weekday = parse_weekday (w->pdata[1])) == 0
          || !parse_time (w->pdata[2], &s))
        {
          *why = g_strdup ("needs a day (mon-sun) and a time HH:MM, as in 'weekly sun 03:00'");
          return FALSE;
        }
    }
  else if (g_str_equal (w->pdata[0], "monthly"))
    {
      s.kind = MOLT_SCHEDULE_MONTHLY;
      if (w->len != 3 || !parse_number (w->pdata[1], 1, 31, &s.mday)
          || !parse_time (w->pdata[2], &s))
        {
          *why = g_strdup ("needs a day of the month (1-31; past a month's end means its last "
                           "day) and a time HH:MM, as in 'monthly 1 04:00'");
          return FALSE;
        }
    }
  else
    {
      *why = g_strdup ("is not a schedule");
      return FALSE;
    }
  *out = s;
  return TRUE;
}
