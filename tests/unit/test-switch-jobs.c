/* Judging a switch and a rollback from the agent's job lists: what passes,
 * what fails and with which message, and hostile lists. */
#include <signal.h>
#include <string.h>

#include "molt-host-error.h"
#include "molt-message.h"
#include "molt-switch-jobs.h"
#include "molt-switch-sockets.h"
#include "molt-test.h"

static JsonNode *
parse_node (const gchar *text)
{
  g_autoptr (GError) error = NULL;
  JsonNode *node = molt_json_parse_bounded (text, &error);

  MOLT_ASSERT_NO_ERROR (error);
  return node;
}

static JsonArray *
parse (const gchar *text)
{
  g_autoptr (JsonNode) node = parse_node (text);

  return json_array_ref (json_node_get_array (node));
}

static JsonObject *
parse_object (const gchar *text)
{
  g_autoptr (JsonNode) node = parse_node (text);

  return json_object_ref (json_node_get_object (node));
}

#define BEFORE                                                                                     \
  "[{\"name\":\"a\",\"state\":\"frozen\",\"pid\":100,\"ns-pid\":1,\"frozen-at-us\":1000000},"      \
  " {\"name\":\"idle\",\"state\":\"exited\",\"exit-status\":0}]"

static gchar *
verify_switch (const gchar *after_text, JsonArray **report_out)
{
  g_autoptr (JsonArray) before = parse (BEFORE);
  g_autoptr (JsonArray) after = parse (after_text);
  g_autoptr (JsonArray) report = json_array_new ();
  g_autoptr (GError) error = NULL;

  if (molt_switch_jobs_verify_switch (before, after, 0, report, &error))
    {
      if (report_out != NULL)
        *report_out = g_steal_pointer (&report);
      return NULL;
    }
  CU_ASSERT_EQUAL (json_array_get_length (report), 0);
  return g_strdup (error->message);
}

static void
test_switch_good (void)
{
  g_autoptr (JsonArray) report = NULL;
  g_autofree gchar *message
      = verify_switch ("[{\"name\":\"a\",\"state\":\"running\",\"pid\":7,\"ns-pid\":1,"
                       "\"resumed-at-us\":3500000,\"ns-pids-at-checkpoint\":\"1 2\","
                       "\"ns-pids-at-restore\":\"1 2\"}]",
                       &report);
  JsonObject *job;

  CU_ASSERT_PTR_NULL (message);
  CU_ASSERT_EQUAL_FATAL (json_array_get_length (report), 1);
  job = json_array_get_object_element (report, 0);
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (job, "name"), "a");
  CU_ASSERT_EQUAL (json_object_get_int_member (job, "pid-before"), 100);
  CU_ASSERT_EQUAL (json_object_get_int_member (job, "pid-after"), 7);
  CU_ASSERT_DOUBLE_EQUAL (json_object_get_double_member (job, "downtime-s"), 2.5, 1e-9);
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (job, "downtime-clock"), "guest");
}

static void
expect_switch_failure (const gchar *after, const gchar *needle)
{
  g_autofree gchar *message = verify_switch (after, NULL);

  CU_ASSERT_PTR_NOT_NULL_FATAL (message);
  MOLT_ASSERT_CONTAINS (message, needle);
}

static void
test_switch_failures (void)
{
  expect_switch_failure ("[]", "job a is missing after the switch");
  expect_switch_failure ("[{\"name\":\"a\",\"state\":\"restore-failed\",\"ns-pid\":1,"
                         "\"restore-error\":\"file /x changed\"}]",
                         "did not come back (state restore-failed): file /x changed");
  /* A restarted job has a new namespace init: its PID there differs. */
  expect_switch_failure ("[{\"name\":\"a\",\"state\":\"running\",\"ns-pid\":2,"
                         "\"ns-pids-at-checkpoint\":\"1\",\"ns-pids-at-restore\":\"1\"}]",
                         "PID 2 in its namespace, was 1");
  expect_switch_failure ("[{\"name\":\"a\",\"state\":\"running\",\"ns-pid\":1,"
                         "\"ns-pids-at-checkpoint\":\"1 2 3\",\"ns-pids-at-restore\":\"1 2\"}]",
                         "other PIDs in its namespace (1 2, was 1 2 3)");
  expect_switch_failure ("[{\"name\":\"a\",\"state\":\"running\",\"ns-pid\":1}]",
                         "did not report job a's namespace PIDs");
}

