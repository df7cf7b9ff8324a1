/* Schedules: every form, month ends, leap years, clock going backwards. */
#include "molt-policy-plan.h"
#include "molt-schedule.h"
#include "molt-test.h"

static gint64
at (const char *iso)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_iso8601 (iso, NULL);
  g_assert (dt != NULL);
  return g_date_time_to_unix (dt);
}

static MoltSchedule
sched (const char *text)
{
  MoltSchedule s = { 0 };
  g_autofree gchar *why = NULL;
  g_assert (molt_schedule_parse (text, &s, &why));
  return s;
}

#define DUE(text, now, expected)                                                                   \
  do                                                                                               \
    {                                                                                              \
      MoltSchedule s_ = sched (text);                                                              \
      gint64 got_ = molt_schedule_last_due (&s_, at (now));                                        \
      if (got_ != at (expected))                                                                   \
        g_printerr ("\n  %s at %s: got %" G_GINT64_FORMAT "\n", text, now, got_);                  \
      CU_ASSERT_EQUAL (got_, at (expected));                                                       \
    }                                                                                              \
  while (0)

static void
test_hourly (void)
{
  DUE ("hourly", "2026-03-01T10:00:00Z", "2026-03-01T10:00:00Z");
  DUE ("hourly", "2026-03-01T10:59:59Z", "2026-03-01T10:00:00Z");
  DUE ("hourly :15", "2026-03-01T10:14:59Z", "2026-03-01T09:15:00Z");
  DUE ("hourly :15", "2026-01-01T00:05:00Z", "2025-12-31T23:15:00Z");
}

static void
test_daily (void)
{
  DUE ("daily 02:30", "2026-03-01T02:30:00Z", "2026-03-01T02:30:00Z");
  DUE ("daily 02:30", "2026-03-01T02:29:00Z", "2026-02-28T02:30:00Z");
  DUE ("daily 23:59", "2024-03-01T00:00:00Z", "2024-02-29T23:59:00Z"); /* leap day */
}

static void
test_weekly (void)
{
  /* 2026-03-01 is a Sunday. */
  DUE ("weekly sun 03:00", "2026-03-01T03:00:00Z", "2026-03-01T03:00:00Z");
  DUE ("weekly sun 03:00", "2026-03-01T02:00:00Z", "2026-02-22T03:00:00Z");
  DUE ("weekly mon 00:00", "2026-03-01T12:00:00Z", "2026-02-23T00:00:00Z");
  DUE ("weekly wed 12:00", "2026-01-01T00:00:00Z", "2025-12-31T12:00:00Z");
}

static void
test_monthly (void)
{
  DUE ("monthly 1 04:00", "2026-03-01T04:00:00Z", "2026-03-01T04:00:00Z");
  DUE ("monthly 1 04:00", "2026-03-01T03:00:00Z", "2026-02-01T04:00:00Z");
  /* Past a month's end: its last day. */
  DUE ("monthly 31 00:00", "2026-03-15T00:00:00Z", "2026-02-28T00:00:00Z");
  DUE ("monthly 31 00:00", "2024-03-15T00:00:00Z", "2024-02-29T00:00:00Z");
  DUE ("monthly 31 00:00", "2026-04-30T01:00:00Z", "2026-04-30T00:00:00Z");
  DUE ("monthly 30 00:00", "2026-03-01T00:00:00Z", "2026-02-28T00:00:00Z");
  DUE ("monthly 15 12:00", "2026-01-10T00:00:00Z", "2025-12-15T12:00:00Z");
}

/* The clock goes backwards: a snapshot "from the future" counts as recent,
 * so nothing is created twice. */
static void
test_clock_backwards (void)
{
  MoltPolicy policy = { .name = (gchar *) "p", .schedule = sched ("daily 02:00") };
  const gchar *all[] = { "*", NULL };
  g_autoptr (GPtrArray) policies = g_ptr_array_new ();
  g_autoptr (GPtrArray) domains
      = g_ptr_array_new_with_free_func ((GDestroyNotify) molt_domain_state_free);
  g_autoptr (GPtrArray) plan = NULL;
  MoltDomainState *d = molt_domain_state_new ("vm");
  g_autofree gchar *name = molt_policy_snapshot_name (&policy, at ("2026-03-02T02:00:00Z"));
  g_autofree gchar *desc = molt_policy_snapshot_description (&policy, at ("2026-03-02T02:00:00Z"));

  policy.domains = (GStrv) all;
  g_ptr_array_add (policies, &policy);
  g_ptr_array_add (domains, d);
  molt_domain_state_add (d, name, desc);
  plan = molt_policy_plan (policies, domains, at ("2026-03-01T05:00:00Z"));
  CU_ASSERT_EQUAL (plan->len, 0);
}

int
main (void)
{
  static const MoltTestCase cases[] = {
    { "hourly", test_hourly },
    { "daily", test_daily },
    { "weekly", test_weekly },
    { "monthly, month ends, leap years", test_monthly },
    { "clock going backwards", test_clock_backwards },
    { NULL, NULL },
  };
  return molt_test_run ("schedule", cases);
}
