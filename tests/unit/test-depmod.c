/* The module index's rebuild (molt-depmod.h): a background depmod is
 * waited for by the next reader, and two never overlap. A fake depmod
 * first in PATH logs its start and end around a sleep. */
#include <string.h>

#include <glib/gstdio.h>

#include "molt-depmod.h"
#include "molt-test.h"

static gchar *dir;
static gchar *log_path;

/* It ends only once the gate file exists (30 s at most): a test can hold
 * it running for as long as it looks, whatever the machine's load. */
static const gchar fake_depmod[] = "#!/bin/sh\n"
                                   "echo \"start $*\" >>\"$MOLT_TEST_DEPMOD_LOG\"\n"
                                   "i=0\n"
                                   "while [ ! -e \"$MOLT_TEST_DEPMOD_GATE\" ] && [ $i -lt 600 ]; "
                                   "do sleep 0.05; i=$((i+1)); done\n"
                                   "sleep 0.1\n"
                                   "echo \"end $*\" >>\"$MOLT_TEST_DEPMOD_LOG\"\n"
                                   "exit \"${MOLT_TEST_DEPMOD_STATUS:-0}\"\n";

static gchar *gate_path;

static void
gate_open (gboolean open)
{
  if (open)
    g_file_set_contents (gate_path, "", 0, NULL);
  else
    g_unlink (gate_path);
}

static gchar *
read_log (void)
{
  gchar *text = NULL;

  if (!g_file_get_contents (log_path, &text, NULL, NULL))
    return g_strdup ("");
  return text;
}

static void
reset_log (void)
{
  g_unlink (log_path);
}

static void
test_background_run_is_waited_for (void)
{
  g_autofree gchar *during = NULL, *after = NULL;

  reset_log ();
  gate_open (FALSE);
  molt_depmod_run_later ("6.1.0-test");
  during = read_log ();
  /* Returned at once: depmod cannot have finished. */
  CU_ASSERT_PTR_NULL (strstr (during, "end"));
  gate_open (TRUE);
  molt_depmod_settle ();
  after = read_log ();
  CU_ASSERT_STRING_EQUAL (after, "start -a 6.1.0-test\nend -a 6.1.0-test\n");
}

static void
test_runs_never_overlap (void)
{
  g_autofree gchar *text = NULL;

  reset_log ();
  molt_depmod_run_later ("first");
  molt_depmod_run_later ("second");
  molt_depmod_run ("third");
  text = read_log ();
  CU_ASSERT_STRING_EQUAL (text, "start -a first\nend -a first\nstart -a second\nend -a second\n"
                                "start -a third\nend -a third\n");
}

static void
test_settle_without_a_run_returns (void)
{
  reset_log ();
  molt_depmod_settle ();
  molt_depmod_settle ();
  g_autofree gchar *text = read_log ();
  CU_ASSERT_STRING_EQUAL (text, "");
}

/* The main loop's callback and a later settle both see the end once; a
 * failing depmod is a warning, not a crash. */
static void
test_finished_in_the_main_loop (void)
{
  g_autofree gchar *text = NULL;
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  reset_log ();
  g_setenv ("MOLT_TEST_DEPMOD_STATUS", "3", TRUE);
  g_test_expect_message ("molt-agent", G_LOG_LEVEL_WARNING,
                         "depmod exited with status 3 (its message above): *");
  molt_depmod_run_later ("looped");
  for (;;)
    {
      g_free (text);
      text = read_log ();
      if (strstr (text, "end") != NULL || g_get_monotonic_time () > deadline)
        break;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (10000);
    }
  for (gint i = 0; i < 100; i++)
    g_main_context_iteration (NULL, FALSE);
  molt_depmod_settle ();
  g_test_assert_expected_messages ();
  g_unsetenv ("MOLT_TEST_DEPMOD_STATUS");
  g_free (text);
  text = read_log ();
  CU_ASSERT_STRING_EQUAL (text, "start -a looped\nend -a looped\n");
}

int
main (void)
{
  static const MoltTestCase cases[] = {
    { "a background depmod is waited for by settle", test_background_run_is_waited_for },
    { "depmod runs never overlap", test_runs_never_overlap },
    { "settle without a run returns", test_settle_without_a_run_returns },
    { "a run finished in the main loop", test_finished_in_the_main_loop },
    { NULL, NULL },
  };
  g_autofree gchar *fake = NULL, *path = NULL;
  int failures;

  dir = molt_test_tmpdir_new ("molt-test-depmod");
  fake = g_build_filename (dir, "depmod", NULL);
  log_path = g_build_filename (dir, "log", NULL);
  gate_path = g_build_filename (dir, "gate", NULL);
  gate_open (TRUE);
  if (!g_file_set_contents (fake, fake_depmod, -1, NULL) || g_chmod (fake, 0755) != 0)
    {
      g_printerr ("test-depmod: cannot write %s\n", fake);
      return 1;
    }
  path = g_strconcat (dir, ":", g_getenv ("PATH"), NULL);
  g_setenv ("PATH", path, TRUE);
  g_setenv ("MOLT_TEST_DEPMOD_LOG", log_path, TRUE);
  g_setenv ("MOLT_TEST_DEPMOD_GATE", gate_path, TRUE);
  failures = molt_test_run ("depmod", cases);
  g_free (log_path);
  g_free (gate_path);
  molt_test_tmpdir_remove (dir);
  return failures;
}