static void
test_switch_hostile (void)
{
  /* The switch used to read these with defaults, pass NULL to %s and
   * subtract guest numbers unchecked. */
  expect_switch_failure ("[{\"name\":{},\"state\":\"running\"}]",
                         "has an object as member 'name', not a string");
  expect_switch_failure ("[{\"state\":\"running\"}]", "lacks a string member 'name'");
  expect_switch_failure ("[{\"name\":\"a\",\"state\":\"running\",\"ns-pid\":1,"
                         "\"resumed-at-us\":9223372036854775807}]",
                         "outside");
  expect_switch_failure ("[{\"name\":\"a\",\"state\":\"running\",\"ns-pid\":\"1\"}]",
                         "a string as member 'ns-pid', not an integer");
  expect_switch_failure ("[5]", "an integer as element 0, not an object");
}

static void
test_switch_clock_backwards (void)
{
  g_autoptr (JsonArray) report = NULL;
  g_autofree gchar *message = verify_switch ("[{\"name\":\"a\",\"state\":\"running\",\"ns-pid\":1,"
                                             "\"resumed-at-us\":5,\"ns-pids-at-checkpoint\":\"1\","
                                             "\"ns-pids-at-restore\":\"1\"}]",
                                             &report);

  CU_ASSERT_PTR_NULL (message);
  CU_ASSERT_FALSE (
      json_object_has_member (json_array_get_object_element (report, 0), "downtime-s"));

  /* With what the host measured, that stands in as an upper bound, and
   * the report says whose clock it is. */
  {
    g_autoptr (JsonArray) before = parse (BEFORE);
    g_autoptr (JsonArray) after
        = parse ("[{\"name\":\"a\",\"state\":\"running\",\"ns-pid\":1,\"resumed-at-us\":5,"
                 "\"ns-pids-at-checkpoint\":\"1\",\"ns-pids-at-restore\":\"1\"}]");
    g_autoptr (JsonArray) bounded = json_array_new ();
    g_autoptr (GError) error = NULL;
    JsonObject *job;

    CU_ASSERT_TRUE_FATAL (molt_switch_jobs_verify_switch (before, after, 14.5, bounded, &error));
    job = json_array_get_object_element (bounded, 0);
    CU_ASSERT_DOUBLE_EQUAL (json_object_get_double_member (job, "downtime-s"), 14.5, 1e-9);
    CU_ASSERT_STRING_EQUAL (json_object_get_string_member (job, "downtime-clock"), "host");
  }
}

static void
test_rollback_report (void)
{
  g_autoptr (JsonArray) before = parse (
      "[{\"name\":\"a\",\"state\":\"frozen\",\"ns-pid\":1},{\"name\":\"b\",\"state\":\"frozen\","
      "\"ns-pid\":1},{\"name\":\"c\",\"state\":\"frozen\",\"ns-pid\":1},"
      "{\"name\":\"old\",\"state\":\"exited\"}]");
  g_autofree gchar *after_text
      = g_strdup_printf ("[{\"name\":\"a\",\"state\":\"running\",\"ns-pid\":1},"
                         "{\"name\":\"b\",\"state\":\"exited\",\"ns-pid\":1,\"exit-status\":%d}]",
                         SIGPIPE);
  g_autoptr (JsonArray) after = parse (after_text);
  g_autoptr (JsonArray) report = json_array_new ();
  g_autofree gchar *summary = NULL;

  CU_ASSERT_EQUAL (molt_switch_jobs_verify_rollback (before, after, NULL, report, &summary), 2);
  CU_ASSERT_EQUAL_FATAL (json_array_get_length (report), 3);
  CU_ASSERT_STRING_EQUAL (
      json_object_get_string_member (json_array_get_object_element (report, 0), "state"),
      "running");
  CU_ASSERT_STRING_EQUAL (
      json_object_get_string_member (json_array_get_object_element (report, 1), "state"), "gone");
  MOLT_ASSERT_CONTAINS (summary, "job b is gone (killed by signal 13");
  MOLT_ASSERT_CONTAINS (summary, "job c is gone (no longer in the agent's job list)");
}

