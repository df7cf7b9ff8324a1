/* Policy hooks: real processes. Environment, exit status and the last
 * line of output, the timeout killing the hook's whole group, output
 * capped, a hook that leaves a daemon holding its output. */
#include <signal.h>
#include <string.h>

#include "molt-hook.h"

#include "molt-test.h"

static gboolean
run (const char *command, guint timeout_s, gchar **output, GError **error)
{
  const gchar *env[] = { "MOLT_DOMAIN=web1", "MOLT_RESULT=done", NULL };

  return molt_hook_run ("pre-snapshot", command, timeout_s, env, output, error);
}

static void
test_ok_with_environment (void)
{
  g_autofree gchar *output = NULL;
  g_autoptr (GError) error = NULL;

  CU_ASSERT_TRUE (run ("/bin/sh -c 'echo \"$MOLT_DOMAIN $MOLT_RESULT\"; echo to-stderr >&2'", 5,
                       &output, &error));
  MOLT_ASSERT_NO_ERROR (error);
  CU_ASSERT_STRING_EQUAL (output, "web1 done\nto-stderr\n");
}

static void
test_exit_status (void)
{
  g_autofree gchar *output = NULL;
  g_autoptr (GError) error = NULL;

  CU_ASSERT_FALSE (
      run ("/bin/sh -c 'echo flushing; echo \"redis: NOAUTH\" >&2; exit 3'", 5, &output, &error));
  CU_ASSERT_PTR_NOT_NULL_FATAL (error);
  CU_ASSERT_STRING_EQUAL (error->message,
                          "pre-snapshot hook /bin/sh exited with status 3: redis: NOAUTH");
}

static void
test_signal (void)
{
  g_autofree gchar *output = NULL;
  g_autoptr (GError) error = NULL;

  CU_ASSERT_FALSE (run ("/bin/sh -c 'kill -TERM $$'", 5, &output, &error));
  CU_ASSERT_PTR_NOT_NULL_FATAL (error);
  MOLT_ASSERT_CONTAINS (error->message, "pre-snapshot hook /bin/sh was killed by signal 15");
}

/* The timeout kills the hook and what it started (its process group). */
static void
test_timeout_kills_group (void)
{
  g_autofree gchar *output = NULL;
  g_autofree gchar *pidfile
      = g_strdup_printf ("%s/molt-hook-child-%d", g_get_tmp_dir (), getpid ());
  g_autofree gchar *command
      = g_strdup_printf ("/bin/sh -c 'sleep 60 & echo $! > %s; echo waiting; wait'", pidfile);
  g_autofree gchar *text = NULL;
  g_autoptr (GError) error = NULL;
  gint64 started = g_get_monotonic_time ();

  CU_ASSERT_FALSE (run (command, 1, &output, &error));
  CU_ASSERT_TRUE (g_get_monotonic_time () - started < 10 * G_USEC_PER_SEC);
  CU_ASSERT_PTR_NOT_NULL_FATAL (error);
  CU_ASSERT_STRING_EQUAL (error->message, "pre-snapshot hook /bin/sh did not finish within 1 s "
                                          "(killed); its last output: waiting");
  CU_ASSERT_TRUE_FATAL (g_file_get_contents (pidfile, &text, NULL, NULL));
  /* The sleeping child is gone too: no such process, or a zombie until
   * its new parent reaps it. */
  {
    g_autofree gchar *stat_path = g_strdup_printf ("/proc/%d/stat", atoi (text));
    gboolean gone = FALSE;

    for (int i = 0; i < 100 && !gone; i++)
      {
        g_autofree gchar *stat = NULL;
        gone = !g_file_get_contents (stat_path, &stat, NULL, NULL) || strstr (stat, ") Z ") != NULL;
        if (!gone)
          g_usleep (20000);
      }
    CU_ASSERT_TRUE (gone);
  }
  unlink (pidfile);
}

/* A hook that starts a daemon and exits: done when it exits, even though
 * the daemon still holds the output pipe. */
static void
test_daemon_left_behind (void)
{
  g_autofree gchar *output = NULL;
  g_autoptr (GError) error = NULL;
  gint64 started = g_get_monotonic_time ();

  CU_ASSERT_TRUE (run ("/bin/sh -c 'sleep 30 & echo started'", 20, &output, &error));
  MOLT_ASSERT_NO_ERROR (error);
  CU_ASSERT_TRUE (g_get_monotonic_time () - started < 5 * G_USEC_PER_SEC);
  CU_ASSERT_STRING_EQUAL (output, "started\n");
}

static void
test_output_capped (void)
{
  g_autofree gchar *output = NULL;
  g_autoptr (GError) error = NULL;

  CU_ASSERT_TRUE (
      run ("/bin/sh -c 'yes line | head -c 1000000; echo; echo the-end'", 10, &output, &error));
  CU_ASSERT_EQUAL (strlen (output), MOLT_HOOK_OUTPUT_MAX);
  CU_ASSERT_TRUE (g_str_has_suffix (output, "\nthe-end\n"));
}

static void
test_cannot_start (void)
{
  g_autofree gchar *output = NULL;
  g_autoptr (GError) error = NULL;

  CU_ASSERT_FALSE (run ("/nonexistent/flush --all", 5, &output, &error));
  CU_ASSERT_PTR_NOT_NULL_FATAL (error);
  MOLT_ASSERT_CONTAINS (error->message, "pre-snapshot hook /nonexistent/flush cannot start: ");
  MOLT_ASSERT_CONTAINS (error->message, "No such file or directory");
  g_clear_error (&error);
  CU_ASSERT_FALSE (run ("/bin/true 'unclosed", 5, &output, &error));
  CU_ASSERT_PTR_NOT_NULL_FATAL (error);
  MOLT_ASSERT_CONTAINS (error->message, "pre-snapshot hook '/bin/true 'unclosed': ");
}

int
main (void)
{
  static const MoltTestCase cases[] = {
    { "ok, with the environment", test_ok_with_environment },
    { "exit status and last line", test_exit_status },
    { "killed by a signal", test_signal },
    { "timeout kills the group", test_timeout_kills_group },
    { "a daemon left behind", test_daemon_left_behind },
    { "output capped", test_output_capped },
    { "cannot start", test_cannot_start },
    { NULL, NULL },
  };

  return molt_test_run ("hook", cases);
}
