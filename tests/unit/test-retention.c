/* Retention: 400 days of `apply` every 15 minutes (every hour under valgrind) for several policies,
 * the retained set checked every day against expectations written here
 * independently of policies/molt-retention.c; plus a host that is off for
 * three days, and snapshots the policy did not take, which are never pruned. */
#include <string.h>

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

#include "molt-policy-plan.h"
#include "molt-retention.h"
#include "molt-schedule.h"
#include "molt-test.h"

#define STEP     (15 * 60)
#define DAY      86400
#define SIM_DAYS 400

typedef enum
{
  P_LAST,
  P_HOUR,
  P_DAY,
  P_WEEK,
  P_MONTH,
  P_YEAR
} Per;

/* Period keys as text, computed with strftime-style formatting: another
 * road than molt-retention.c's arithmetic. */
static gchar *
period_key (Per per, gint64 t)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (t);
  static const char *const formats[] = { NULL, "%Y-%m-%d %H", "%Y-%m-%d", "%G-W%V", "%Y-%m", "%Y" };
  return per == P_LAST ? g_strdup_printf ("%" G_GINT64_FORMAT, t)
                       : g_date_time_format (dt, formats[per]);
}

/* Proxmox prune-backups, restated from its documentation: for each option
 * in order, walk the backups newest first; a backup whose period already has
 * a kept backup is left alone; the first backup of a new period is kept
 * until COUNT periods were added; later backups of an added period are
 * marked for removal and no later option may keep them. */
static GHashTable *
expected_kept (const MoltRetention *r, GArray *times /* newest first */)
{
  GHashTable *kept = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  g_autoptr (GHashTable) removed
      = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  guint counts[] = { r->last, r->hourly, r->daily, r->weekly, r->monthly, r->yearly };

  if (r->last + r->hourly + r->daily + r->weekly + r->monthly + r->yearly == 0)
    {
      for (guint i = 0; i < times->len; i++)
        g_hash_table_add (kept, g_memdup2 (&g_array_index (times, gint64, i), sizeof (gint64)));
      return kept;
    }
  for (Per per = P_LAST; per <= P_YEAR; per++)
    {
      g_autoptr (GHashTable) covered
          = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      g_autoptr (GHashTable) added = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      GHashTableIter it;
      gpointer key;

      if (counts[per] == 0)
        continue;
      g_hash_table_iter_init (&it, kept);
      while (g_hash_table_iter_next (&it, &key, NULL))
        g_hash_table_add (covered, period_key (per, *(gint64 *) key));
      for (guint i = 0; i < times->len; i++)
        {
          gint64 t = g_array_index (times, gint64, i);
          g_autofree gchar *k = period_key (per, t);
          if (g_hash_table_contains (kept, &t) || g_hash_table_contains (removed, &t)
              || g_hash_table_contains (covered, k))
            continue;
          if (g_hash_table_contains (added, k))
            {
              g_hash_table_add (removed, g_memdup2 (&t, sizeof t));
              continue;
            }
          if (g_hash_table_size (added) >= counts[per])
            break;
          g_hash_table_add (added, g_steal_pointer (&k));
          g_hash_table_add (kept, g_memdup2 (&t, sizeof t));
        }
    }
  return kept;
}

typedef struct
{
  MoltPolicy policy;
  const char *schedule;
  MoltRetention keep;
  /* For single-rule policies: also check from first principles. */
  Per single;
  guint single_count;
} Case;

static const gchar *all_domains[] = { "vm-a", NULL };

static gint64
at (const char *iso)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_iso8601 (iso, NULL);
  return g_date_time_to_unix (dt);
}

/* First principles for one rule: the newest snapshot of each of the COUNT
 * most recent periods that have snapshots. */
static gboolean
single_rule_holds (Per per, guint count, GArray *retained /* newest first */, GArray *history)
{
  g_autoptr (GPtrArray) periods = g_ptr_array_new_with_free_func (g_free);
  guint expect = 0;

  for (guint i = 0; i < history->len; i++)
    {
      g_autofree gchar *k = period_key (per, g_array_index (history, gint64, i));
      gboolean seen = FALSE;
      for (guint j = 0; j < periods->len; j++)
        seen |= g_str_equal (g_ptr_array_index (periods, j), k);
      if (!seen && periods->len < count)
        {
          g_ptr_array_add (periods, g_steal_pointer (&k));
          expect++;
        }
    }
  if (retained->len != expect)
    return FALSE;
  for (guint i = 0; i < retained->len; i++)
    {
      g_autofree gchar *k = period_key (per, g_array_index (retained, gint64, i));
      if (!g_str_equal (g_ptr_array_index (periods, i), k))
        return FALSE;
    }
  return TRUE;
}

