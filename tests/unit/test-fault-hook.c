/* The checkpoint's test-only fault hook: a production agent (built without
 * -Dtest_faults) refuses it whatever it is asked; a test build refuses
 * unknown faults, and known ones unless started to allow them.
 * MOLT_EXPECT_TEST_FAULTS says which build this binary links. */
#include <string.h>

#include "molt-agent.h"
#include "molt-message.h"
#include "molt-test.h"

static gchar *state_dir;

static void
expect_refused (const char *fault, const char *klass, const char *needle)
{
  g_autoptr (GError) error = NULL;
  MoltAgentConfig config = { .state_dir = state_dir, .probe_criu = FALSE };
  g_autoptr (MoltAgent) agent = molt_agent_new (&config, &error);
  g_autofree gchar *line = g_strdup_printf (
      "{\"execute\":\"checkpoint\",\"arguments\":{\"tag\":\"t1\",\"test-fault\":\"%s\"}}", fault);
  gboolean delimited = FALSE;
  g_autofree gchar *text = NULL;
  g_autoptr (MoltReply) reply = NULL;

  MOLT_ASSERT_NO_ERROR (error);
  text = molt_agent_handle_line (agent, line, &delimited);
  reply = molt_reply_parse (g_strchomp (text), &error);
  MOLT_ASSERT_NO_ERROR (error);
  CU_ASSERT_TRUE_FATAL (molt_reply_is_error (reply));
  CU_ASSERT_STRING_EQUAL (reply->error_class, klass);
  MOLT_ASSERT_CONTAINS (reply->error_desc, needle);
}

static void
test_hook (void)
{
  g_unsetenv ("MOLT_AGENT_TEST_FAULTS");
#ifdef MOLT_EXPECT_TEST_FAULTS
  expect_refused ("no-such-fault", "InvalidParameter",
                  "unknown test fault 'no-such-fault' (known: modify-open-file, "
                  "remove-open-file, replace-open-file)");
  expect_refused ("modify-open-file", "InvalidParameter", "MOLT_AGENT_TEST_FAULTS=1");
#else
  expect_refused ("modify-open-file", "Unsupported", "built without test faults");
  /* Allowing it at run time does not bring back what was not compiled. */
  g_setenv ("MOLT_AGENT_TEST_FAULTS", "1", TRUE);
  expect_refused ("modify-open-file", "Unsupported", "built without test faults");
#endif
}

int
main (void)
{
  static const MoltTestCase cases[] = {
    { "the fault hook's gate", test_hook },
    { NULL, NULL },
  };
  int failures;

  state_dir = molt_test_tmpdir_new ("molt-fault");
  failures = molt_test_run ("fault-hook", cases);
  molt_test_tmpdir_remove (state_dir);
  return failures;
}
