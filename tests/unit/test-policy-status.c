/* molt policy status without libvirt: thresholds and health with the time
 * injected, retention classes, the next due time, durations. */
#include "molt-duration.h"
#include "molt-policy-status.h"
#include "molt-schedule.h"

#include "molt-test.h"

#define HOUR 3600
#define DAY  86400
/* 2026-03-05T02:30:00Z, a Thursday: a daily 02:30 policy's due instant. */
#define T0 G_GINT64_CONSTANT (1772677800)

static MoltPolicy *
daily_policy (void)
{
  MoltPolicy *p = g_new0 (MoltPolicy, 1);

  p->name = g_strdup ("nightly");
  p->schedule = (MoltSchedule){ .kind = MOLT_SCHEDULE_DAILY, .hour = 2, .minute = 30 };
  p->keep.daily = 3;
  return p;
}

static MoltPolicyStatus *
status_at (const MoltPolicy *p, const gint64 *created, guint n, const MoltPolicyLastRun *last,
           gint64 now)
{
  return molt_policy_status_new (p, "web1", created, n, last, now);
}

/* Daily: warn after 1.5 days, critical after 2.5 (one more period). */
static void
test_default_thresholds (void)
{
  g_autoptr (MoltPolicy) p = daily_policy ();
  gint64 created[] = { T0 };
  g_autoptr (MoltPolicyStatus) fresh = status_at (p, created, 1, NULL, T0 + DAY + 15 * 60);
  g_autoptr (MoltPolicyStatus) warn = status_at (p, created, 1, NULL, T0 + 36 * HOUR + 1);
  g_autoptr (MoltPolicyStatus) edge = status_at (p, created, 1, NULL, T0 + 36 * HOUR);
  g_autoptr (MoltPolicyStatus) crit = status_at (p, created, 1, NULL, T0 + 60 * HOUR + 1);

  CU_ASSERT_EQUAL (fresh->warn_age, 36 * HOUR);
  CU_ASSERT_EQUAL (fresh->crit_age, 60 * HOUR);
  CU_ASSERT_EQUAL (fresh->health, MOLT_HEALTH_OK);
  CU_ASSERT_STRING_EQUAL (fresh->summary, "newest snapshot 1d15m old");
  CU_ASSERT_EQUAL (edge->health, MOLT_HEALTH_OK);
  CU_ASSERT_EQUAL (warn->health, MOLT_HEALTH_WARNING);
  CU_ASSERT_STRING_EQUAL (warn->summary, "newest snapshot 1d12h old (warn-age 1d12h)");
  CU_ASSERT_EQUAL (crit->health, MOLT_HEALTH_CRITICAL);
  CU_ASSERT_STRING_EQUAL (crit->summary, "newest snapshot 2d12h old (crit-age 2d12h)");
}

static void
test_policy_thresholds (void)
{
  g_autoptr (MoltPolicy) p = daily_policy ();
  gint64 created[] = { T0 };
  g_autoptr (MoltPolicyStatus) warn_only = NULL;
  g_autoptr (MoltPolicyStatus) both = NULL;

  p->warn_age = 26 * HOUR;
  warn_only = status_at (p, created, 1, NULL, T0 + 27 * HOUR);
  CU_ASSERT_EQUAL (warn_only->health, MOLT_HEALTH_WARNING);
  /* A warn-age alone moves crit-age with it: one period more. */
  CU_ASSERT_EQUAL (warn_only->crit_age, 50 * HOUR);
  p->crit_age = 30 * HOUR;
  both = status_at (p, created, 1, NULL, T0 + 31 * HOUR);
  CU_ASSERT_EQUAL (both->health, MOLT_HEALTH_CRITICAL);
}

static void
test_no_snapshot (void)
{
  g_autoptr (MoltPolicy) p = daily_policy ();
  MoltPolicyLastRun failed = { .at = T0,
                               .action = "create",
                               .status = "failed",
                               .message = "cannot snapshot domain 'web1': disk full" };
  g_autoptr (MoltPolicyStatus) none = status_at (p, NULL, 0, NULL, T0);
  g_autoptr (MoltPolicyStatus) none_failed = status_at (p, NULL, 0, &failed, T0 + 60);

  CU_ASSERT_EQUAL (none->health, MOLT_HEALTH_WARNING);
  CU_ASSERT_STRING_EQUAL (none->summary, "no snapshot yet");
  CU_ASSERT_EQUAL (none_failed->health, MOLT_HEALTH_CRITICAL);
  CU_ASSERT_STRING_EQUAL (none_failed->summary, "no snapshot yet; the last run failed to create: "
                                                "cannot snapshot domain 'web1': disk full");
  CU_ASSERT_EQUAL (none_failed->last_run_at, T0);
}

/* A failure after the newest snapshot warns while it is fresh; one before
 * it (since fixed) does not. */
static void
test_failed_run (void)
{
  g_autoptr (MoltPolicy) p = daily_policy ();
  gint64 created[] = { T0 };
  MoltPolicyLastRun after
      = { .at = T0 + HOUR, .action = "delete", .status = "failed", .message = "snapshot is busy" };
  MoltPolicyLastRun before
      = { .at = T0 - DAY, .action = "create", .status = "failed", .message = "old trouble" };
  MoltPolicyLastRun done = { .at = T0 + HOUR, .action = "delete", .status = "done" };
  g_autoptr (MoltPolicyStatus) st_after = status_at (p, created, 1, &after, T0 + 2 * HOUR);
  g_autoptr (MoltPolicyStatus) st_before = status_at (p, created, 1, &before, T0 + 2 * HOUR);
  g_autoptr (MoltPolicyStatus) st_done = status_at (p, created, 1, &done, T0 + 2 * HOUR);
  g_autoptr (MoltPolicyStatus) st_old = status_at (p, created, 1, &after, T0 + 3 * DAY);

  CU_ASSERT_EQUAL (st_after->health, MOLT_HEALTH_WARNING);
  MOLT_ASSERT_CONTAINS (st_after->summary, "the last run failed to delete: snapshot is busy");
  CU_ASSERT_EQUAL (st_before->health, MOLT_HEALTH_OK);
  CU_ASSERT_EQUAL (st_done->health, MOLT_HEALTH_OK);
  CU_ASSERT_STRING_EQUAL (st_done->last_run_status, "done");
  CU_ASSERT_EQUAL (st_old->health, MOLT_HEALTH_CRITICAL);
}

