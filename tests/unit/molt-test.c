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
