/* Policy files: valid ones, and every kind of error with its line. */
#include <string.h>
#include <unistd.h>

#include "molt-policy-parser.h"
#include <glib/gstdio.h>

#include "molt-test.h"

static GPtrArray *policies;
static GPtrArray *errors;

static gboolean
parse (const char *text)
{
  g_ptr_array_set_size (policies, 0);
  g_ptr_array_set_size (errors, 0);
  return molt_policy_parse_text ("p.conf", text, strlen (text), policies, errors);
}

static void
expect_error (const char *text, const char *message)
{
  CU_ASSERT_FALSE (parse (text));
  CU_ASSERT_EQUAL (policies->len, 0);
  CU_ASSERT_TRUE_FATAL (errors->len >= 1);
  MOLT_ASSERT_CONTAINS ((const char *) g_ptr_array_index (errors, 0), message);
}

static void
test_valid (void)
{
  MoltPolicy *p;
  gboolean ok = parse ("# nightly snapshots\n"
                       "[policy nightly]\n"
                       "domains = web-*, db1 ,\n"
                       "schedule = daily 02:30\n"
                       "memory = false\n"
                       "quiesce = required\n"
                       "snapshot-type = external\n"
                       "keep-last = 2\n"
                       "keep-daily = 7\n"
                       "keep-weekly = 4\n"
                       "keep-monthly = 6\n"
                       "keep-yearly = 1\n"
                       "warn-age = 26h\n"
                       "crit-age = 2d\n"
                       "metrics-file = /tmp/molt-test.prom\n"
                       "pre-snapshot = sh -c 'redis-cli save'\n"
                       "post-snapshot = /bin/true\n"
                       "guest-pre-snapshot = redis-cli save && sync\n"
                       "hook-timeout = 90s\n"
                       "on-failure = continue\n"
                       "\n"
                       "; another\n"
                       "[policy hourly]\n"
                       "domains=*\n"
                       "schedule=hourly :15\n"
                       "keep-hourly=24\n");

  CU_ASSERT_TRUE_FATAL (ok);
  CU_ASSERT_EQUAL_FATAL (policies->len, 2);
  p = g_ptr_array_index (policies, 0);
  CU_ASSERT_STRING_EQUAL (p->name, "nightly");
  CU_ASSERT_EQUAL (p->line, 2);
  CU_ASSERT_EQUAL (g_strv_length (p->domains), 2);
  CU_ASSERT_STRING_EQUAL (p->domains[1], "db1");
  CU_ASSERT_EQUAL (p->schedule.kind, MOLT_SCHEDULE_DAILY);
  CU_ASSERT_EQUAL (p->schedule.hour, 2);
  CU_ASSERT_EQUAL (p->schedule.minute, 30);
  CU_ASSERT_EQUAL (p->warn_age, 26 * 3600);
  CU_ASSERT_EQUAL (molt_policy_crit_age (p), 2 * 86400);
  CU_ASSERT_STRING_EQUAL (p->metrics_file, "/tmp/molt-test.prom");
  CU_ASSERT_STRING_EQUAL (p->pre_snapshot, "sh -c 'redis-cli save'");
  CU_ASSERT_STRING_EQUAL (p->post_snapshot, "/bin/true");
  CU_ASSERT_STRING_EQUAL (p->guest_pre_snapshot, "redis-cli save && sync");
  CU_ASSERT_EQUAL (p->hook_timeout_s, 90);
  CU_ASSERT_FALSE (p->hook_failure_aborts);
  CU_ASSERT_FALSE (p->memory);
  CU_ASSERT_EQUAL (p->quiesce, MOLT_QUIESCE_REQUIRED);
  CU_ASSERT_EQUAL (p->snapshot_type, MOLT_SNAPSHOT_TYPE_EXTERNAL);
  CU_ASSERT_EQUAL (p->keep.daily, 7);
  CU_ASSERT_EQUAL (p->keep.yearly, 1);
  CU_ASSERT_TRUE (molt_policy_matches_domain (p, "web-3"));
  CU_ASSERT_FALSE (molt_policy_matches_domain (p, "db2"));
  p = g_ptr_array_index (policies, 1);
  CU_ASSERT_EQUAL (p->schedule.kind, MOLT_SCHEDULE_HOURLY);
  CU_ASSERT_EQUAL (p->schedule.minute, 15);
  CU_ASSERT_TRUE (p->memory); /* default */
  CU_ASSERT_EQUAL (p->quiesce, MOLT_QUIESCE_BEST_EFFORT);
  CU_ASSERT_EQUAL (p->snapshot_type, MOLT_SNAPSHOT_TYPE_AUTO); /* default */
}

