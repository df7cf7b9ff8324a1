/* The policy run history and the metrics file, on a real directory:
 * append and read back, a damaged file, the size bound, the metrics'
 * text format and its atomic replacement. */
#include <string.h>

#include <glib/gstdio.h>

#include "molt-policy-history.h"
#include "molt-policy-report.h"

#include "molt-test.h"

static JsonArray *
actions (const char *json)
{
  g_autoptr (JsonNode) node = json_from_string (json, NULL);

  return json_array_ref (json_node_get_array (node));
}

static void
test_append_and_read (void)
{
  g_autofree char *dir = molt_test_tmpdir_new ("history");
  g_autoptr (JsonArray) first = actions (
      "[{\"action\":\"create\",\"domain\":\"web1\",\"policy\":\"nightly\",\"snapshot\":\"s1\","
      "\"status\":\"done\",\"message\":\"taken\"}]");
  g_autoptr (JsonArray) second = actions (
      "[{\"action\":\"delete\",\"domain\":\"web1\",\"policy\":\"nightly\",\"snapshot\":\"s0\","
      "\"status\":\"failed\",\"message\":\"cannot delete: busy\"},"
      "{\"action\":\"create\",\"domain\":\"db1\",\"policy\":\"nightly\",\"snapshot\":\"s2\","
      "\"status\":\"done\",\"message\":\"taken\"}]");
  g_autoptr (GError) error = NULL;
  g_autoptr (MoltPolicyHistory) history = NULL;
  MoltPolicyLastRun last;
  gdouble seconds = 0;
  gboolean ok = TRUE;

  /* In one run, the failed action shows, not the prune after it. */
  g_autoptr (JsonArray) third = actions (
      "[{\"action\":\"create\",\"domain\":\"db1\",\"policy\":\"nightly\",\"snapshot\":\"s3\","
      "\"status\":\"failed\",\"message\":\"no space\"},"
      "{\"action\":\"delete\",\"domain\":\"db1\",\"policy\":\"nightly\",\"snapshot\":\"s2\","
      "\"status\":\"skipped\",\"message\":\"kept\"}]");

  CU_ASSERT_TRUE (molt_policy_history_append (dir, 1000, 1.25, first, &error));
  CU_ASSERT_TRUE (molt_policy_history_append (dir, 2000, 2.5, second, &error));
  MOLT_ASSERT_NO_ERROR (error);
  CU_ASSERT_TRUE (molt_policy_history_append (dir, 3000, 0.5, third, &error));
  history = molt_policy_history_load (dir, &error);
  CU_ASSERT_PTR_NOT_NULL_FATAL (history);
  last = molt_policy_history_last_action (history, "nightly", "web1");
  CU_ASSERT_EQUAL (last.at, 2000);
  CU_ASSERT_STRING_EQUAL (last.action, "delete");
  CU_ASSERT_STRING_EQUAL (last.status, "failed");
  CU_ASSERT_STRING_EQUAL (last.message, "cannot delete: busy");
  CU_ASSERT_EQUAL (molt_policy_history_last_action (history, "other", "web1").at, 0);
  CU_ASSERT_STRING_EQUAL (molt_policy_history_last_action (history, "nightly", "db1").status,
                          "failed");
  CU_ASSERT_STRING_EQUAL (molt_policy_history_last_action (history, "nightly", "db1").message,
                          "no space");
  CU_ASSERT_EQUAL (molt_policy_history_last_run (history, &seconds, &ok), 3000);
  CU_ASSERT_DOUBLE_EQUAL (seconds, 0.5, 0.001);
  CU_ASSERT_FALSE (ok);
  CU_ASSERT_EQUAL (molt_policy_history_skipped_lines (history), 0);
  molt_test_tmpdir_remove (g_steal_pointer (&dir));
}

/* A missing file is no history; garbage lines and a cut last line are
 * skipped, the rest is read. */
