/* Helpers shared by the CUnit test binaries. */
#pragma once

#include <CUnit/Basic.h>
#include <glib.h>

/* Fails the test and prints the GError when one is unexpectedly set. */
#define MOLT_ASSERT_NO_ERROR(err)                                                                  \
  do                                                                                               \
    {                                                                                              \
      if ((err) != NULL)                                                                           \
        g_printerr ("\n  unexpected error: %s\n", (err)->message);                                 \
      CU_ASSERT_PTR_NULL_FATAL (err);                                                              \
    }                                                                                              \
  while (0)

#define MOLT_ASSERT_ERROR(err, dom, code_)                                                         \
  do                                                                                               \
    {                                                                                              \
      CU_ASSERT_PTR_NOT_NULL_FATAL (err);                                                          \
      if ((err)->domain != (dom) || (err)->code != (gint) (code_))                                 \
        g_printerr ("\n  wrong error (%s, %d): %s\n", g_quark_to_string ((err)->domain),           \
                    (err)->code, (err)->message);                                                  \
      CU_ASSERT_EQUAL ((err)->domain, (dom));                                                      \
      CU_ASSERT_EQUAL ((err)->code, (gint) (code_));                                               \
    }                                                                                              \
  while (0)

#define MOLT_ASSERT_CONTAINS(haystack, needle)                                                     \
  do                                                                                               \
    {                                                                                              \
      if (strstr ((haystack), (needle)) == NULL)                                                   \
        g_printerr ("\n  '%s' not found in '%s'\n", (needle), (haystack));                         \
      CU_ASSERT_PTR_NOT_NULL (strstr ((haystack), (needle)));                                      \
    }                                                                                              \
  while (0)

typedef struct
{
  const char *name;
  CU_TestFunc func;
} MoltTestCase;

/* Runs one suite; the exit code is the number of failures (0: all passed). */
int molt_test_run (const char *suite_name, const MoltTestCase *cases);

/* A private temporary directory for one test binary, and its removal. */
char *molt_test_tmpdir_new (const char *prefix);
void molt_test_tmpdir_remove (char *dir);