/* times (newest first) := the model's verdict on times + NOW. */
static void
oracle_add (GArray *times, const MoltRetention *keep, gint64 now)
{
  g_autoptr (GHashTable) kept = NULL;
  g_autoptr (GArray) next = g_array_new (FALSE, FALSE, sizeof (gint64));

  g_array_prepend_val (times, now);
  kept = expected_kept (keep, times);
  for (guint i = 0; i < times->len; i++)
    if (g_hash_table_contains (kept, &g_array_index (times, gint64, i)))
      g_array_append_val (next, g_array_index (times, gint64, i));
  g_array_set_size (times, 0);
  g_array_append_vals (times, next->data, next->len);
}

/* Both newest first. */
static gboolean
same_times (GArray *a, GArray *b)
{
  return a->len == b->len && memcmp (a->data, b->data, a->len * sizeof (gint64)) == 0;
}

static void
test_simulation (void)
{
  Case cases[] = {
    { .schedule = "hourly", .keep = { .hourly = 24 }, .single = P_HOUR, .single_count = 24 },
    { .schedule = "daily 02:30", .keep = { .daily = 7 }, .single = P_DAY, .single_count = 7 },
    { .schedule = "daily 02:30", .keep = { .weekly = 5 }, .single = P_WEEK, .single_count = 5 },
    { .schedule = "weekly sun 03:00",
      .keep = { .monthly = 4 },
      .single = P_MONTH,
      .single_count = 4 },
    { .schedule = "monthly 31 04:00",
      .keep = { .yearly = 2 },
      .single = P_YEAR,
      .single_count = 2 },
    { .schedule = "daily 02:30",
      .keep = { .last = 2, .daily = 7, .weekly = 4, .monthly = 6, .yearly = 2 },
      .single_count = 0 },
    { .schedule = "hourly :45",
      .keep = { .last = 3, .hourly = 6, .daily = 3, .weekly = 2 },
      .single_count = 0 },
  };
  g_autoptr (GPtrArray) policies = g_ptr_array_new ();
  g_autoptr (GPtrArray) domains
      = g_ptr_array_new_with_free_func ((GDestroyNotify) molt_domain_state_free);
  g_autoptr (GPtrArray) history = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  /* Per policy: what Proxmox's rules, restated above, keep, applied after
   * each snapshot the plan takes, to the set they kept before: the whole
   * history through an independent model, not molt's own state. */
  g_autoptr (GPtrArray) oracle = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  MoltDomainState *vm = molt_domain_state_new ("vm-a");
  gint64 start = at ("2025-12-20T00:07:00Z"); /* across a new year, a leap-free Feb */
  gint64 off_from = start + 100 * DAY, off_to = start + 103 * DAY;
  guint checks = 0, mismatches = 0, catchups = 0;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree gchar *why = NULL;
      cases[i].policy.name = g_strdup_printf ("p%u", i);
      cases[i].policy.domains = (GStrv) all_domains;
      cases[i].policy.keep = cases[i].keep;
      g_assert (molt_schedule_parse (cases[i].schedule, &cases[i].policy.schedule, &why));
      g_ptr_array_add (policies, &cases[i].policy);
      g_ptr_array_add (history, g_array_new (FALSE, FALSE, sizeof (gint64)));
      g_ptr_array_add (oracle, g_array_new (FALSE, FALSE, sizeof (gint64)));
    }
  g_ptr_array_add (domains, vm);
  /* Snapshots the policies did not take: a user's, a switch's, and one with
   * our prefix but no metadata. None may ever be pruned. */
  molt_domain_state_add (vm, "before-upgrade", "taken by hand");
  molt_domain_state_add (vm, "molt-switch-20251201T000000Z", "molt switch rollback point");
  molt_domain_state_add (vm, "molt-policy-p1-20251201T000000Z", "copied by hand");

  /* Under valgrind (scripts/check) an apply an hour: the same 400 days and
   * checks in a quarter of the plans (15-minute steps took 4 minutes of
   * CPU there); a plain run keeps the 15-minute steps. */
  const gint64 step = RUNNING_ON_VALGRIND ? 60 * 60 : STEP;

  for (gint64 now = start; now < start + SIM_DAYS * (gint64) DAY; now += step)
    {
      g_autoptr (GPtrArray) plan = NULL;

      if (now >= off_from && now < off_to)
        continue; /* the host is off */
      plan = molt_policy_plan (policies, domains, now);
      for (guint i = 0; i < plan->len; i++)
        {
          MoltPlanAction *a = g_ptr_array_index (plan, i);
          if (a->kind == MOLT_PLAN_CREATE)
            {
              g_autofree gchar *desc = molt_policy_snapshot_description (a->policy, now);
              molt_domain_state_add (vm, a->snapshot, desc);
              for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
                if (&cases[c].policy == a->policy)
                  {
                    g_array_prepend_val (g_ptr_array_index (history, c), now);
                    oracle_add (g_ptr_array_index (oracle, c), &cases[c].keep, now);
                  }
            }
          else
            molt_domain_state_remove (vm, a->snapshot);
        }

      /* The first apply after the host was off: exactly one snapshot for
       * each policy that was due while it was off, however many windows
       * it missed, and none for the others. */
      if (now == off_to)
        for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
          {
            guint creates = 0;
            gboolean missed = molt_schedule_last_due (&cases[c].policy.schedule, now) >= off_from;
            for (guint i = 0; i < plan->len; i++)
              {
                MoltPlanAction *a = g_ptr_array_index (plan, i);
                creates += a->kind == MOLT_PLAN_CREATE && a->policy == &cases[c].policy;
              }
            if (creates != (missed ? 1u : 0u))
              g_printerr ("\n  catch-up of %s: %u snapshots, expected %u", cases[c].schedule,
                          creates, missed ? 1 : 0);
            CU_ASSERT_EQUAL (creates, missed ? 1u : 0u);
            catchups += missed;
          }

      if ((now - start) % DAY != DAY - step)
        continue;
      /* Once a day: compare the retained set with the expectations. */
      for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
        {
          g_autoptr (GArray) retained = g_array_new (FALSE, FALSE, sizeof (gint64));
          g_autoptr (GHashTable) expect = NULL;
          GArray *hist = g_ptr_array_index (history, c);
          gboolean ok;

          for (guint s = 0; s < vm->snapshots->len; s++)
            {
              MoltSnapshotRef *ref = &g_array_index (vm->snapshots, MoltSnapshotRef, s);
              gint64 t;
              if (molt_policy_snapshot_owned (&cases[c].policy, ref->name, ref->description, &t))
                g_array_append_val (retained, t);
            }
          /* newest first, as the history is */
          for (guint x = 0; x < retained->len; x++)
            for (guint y = x + 1; y < retained->len; y++)
              if (g_array_index (retained, gint64, y) > g_array_index (retained, gint64, x))
                {
                  gint64 tmp = g_array_index (retained, gint64, x);
                  g_array_index (retained, gint64, x) = g_array_index (retained, gint64, y);
                  g_array_index (retained, gint64, y) = tmp;
                }
          /* Exactly what the independent model kept over the whole history. */
          ok = same_times (retained, g_ptr_array_index (oracle, c));
          /* And the policy's pruning, applied to what is retained, changes
           * nothing. */
          expect = expected_kept (&cases[c].keep, retained);
          ok &= g_hash_table_size (expect) == retained->len;
          if (cases[c].single_count > 0)
            ok &= single_rule_holds (cases[c].single, cases[c].single_count, retained, hist);
          checks++;
          if (!ok)
            {
              mismatches++;
              if (mismatches < 5)
                g_printerr ("\n  day %" G_GINT64_FORMAT ", policy %s: %u retained, %u expected",
                            (now - start) / DAY, cases[c].schedule, retained->len,
                            g_hash_table_size (expect));
            }
        }
      /* Never pruned: what the policies did not take. */
      {
        guint foreign = 0;
        for (guint s = 0; s < vm->snapshots->len; s++)
          {
            MoltSnapshotRef *ref = &g_array_index (vm->snapshots, MoltSnapshotRef, s);
            foreign += g_str_equal (ref->name, "before-upgrade")
                       || g_str_has_prefix (ref->name, "molt-switch-")
                       || g_str_equal (ref->description, "copied by hand");
          }
        CU_ASSERT_EQUAL (foreign, 3);
      }
    }
  CU_ASSERT_EQUAL (mismatches, 0);
  CU_ASSERT_TRUE (checks >= (SIM_DAYS - 4) * G_N_ELEMENTS (cases));
  /* The off window (three days) covers every schedule but the monthly one. */
  CU_ASSERT_TRUE (catchups >= G_N_ELEMENTS (cases) - 1);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    g_free (cases[i].policy.name);
}