static void
test_damaged (void)
{
  g_autofree char *dir = molt_test_tmpdir_new ("history");
  g_autofree char *path = g_build_filename (dir, MOLT_POLICY_HISTORY_FILE, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (MoltPolicyHistory) empty = molt_policy_history_load (dir, &error);
  g_autoptr (MoltPolicyHistory) history = NULL;
  const char *text = "not json\n"
                     "[1,2]\n"
                     "{\"at\":5,\"action\":\"create\",\"domain\":\"d\",\"policy\":\"p\","
                     "\"status\":\"done\"}\n"
                     "{\"no-at\":1}\n"
                     "{\"at\":9,\"action\":\"create\",\"dom";

  CU_ASSERT_PTR_NOT_NULL_FATAL (empty);
  CU_ASSERT_EQUAL (molt_policy_history_last_action (empty, "p", "d").at, 0);
  CU_ASSERT_TRUE_FATAL (g_file_set_contents (path, text, -1, NULL));
  history = molt_policy_history_load (dir, &error);
  CU_ASSERT_PTR_NOT_NULL_FATAL (history);
  CU_ASSERT_EQUAL (molt_policy_history_last_action (history, "p", "d").at, 5);
  CU_ASSERT_EQUAL (molt_policy_history_skipped_lines (history), 4);
  molt_test_tmpdir_remove (g_steal_pointer (&dir));
}

/* Past the bound the older half goes; every line left is whole and the
 * newest run is there. */
static void
test_bounded (void)
{
  g_autofree char *dir = molt_test_tmpdir_new ("history");
  g_autofree char *path = g_build_filename (dir, MOLT_POLICY_HISTORY_FILE, NULL);
  g_autoptr (JsonArray) one = actions (
      "[{\"action\":\"create\",\"domain\":\"web1\",\"policy\":\"nightly\",\"snapshot\":\"s\","
      "\"status\":\"done\",\"message\":\"quiesced: jobs and filesystems frozen\"}]");
  g_autoptr (MoltPolicyHistory) history = NULL;
  g_autoptr (GError) error = NULL;
  GStatBuf st;
  gint64 runs = MOLT_POLICY_HISTORY_MAX_BYTES / 150;

  for (gint64 i = 1; i <= runs; i++)
    CU_ASSERT_TRUE_FATAL (molt_policy_history_append (dir, i, 0.5, one, &error));
  CU_ASSERT_EQUAL_FATAL (g_stat (path, &st), 0);
  CU_ASSERT_TRUE (st.st_size <= MOLT_POLICY_HISTORY_MAX_BYTES);
  CU_ASSERT_TRUE (st.st_size >= MOLT_POLICY_HISTORY_MAX_BYTES / 2 - 400);
  history = molt_policy_history_load (dir, &error);
  CU_ASSERT_PTR_NOT_NULL_FATAL (history);
  CU_ASSERT_EQUAL (molt_policy_history_skipped_lines (history), 0);
  CU_ASSERT_EQUAL (molt_policy_history_last_action (history, "nightly", "web1").at, runs);
  molt_test_tmpdir_remove (g_steal_pointer (&dir));
}

static void
test_append_error (void)
{
  g_autoptr (JsonArray) none = actions ("[]");
  g_autoptr (GError) error = NULL;

  CU_ASSERT_FALSE (molt_policy_history_append ("/proc/molt-no-such-dir", 1, 0, none, &error));
  CU_ASSERT_PTR_NOT_NULL_FATAL (error);
  MOLT_ASSERT_CONTAINS (error->message, "cannot create /proc/molt-no-such-dir: ");
}

static void
test_metrics (void)
{
  g_autofree char *dir = molt_test_tmpdir_new ("metrics");
  g_autofree char *path = g_build_filename (dir, "molt.prom", NULL);
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) statuses
      = g_ptr_array_new_with_free_func ((GDestroyNotify) molt_policy_status_free);
  g_autoptr (JsonArray) run = actions (
      "[{\"action\":\"create\",\"domain\":\"we\\\"b\\\\1\",\"policy\":\"nightly\","
      "\"status\":\"done\",\"quiesce\":\"failed\"},"
      "{\"action\":\"delete\",\"domain\":\"we\\\"b\\\\1\",\"policy\":\"nightly\","
      "\"status\":\"done\"},"
      "{\"action\":\"delete\",\"domain\":\"db1\",\"policy\":\"nightly\",\"status\":\"failed\"}]");
  MoltPolicy policy = { .name = "nightly",
                        .metrics_file = path,
                        .schedule = { .kind = MOLT_SCHEDULE_DAILY, .hour = 2, .minute = 30 } };
  MoltPolicy other = { .name = "weekly", .metrics_file = (gchar *) "/elsewhere.prom" };
  gint64 created[] = { 5000 };
  g_autofree gchar *partial = NULL;

  g_ptr_array_add (statuses, molt_policy_status_new (&policy, "we\"b\\1", created, 1, NULL, 6000));
  g_ptr_array_add (statuses, molt_policy_status_new (&policy, "db1", NULL, 0, NULL, 6000));
  g_ptr_array_add (statuses, molt_policy_status_new (&other, "db1", NULL, 0, NULL, 6000));
  CU_ASSERT_TRUE_FATAL (molt_policy_metrics_write (path, statuses, run, 6000, 1.5, &error));
  CU_ASSERT_TRUE_FATAL (g_file_get_contents (path, &text, NULL, NULL));
  MOLT_ASSERT_CONTAINS (text, "# TYPE molt_policy_last_success_timestamp_seconds gauge\n");
  MOLT_ASSERT_CONTAINS (text, "molt_policy_last_success_timestamp_seconds{domain=\"we\\\"b\\\\1\","
                              "policy=\"nightly\"} 5000\n");
  MOLT_ASSERT_CONTAINS (
      text, "molt_policy_last_success_timestamp_seconds{domain=\"db1\",policy=\"nightly\"} 0\n");
  MOLT_ASSERT_CONTAINS (text, "molt_policy_snapshots_kept{domain=\"db1\",policy=\"nightly\"} 0\n");
  MOLT_ASSERT_CONTAINS (text, "molt_policy_health{domain=\"db1\",policy=\"nightly\"} 1\n");
  MOLT_ASSERT_CONTAINS (text,
                        "molt_policy_last_run_success{domain=\"db1\",policy=\"nightly\"} 0\n");
  MOLT_ASSERT_CONTAINS (
      text,
      "molt_policy_last_run_snapshots_pruned{domain=\"we\\\"b\\\\1\",policy=\"nightly\"} 1\n");
  MOLT_ASSERT_CONTAINS (
      text,
      "molt_policy_last_run_quiesce_failures{domain=\"we\\\"b\\\\1\",policy=\"nightly\"} 1\n");
  MOLT_ASSERT_CONTAINS (text, "molt_policy_apply_last_run_timestamp_seconds 6000\n");
  MOLT_ASSERT_CONTAINS (text, "molt_policy_apply_last_run_duration_seconds 1.500\n");
  MOLT_ASSERT_CONTAINS (text, "molt_policy_apply_last_run_success 0\n");
  /* Another file's policy is not in this one. */
  CU_ASSERT_PTR_NULL (strstr (text, "weekly"));
  /* No temporary file is left beside it for node_exporter to find. */
  {
    g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
    const char *name;
    while ((name = g_dir_read_name (d)) != NULL)
      CU_ASSERT_STRING_EQUAL (name, "molt.prom");
  }
  partial = g_build_filename (dir, "missing", "molt.prom", NULL);
  CU_ASSERT_FALSE (molt_policy_metrics_write (partial, statuses, run, 6000, 1.5, &error));
  CU_ASSERT_PTR_NOT_NULL_FATAL (error);
  MOLT_ASSERT_CONTAINS (error->message, "cannot write the metrics: ");
  MOLT_ASSERT_CONTAINS (error->message, "No such file or directory");
  molt_test_tmpdir_remove (g_steal_pointer (&dir));
}

int
main (void)
{
  static const MoltTestCase cases[] = {
    { "append and read back", test_append_and_read },
    { "a damaged history", test_damaged },
    { "bounded", test_bounded },
    { "an unwritable state directory", test_append_error },
    { "metrics file", test_metrics },
    { NULL, NULL },
  };

  return molt_test_run ("policy-history", cases);
}
