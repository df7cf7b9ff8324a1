#include <string.h>

#include "molt-test.h"

int
molt_test_run (const char *suite_name, const MoltTestCase *cases)
{
  CU_pSuite suite;
  unsigned int failures;

  if (CU_initialize_registry () != CUE_SUCCESS)
    return 1;
  suite = CU_add_suite (suite_name, NULL, NULL);
  for (const MoltTestCase *c = cases; c->name != NULL; c++)
    CU_add_test (suite, c->name, c->func);
  CU_basic_set_mode (CU_BRM_VERBOSE);
  CU_basic_run_tests ();
  failures = CU_get_number_of_failures () + CU_get_number_of_tests_failed ();
  CU_cleanup_registry ();
  return failures == 0 ? 0 : 1;
}

char *
molt_test_tmpdir_new (const char *prefix)
{
  g_autofree char *template = g_strconcat (prefix, "-XXXXXX", NULL);
  char *dir = g_dir_make_tmp (template, NULL);

  g_assert (dir != NULL);
  return dir;
}

void
molt_test_tmpdir_remove (char *dir)
{
  const char *argv[] = { "rm", "-rf", "--", dir, NULL };

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL,
                NULL);
  g_free (dir);
}