/* Every combination of the six keep options (each 0 or a small count)
 * against the model, on irregular histories (several snapshots in one
 * hour, gaps of weeks, across year ends): molt_retention_mark keeps
 * exactly what the model keeps. */
static void
test_every_combination (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (20261126);
  guint mismatches = 0, runs = 0;

  for (guint combo = 0; combo < 64; combo++)
    for (guint round = 0; round < 20; round++)
      {
        MoltRetention r = {
          .last = combo & 1 ? g_rand_int_range (rand, 1, 4) : 0,
          .hourly = combo & 2 ? g_rand_int_range (rand, 1, 5) : 0,
          .daily = combo & 4 ? g_rand_int_range (rand, 1, 6) : 0,
          .weekly = combo & 8 ? g_rand_int_range (rand, 1, 5) : 0,
          .monthly = combo & 16 ? g_rand_int_range (rand, 1, 5) : 0,
          .yearly = combo & 32 ? g_rand_int_range (rand, 1, 3) : 0,
        };
        g_autoptr (GArray) times = g_array_new (FALSE, FALSE, sizeof (gint64));
        g_autoptr (GHashTable) expect = NULL;
        g_autofree gboolean *keep = NULL;
        gint64 t = at ("2027-01-03T12:00:00Z");
        guint n = g_rand_int_range (rand, 1, 120);

        /* newest first: walk back in steps from minutes to weeks */
        for (guint i = 0; i < n; i++)
          {
            static const gint64 steps[]
                = { 60, 1800, 3600, 5 * 3600, DAY, 3 * DAY, 9 * DAY, 40 * DAY };
            g_array_append_val (times, t);
            t -= steps[g_rand_int_range (rand, 0, G_N_ELEMENTS (steps))]
                 + g_rand_int_range (rand, 1, 600);
          }
        keep = g_new0 (gboolean, n);
        molt_retention_mark (&r, (gint64 *) times->data, n, keep);
        expect = expected_kept (&r, times);
        for (guint i = 0; i < n; i++)
          if (keep[i] != g_hash_table_contains (expect, &g_array_index (times, gint64, i)))
            {
              if (mismatches++ < 5)
                g_printerr ("\n  keep last=%u hourly=%u daily=%u weekly=%u monthly=%u yearly=%u: "
                            "snapshot %u of %u kept=%d, the model says %d",
                            r.last, r.hourly, r.daily, r.weekly, r.monthly, r.yearly, i, n, keep[i],
                            !keep[i]);
              break;
            }
        runs++;
      }
  CU_ASSERT_EQUAL (mismatches, 0);
  CU_ASSERT_EQUAL (runs, 64 * 20);
}