static void
test_schedules (void)
{
  MoltPolicy *p;

  CU_ASSERT_TRUE_FATAL (parse ("[policy w]\ndomains=a\nschedule = weekly Sunday 03:00\n"
                               "[policy m]\ndomains=a\nschedule = monthly 31 04:05\n"));
  p = g_ptr_array_index (policies, 0);
  CU_ASSERT_EQUAL (p->schedule.kind, MOLT_SCHEDULE_WEEKLY);
  CU_ASSERT_EQUAL (p->schedule.weekday, 7);
  p = g_ptr_array_index (policies, 1);
  CU_ASSERT_EQUAL (p->schedule.mday, 31);
  CU_ASSERT_EQUAL (p->schedule.minute, 5);
}

static void
test_errors (void)
{
  expect_error ("[policy a]\ndomains=x\nschedule = daily 25:00\n",
                "p.conf:3: schedule: 'daily 25:00' needs a time HH:MM");
  expect_error ("[policy a]\ndomains=x\nschedule = fortnightly\n",
                "p.conf:3: schedule: 'fortnightly' is not a schedule, allowed: hourly");
  expect_error ("[policy a]\ndomains=x\nschedule=weekly funday 01:00\n",
                "p.conf:3: schedule: 'weekly funday 01:00' needs a day (mon-sun)");
  expect_error ("[policy a]\ndomains=x\nschedule=monthly 32 01:00\n", "p.conf:3: schedule:");
  expect_error ("[policy a]\ndomains=x\nschedule=hourly\nkeep-daily = -1\n",
                "p.conf:4: keep-daily: '-1' is not a count, allowed: 0-100000");
  expect_error ("[policy a]\ndomains=x\nschedule=hourly\nmemory = maybe\n",
                "p.conf:4: memory: 'maybe' is not a boolean, allowed: true, false");
  expect_error (
      "[policy a]\ndomains=x\nschedule=hourly\nquiesce = always\n",
      "p.conf:4: quiesce: 'always' is not a quiesce mode, allowed: required, best-effort, off");
  expect_error ("[policy a]\ndomains=x\nschedule=hourly\nsnapshot-type = lvm\n",
                "p.conf:4: snapshot-type: 'lvm' is not a snapshot type, allowed: internal, "
                "external, auto");
  expect_error ("[policy a]\ndomains=x\nschedule=hourly\nguest-pre-snapshot =\n",
                "p.conf:4: guest-pre-snapshot: '' is empty, allowed: a shell command line of "
                "1-4096 bytes");
  expect_error ("[policy a]\ndomains=x\nschedule=hourly\ncolour = blue\n",
                "p.conf:4: colour: unknown key, allowed: domains, schedule");
  expect_error ("[policy a]\ndomains=x\nschedule=daily 02:30\nwarn-age = 20h\n",
                "p.conf:4: warn-age: 20h is shorter than the schedule allows: with 'daily 02:30' "
                "the newest snapshot is up to 1d15m old before the next is taken "
                "(molt-policy.timer runs every 15 minutes), allowed: 1d15m or more");
  expect_error ("[policy a]\ndomains=x\nwarn-age = 2d\ncrit-age = 1d\nschedule=daily 02:30\n",
                "p.conf:4: crit-age: 1d is not longer than warn-age (2d), allowed: longer than "
                "warn-age");
  expect_error ("[policy a]\ndomains=x\nschedule=weekly mon 02:30\ncrit-age = 8d\n",
                "p.conf:4: crit-age: 8d is not longer than warn-age (10d12h, derived from the "
                "schedule)");
  expect_error ("[policy a]\ndomains=x\nschedule=hourly\nwarn-age = soon\n",
                "p.conf:4: warn-age: 'soon' needs a number at 'soon', allowed: a duration such as "
                "36h, 2d, 1d12h, 90m");
  expect_error ("[policy a]\ndomains=x\nschedule=hourly\nmetrics-file = /nonexistent-dir/m.prom\n",
                "p.conf:4: metrics-file: '/nonexistent-dir/m.prom' cannot be written: its "
                "directory /nonexistent-dir: No such file or directory");
  expect_error ("[policy a]\ndomains=x\nschedule=hourly\npre-snapshot = /nonexistent/flush -a\n",
                "p.conf:4: pre-snapshot: '/nonexistent/flush -a' runs /nonexistent/flush, which "
                "cannot be executed: No such file or directory, allowed: an executable and its "
                "arguments");
  {
    /* No execute bit at all: refused even to root. */
    g_autofree char *plain = g_strdup_printf ("%s/molt-test-plain-%d", g_get_tmp_dir (), getpid ());
    g_autofree char *text
        = g_strdup_printf ("[policy a]\ndomains=x\nschedule=hourly\npre-snapshot = %s\n", plain);
    g_autofree char *message
        = g_strdup_printf ("p.conf:4: pre-snapshot: '%s' runs %s, which cannot be executed: "
                           "Permission denied",
                           plain, plain);
    CU_ASSERT_TRUE_FATAL (g_file_set_contents (plain, "#!/bin/sh\n", -1, NULL));
    g_chmod (plain, 0644);
    expect_error (text, message);
    g_unlink (plain);
  }
  expect_error ("[policy a]\ndomains=x\nschedule=hourly\npost-snapshot = /etc\n",
                "p.conf:4: post-snapshot: '/etc' runs /etc, which cannot be executed: a directory");
  expect_error ("[policy a]\ndomains=x\nschedule=hourly\npost-snapshot = molt-no-such-program\n",
                "p.conf:4: post-snapshot: 'molt-no-such-program' runs molt-no-such-program, which "
                "is not in PATH");
  expect_error ("[policy a]\ndomains=x\nschedule=hourly\npre-snapshot = /bin/true 'open\n",
                "p.conf:4: pre-snapshot: '/bin/true 'open' is not a command line: ");
  expect_error ("[policy a]\ndomains=x\nschedule=hourly\nhook-timeout = 2h\n",
                "p.conf:4: hook-timeout: '2h' is out of range, allowed: a duration from 1s to 1h");
  expect_error ("[policy a]\ndomains=x\nschedule=hourly\non-failure = ignore\n",
                "p.conf:4: on-failure: 'ignore' is not a hook failure mode, allowed: abort, "
                "continue");
  expect_error ("[policy a]\ndomains=x\nschedule=hourly\nmetrics-file = m.prom\n",
                "p.conf:4: metrics-file: 'm.prom' is not an absolute file path");
  expect_error ("[policy a]\ndomains=x\nschedule=hourly\nmetrics-file = /tmp\n",
                "p.conf:4: metrics-file: '/tmp' is a directory");
  expect_error ("[policy a]\ndomains=x\ndomains=y\nschedule=hourly\n",
                "p.conf:3: domains: given twice");
  expect_error ("[policy a]\nschedule=hourly\n", "p.conf:1: domains: missing in [policy a]");
  expect_error ("[policy a]\ndomains=x\n", "p.conf:1: schedule: missing in [policy a]");
  expect_error ("domains=x\n", "p.conf:1: domains: outside any section");
  expect_error ("[nightly]\n", "p.conf:1: section: '[nightly]' is not a policy");
  expect_error ("[policy a\n", "p.conf:1: section: '[policy a' lacks its ']'");
  expect_error ("[policy a/b]\n", "p.conf:1: section:");
  expect_error ("[policy a]\njust words\n", "p.conf:2: line: 'just words' is not KEY = VALUE");
  expect_error ("[policy a]\ndomains= , \nschedule=hourly\n", "p.conf:2: domains: is empty");
  expect_error ("\xff\xfe", "p.conf:1: file: not UTF-8 text");
}

