/* The job registry on disk: round trip, missing, corrupt, liveness. */
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "molt-job-registry.h"
#include "molt-protocol-error.h"
#include "molt-test.h"

static gchar *dir;

static gchar *
registry_path (const char *name)
{
  return g_build_filename (dir, name, NULL);
}

static MoltJob *
make_job (const char *name, gint pid)
{
  MoltJob *job = molt_job_new (name);
  const gchar *argv[] = { "sh", "-c", "echo \"quoted\"", NULL };
  const gchar *env[] = { "PATH=/bin", NULL };

  job->argv = g_strdupv ((gchar **) argv);
  job->env = g_strdupv ((gchar **) env);
  job->cwd = g_strdup ("/");
  job->log_path = g_strdup ("/var/lib/molt/jobs/x/output.log");
  job->host_pid = pid;
  job->ns_pid = 1;
  job->start_time = 1700000000;
  if (pid > 0)
    molt_proc_read_starttime (pid, &job->proc_starttime, NULL);
  return job;
}

static void
test_round_trip (void)
{
  g_autofree gchar *path = registry_path ("round.json");
  g_autoptr (MoltJobRegistry) a = molt_job_registry_new (path);
  g_autoptr (MoltJobRegistry) b = molt_job_registry_new (path);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) list = NULL;
  MoltJob *job;

  CU_ASSERT_TRUE (molt_job_registry_add (a, make_job ("one", getpid ()), &error));
  CU_ASSERT_TRUE (molt_job_registry_add (a, make_job ("two", getpid ()), &error));
  CU_ASSERT_TRUE (molt_job_registry_save (a, &error));
  MOLT_ASSERT_NO_ERROR (error);

  CU_ASSERT_TRUE (molt_job_registry_load (b, &error));
  MOLT_ASSERT_NO_ERROR (error);
  list = molt_job_registry_list (b);
  CU_ASSERT_EQUAL (list->len, 2);
  job = molt_job_registry_lookup (b, "one");
  CU_ASSERT_PTR_NOT_NULL_FATAL (job);
  CU_ASSERT_STRING_EQUAL (job->argv[2], "echo \"quoted\"");
  CU_ASSERT_EQUAL (job->host_pid, getpid ());
  CU_ASSERT_EQUAL (job->state, MOLT_JOB_STATE_RUNNING);
  CU_ASSERT_FALSE (molt_job_refresh (job)); /* we are alive */
  g_unlink (path);
}

static void
test_missing_is_empty (void)
{
  g_autofree gchar *path = registry_path ("missing.json");
  g_autoptr (MoltJobRegistry) r = molt_job_registry_new (path);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) list = NULL;

  CU_ASSERT_TRUE (molt_job_registry_load (r, &error));
  list = molt_job_registry_list (r);
  CU_ASSERT_EQUAL (list->len, 0);
}

static void
expect_corrupt (const char *contents, const char *needle)
{
  g_autofree gchar *path = registry_path ("corrupt.json");
  g_autoptr (MoltJobRegistry) r = molt_job_registry_new (path);
  g_autoptr (GError) error = NULL;

  g_file_set_contents (path, contents, -1, NULL);
  CU_ASSERT_FALSE (molt_job_registry_load (r, &error));
  MOLT_ASSERT_ERROR (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_PARSE);
  MOLT_ASSERT_CONTAINS (error->message, path);
  MOLT_ASSERT_CONTAINS (error->message, needle);
  g_unlink (path);
}

static void
test_corrupt (void)
{
  expect_corrupt ("{\"jobs\": [", "not valid JSON");
  expect_corrupt ("[]", "'jobs' array");
  expect_corrupt ("{\"jobs\": [{\"name\": \"x\"}]}", "job 0");
  expect_corrupt ("{\"jobs\": [{\"name\": \"../x\"}]}", "job name");
}

static void
test_dead_pid_and_replace (void)
{
  g_autofree gchar *path = registry_path ("dead.json");
  g_autoptr (MoltJobRegistry) r = molt_job_registry_new (path);
  g_autoptr (GError) error = NULL;
  MoltJob *job = make_job ("gone", getpid ());

  /* A wrong start time means the PID now belongs to someone else. */
  job->proc_starttime += 1;
  CU_ASSERT_TRUE (molt_job_registry_add (r, job, &error));
  CU_ASSERT_TRUE (molt_job_registry_refresh (r));
  CU_ASSERT_EQUAL (molt_job_registry_lookup (r, "gone")->state, MOLT_JOB_STATE_EXITED);
  /* An exited job's name can be reused; a running one's cannot. */
  CU_ASSERT_TRUE (molt_job_registry_add (r, make_job ("gone", getpid ()), &error));
  MOLT_ASSERT_NO_ERROR (error);
  CU_ASSERT_FALSE (molt_job_registry_add (r, make_job ("gone", getpid ()), &error));
  MOLT_ASSERT_ERROR (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_EXISTS);
}

int
main (void)
{
  static const MoltTestCase cases[] = {
    { "round trip", test_round_trip },
    { "missing file is empty", test_missing_is_empty },
    { "corrupt files name the problem", test_corrupt },
    { "dead pid and name reuse", test_dead_pid_and_replace },
    { NULL, NULL },
  };
  g_autoptr (GError) error = NULL;
  int ret;

  dir = g_dir_make_tmp ("molt-registry-XXXXXX", &error);
  g_assert_no_error (error);
  ret = molt_test_run ("job-registry", cases);
  g_rmdir (dir);
  g_free (dir);
  return ret;
}