/* The worked example of docs/policies.md, by hand. */
static void
test_worked_example (void)
{
  MoltRetention r = { .last = 1, .daily = 2, .weekly = 1 };
  const char *iso[] = {
    "2026-03-04T02:30:00Z", /* Wed: keep-last */
    "2026-03-03T14:00:00Z", /* Tue: keep-daily (1st new day) */
    "2026-03-03T02:30:00Z", /* Tue, same day: removed */
    "2026-03-02T02:30:00Z", /* Mon: keep-daily (2nd new day) */
    "2026-03-01T02:30:00Z", /* Sun, ISO week 9: keep-weekly */
    "2026-02-28T02:30:00Z", /* Sat, week 9 again: pruned */
  };
  const gboolean expect[] = { TRUE, TRUE, FALSE, TRUE, TRUE, FALSE };
  gint64 t[G_N_ELEMENTS (iso)];
  gboolean keep[G_N_ELEMENTS (iso)];

  for (guint i = 0; i < G_N_ELEMENTS (iso); i++)
    t[i] = at (iso[i]);
  molt_retention_mark (&r, t, G_N_ELEMENTS (iso), keep);
  for (guint i = 0; i < G_N_ELEMENTS (iso); i++)
    {
      if (keep[i] != expect[i])
        g_printerr ("\n  %s: keep=%d, expected %d", iso[i], keep[i], expect[i]);
      CU_ASSERT_EQUAL (keep[i], expect[i]);
    }
}

int
main (void)
{
  static const MoltTestCase cases[] = {
    { "worked example", test_worked_example },
    { "every combination of keep options", test_every_combination },
    { "400 days every 15 minutes", test_simulation },
    { NULL, NULL },
  };
  return molt_test_run ("retention", cases);
}