/* Which option keeps what, as the retention would prune it next. */
static void
test_kept_classes (void)
{
  g_autoptr (MoltPolicy) p = daily_policy ();
  /* Unsorted on purpose: libvirt lists by name, not by age. */
  gint64 created[] = { T0 - 2 * DAY, T0, T0 - 3 * DAY, T0 - DAY, T0 - HOUR };
  g_autoptr (MoltPolicyStatus) st = NULL;

  p->keep.last = 1;
  st = status_at (p, created, G_N_ELEMENTS (created), NULL, T0 + HOUR);
  CU_ASSERT_EQUAL (st->newest, T0);
  CU_ASSERT_EQUAL (st->snapshots, 5);
  CU_ASSERT_EQUAL (st->kept_by[MOLT_RETENTION_LAST], 1);
  /* T0 - 1h (01:30) shares T0's day, which keep-last covers: pruned;
   * then days -1, -2, -3: daily 3. */
  CU_ASSERT_EQUAL (st->kept_by[MOLT_RETENTION_DAILY], 3);
  CU_ASSERT_EQUAL (st->kept_by[MOLT_RETENTION_PRUNED], 1);
}

static void
test_next_due (void)
{
  MoltSchedule daily = { .kind = MOLT_SCHEDULE_DAILY, .hour = 2, .minute = 30 };
  MoltSchedule monthly = { .kind = MOLT_SCHEDULE_MONTHLY, .mday = 31, .hour = 0, .minute = 0 };
  MoltSchedule hourly = { .kind = MOLT_SCHEDULE_HOURLY, .minute = 15 };

  CU_ASSERT_EQUAL (molt_schedule_next_due (&daily, T0), T0 + DAY);
  CU_ASSERT_EQUAL (molt_schedule_next_due (&daily, T0 - 1), T0);
  CU_ASSERT_EQUAL (molt_schedule_next_due (&hourly, T0), T0 - 15 * 60 + HOUR);
  /* From 2026-02-10: the 31st of February is its last day, the 28th. */
  CU_ASSERT_EQUAL (molt_schedule_next_due (&monthly, G_GINT64_CONSTANT (1770681600)),
                   G_GINT64_CONSTANT (1772236800));
}

static void
test_worst (void)
{
  CU_ASSERT_EQUAL (molt_health_worst (MOLT_HEALTH_OK, MOLT_HEALTH_WARNING), MOLT_HEALTH_WARNING);
  CU_ASSERT_EQUAL (molt_health_worst (MOLT_HEALTH_UNKNOWN, MOLT_HEALTH_WARNING),
                   MOLT_HEALTH_UNKNOWN);
  CU_ASSERT_EQUAL (molt_health_worst (MOLT_HEALTH_UNKNOWN, MOLT_HEALTH_CRITICAL),
                   MOLT_HEALTH_CRITICAL);
  CU_ASSERT_STRING_EQUAL (molt_health_to_string (MOLT_HEALTH_CRITICAL), "CRITICAL");
}

static void
test_durations (void)
{
  struct
  {
    const char *text;
    gint64 seconds;
  } good[] = { { "36h", 36 * HOUR }, { "2d", 2 * DAY }, { "1d12h", 36 * HOUR },
               { "90m", 90 * 60 },   { "1w", 7 * DAY }, { "1h30m15s", HOUR + 30 * 60 + 15 } };
  const char *bad[] = { "", "h", "12", "1x", "-1d", "1h2d", "1d1d", "1 d", "99999999d", "3650w" };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      gint64 s = -1;
      g_autofree gchar *why = NULL;
      CU_ASSERT_TRUE (molt_duration_parse (good[i].text, &s, &why));
      CU_ASSERT_EQUAL (s, good[i].seconds);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      gint64 s = -1;
      g_autofree gchar *why = NULL;
      CU_ASSERT_FALSE (molt_duration_parse (bad[i], &s, &why));
      CU_ASSERT_PTR_NOT_NULL (why);
    }
  {
    g_autofree gchar *a = molt_duration_format (36 * HOUR + 59);
    g_autofree gchar *b = molt_duration_format (0);
    g_autofree gchar *c = molt_duration_format (9 * DAY);
    g_autofree gchar *d = molt_duration_format (-90);
    CU_ASSERT_STRING_EQUAL (a, "1d12h");
    CU_ASSERT_STRING_EQUAL (b, "0s");
    CU_ASSERT_STRING_EQUAL (c, "9d");
    CU_ASSERT_STRING_EQUAL (d, "-1m30s");
  }
}

int
main (void)
{
  static const MoltTestCase cases[] = {
    { "default thresholds from the schedule", test_default_thresholds },
    { "the policy's thresholds", test_policy_thresholds },
    { "no snapshot yet", test_no_snapshot },
    { "a failed run", test_failed_run },
    { "kept per retention option", test_kept_classes },
    { "next due time", test_next_due },
    { "worst health", test_worst },
    { "durations", test_durations },
    { NULL, NULL },
  };

  return molt_test_run ("policy-status", cases);
}