static void
test_rollback_unknown (void)
{
  g_autoptr (JsonArray) before = parse ("[{\"name\":\"a\",\"state\":\"frozen\",\"ns-pid\":1}]");
  g_autoptr (JsonArray) report = json_array_new ();
  g_autofree gchar *summary = NULL;
  g_autoptr (GError) why = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                                                "no reply to 'job-list' within 10000 ms");

  CU_ASSERT_EQUAL (molt_switch_jobs_verify_rollback (before, NULL, why, report, &summary), 1);
  CU_ASSERT_STRING_EQUAL (
      json_object_get_string_member (json_array_get_object_element (report, 0), "state"),
      "unknown");
  /* The cause is kept, not only the verdict. */
  MOLT_ASSERT_CONTAINS (summary, "job a is unknown (the agent could not be asked: no reply to "
                                 "'job-list' within 10000 ms)");
}

static void
test_restorable (void)
{
  g_autoptr (JsonArray) fine
      = parse ("[{\"name\":\"a\",\"state\":\"running\",\"pid\":120,\"ns-pid\":1},"
               "{\"name\":\"b\",\"state\":\"exited\",\"pid\":130,\"ns-pid\":130}]");
  g_autoptr (JsonArray) shared
      = parse ("[{\"name\":\"tool\",\"state\":\"running\",\"pid\":140,\"ns-pid\":140}]");
  g_autoptr (GError) error = NULL;

  CU_ASSERT_TRUE (molt_switch_jobs_check_restorable (fine, &error));
  MOLT_ASSERT_NO_ERROR (error);
  CU_ASSERT_FALSE (molt_switch_jobs_check_restorable (shared, &error));
  CU_ASSERT_PTR_NOT_NULL_FATAL (error);
  MOLT_ASSERT_CONTAINS (error->message, "job tool runs in the guest's own PID namespace");
}

/* The preflight's checkpoint-blockers, as the host reads them. */
static gchar *
blockers_error (const gchar *text)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = molt_json_parse_bounded (text, &error);

  MOLT_ASSERT_NO_ERROR (error);
  if (molt_switch_jobs_check_blockers (json_node_get_object (node), &error))
    return NULL;
  CU_ASSERT_PTR_NOT_NULL_FATAL (error);
  return g_strdup (error->message);
}

static void
test_blockers (void)
{
  g_autofree gchar *one = NULL, *many = NULL, *wrong = NULL, *not_text = NULL;

  /* An agent that does not inspect, and one that found nothing. */
  CU_ASSERT_PTR_NULL (blockers_error ("{}"));
  CU_ASSERT_PTR_NULL (blockers_error ("{\"checkpoint-blockers\":[]}"));
  one = blockers_error ("{\"checkpoint-blockers\":[{\"job\":\"db\",\"reasons\":"
                        "[\"pid 9 (db) has /dev/fuse open\",\"pid 9 (db) maps /x\"]}]}");
  CU_ASSERT_PTR_NOT_NULL_FATAL (one);
  CU_ASSERT_STRING_EQUAL (one, "CRIU cannot checkpoint job db: pid 9 (db) has /dev/fuse open, "
                               "pid 9 (db) maps /x; nothing was frozen: change what the job "
                               "holds, or stop it ('molt stop'), and switch again");
  /* Five jobs with five reasons each: the first three of each, counted. */
  {
    g_autoptr (GString) text = g_string_new ("{\"checkpoint-blockers\":[");
    for (int j = 0; j < 5; j++)
      {
        g_string_append_printf (text, "%s{\"job\":\"j%d\",\"reasons\":[", j > 0 ? "," : "", j);
        for (int r = 0; r < 5; r++)
          g_string_append_printf (text, "%s\"r%d\"", r > 0 ? "," : "", r);
        g_string_append (text, "]}");
      }
    g_string_append (text, "]}");
    many = blockers_error (text->str);
  }
  CU_ASSERT_PTR_NOT_NULL_FATAL (many);
  MOLT_ASSERT_CONTAINS (many, "job j0: r0, r1, r2 (and 2 more); job j1:");
  MOLT_ASSERT_CONTAINS (many, "job j2: r0, r1, r2 (and 2 more); and 2 more jobs; nothing");
  CU_ASSERT_PTR_NULL (strstr (many, "j3"));
  /* The guest is untrusted: wrong types are protocol errors. */
  wrong = blockers_error ("{\"checkpoint-blockers\":[{\"job\":1,\"reasons\":[]}]}");
  CU_ASSERT_PTR_NOT_NULL_FATAL (wrong);
  MOLT_ASSERT_CONTAINS (wrong, "checkpoint-blockers[0]");
  not_text = blockers_error ("{\"checkpoint-blockers\":[{\"job\":\"a\",\"reasons\":[{}]}]}");
  CU_ASSERT_PTR_NOT_NULL_FATAL (not_text);
  MOLT_ASSERT_CONTAINS (not_text, "checkpoint-blockers[0].reasons[0] is not a string");
}