static void
test_all_errors_reported (void)
{
  CU_ASSERT_FALSE (parse ("[policy a]\ndomains=x\nschedule=daily 99:99\nkeep-last=x\nbad\n"));
  CU_ASSERT_EQUAL (errors->len, 3);
}

static void
test_duplicate_names_across_files (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *dir = g_dir_make_tmp ("molt-policies-XXXXXX", &error);
  g_autofree gchar *a = g_build_filename (dir, "a.conf", NULL);
  g_autofree gchar *b = g_build_filename (dir, "b.conf", NULL);
  g_autofree gchar *ignored = g_build_filename (dir, "README", NULL);

  g_file_set_contents (a, "[policy n]\ndomains=x\nschedule=hourly\n", -1, NULL);
  g_file_set_contents (b, "\n[policy n]\ndomains=y\nschedule=hourly\n", -1, NULL);
  g_file_set_contents (ignored, "not a policy", -1, NULL);
  g_ptr_array_set_size (policies, 0);
  g_ptr_array_set_size (errors, 0);
  CU_ASSERT_FALSE (molt_policy_load_dir (dir, policies, errors));
  CU_ASSERT_EQUAL_FATAL (errors->len, 1);
  MOLT_ASSERT_CONTAINS ((const char *) g_ptr_array_index (errors, 0),
                        "b.conf:2: section: policy 'n' is already defined at");
  g_unlink (a);
  g_unlink (b);
  g_unlink (ignored);
  g_rmdir (dir);
}

int
main (void)
{
  static const MoltTestCase cases[] = {
    { "valid file", test_valid },
    { "schedule forms", test_schedules },
    { "each error with its line", test_errors },
    { "every error reported", test_all_errors_reported },
    { "duplicate names across files", test_duplicate_names_across_files },
    { NULL, NULL },
  };
  int ret;

  policies = g_ptr_array_new_with_free_func ((GDestroyNotify) molt_policy_free);
  errors = g_ptr_array_new_with_free_func (g_free);
  ret = molt_test_run ("policy-parser", cases);
  g_ptr_array_unref (policies);
  g_ptr_array_unref (errors);
  return ret;
}