/* The preflight's socket counts: checked into the report, and a restart
 * over established TCP refused, naming the jobs and the way out. */
static void
test_sockets (void)
{
  g_autoptr (JsonObject) good = parse_object (
      "{\"sockets\":[{\"job\":\"db\",\"tcp-established\":3,\"tcp-listen\":1,\"unix\":2},"
      "{\"job\":\"batch\",\"udp\":1}]}");
  g_autoptr (JsonObject) none = parse_object ("{}");
  g_autoptr (JsonObject) negative
      = parse_object ("{\"sockets\":[{\"job\":\"x\",\"tcp-established\":-1}]}");
  g_autoptr (JsonObject) nameless = parse_object ("{\"sockets\":[{\"udp\":1}]}");
  g_autoptr (JsonArray) sockets = NULL;
  g_autoptr (JsonArray) empty = NULL;
  g_autoptr (GError) error = NULL;
  JsonObject *db;

  sockets = molt_switch_sockets_read (good, &error);
  MOLT_ASSERT_NO_ERROR (error);
  CU_ASSERT_EQUAL_FATAL (json_array_get_length (sockets), 2);
  db = json_array_get_object_element (sockets, 0);
  CU_ASSERT_EQUAL (json_object_get_int_member (db, "tcp-established"), 3);
  CU_ASSERT_EQUAL (json_object_get_int_member (db, "udp"), 0);
  CU_ASSERT_FALSE (molt_switch_sockets_check_restart (sockets, &error));
  CU_ASSERT_PTR_NOT_NULL_FATAL (error);
  MOLT_ASSERT_CONTAINS (error->message, "established TCP connections would be lost: job db (3);");
  MOLT_ASSERT_CONTAINS (error->message, "--method kexec");
  MOLT_ASSERT_CONTAINS (error->message, "--tcp close");
  CU_ASSERT_PTR_NULL (strstr (error->message, "batch"));
  g_clear_error (&error);

  empty = molt_switch_sockets_read (none, &error);
  MOLT_ASSERT_NO_ERROR (error);
  CU_ASSERT_EQUAL (json_array_get_length (empty), 0);
  CU_ASSERT_TRUE (molt_switch_sockets_check_restart (empty, &error));

  CU_ASSERT_PTR_NULL (molt_switch_sockets_read (negative, &error));
  MOLT_ASSERT_CONTAINS (error->message, "switch-preflight.sockets[0]");
  g_clear_error (&error);
  CU_ASSERT_PTR_NULL (molt_switch_sockets_read (nameless, &error));
  MOLT_ASSERT_CONTAINS (error->message, "'job'");
}

int
main (void)
{
  static const MoltTestCase cases[] = {
    { "a switch every job survived", test_switch_good },
    { "a switch a job did not survive", test_switch_failures },
    { "hostile job lists", test_switch_hostile },
    { "a guest clock that went backwards", test_switch_clock_backwards },
    { "rollback: running, gone", test_rollback_report },
    { "rollback: the agent cannot be asked", test_rollback_unknown },
    { "a job without its own PID namespace", test_restorable },
    { "jobs CRIU cannot checkpoint, found by the preflight", test_blockers },
    { "the jobs' sockets, and a restart over established TCP", test_sockets },
    { NULL, NULL },
  };
  return molt_test_run ("switch-jobs", cases);
}
