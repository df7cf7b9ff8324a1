/* The per-domain record of kernels that committed a switch (--snapshot
 * auto): found once added, the newest MOLT_KERNEL_HISTORY_MAX kept, and a
 * release from the guest that is not one line refused, not written. */
#include "molt-kernel-history.h"
#include "molt-test.h"

#define UUID "4dea22b3-1d52-d8f3-2516-782e98ab3fa0"

static gchar *state_dir;

static void
test_add_then_has (void)
{
  g_autoptr (GError) error = NULL;

  CU_ASSERT_FALSE (molt_kernel_history_has (state_dir, UUID, "6.1.0-9-amd64"));
  CU_ASSERT_TRUE (molt_kernel_history_add (state_dir, UUID, "6.1.0-9-amd64", &error));
  MOLT_ASSERT_NO_ERROR (error);
  CU_ASSERT_TRUE (molt_kernel_history_has (state_dir, UUID, "6.1.0-9-amd64"));
  /* Whole lines only, and per domain. */
  CU_ASSERT_FALSE (molt_kernel_history_has (state_dir, UUID, "6.1.0-9"));
  CU_ASSERT_FALSE (molt_kernel_history_has (state_dir, "other", "6.1.0-9-amd64"));
  CU_ASSERT_FALSE (molt_kernel_history_has (state_dir, UUID, NULL));
}

static void
test_oldest_dropped (void)
{
  g_autoptr (GError) error = NULL;

  for (guint i = 0; i < MOLT_KERNEL_HISTORY_MAX + 1; i++)
    {
      g_autofree gchar *release = g_strdup_printf ("6.1.0-%u-cap", i);
      CU_ASSERT_TRUE (molt_kernel_history_add (state_dir, UUID, release, &error));
    }
  MOLT_ASSERT_NO_ERROR (error);
  CU_ASSERT_FALSE (molt_kernel_history_has (state_dir, UUID, "6.1.0-0-cap"));
  CU_ASSERT_TRUE (molt_kernel_history_has (state_dir, UUID, "6.1.0-1-cap"));
  CU_ASSERT_TRUE (molt_kernel_history_has (state_dir, UUID, "6.1.0-64-cap"));
}

static void
test_garbage_refused (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *huge = g_strnfill (300, 'x');

  CU_ASSERT_FALSE (molt_kernel_history_add (state_dir, UUID, "6.1\n6.2", &error));
  MOLT_ASSERT_CONTAINS (error->message, "not a kernel release");
  g_clear_error (&error);
  CU_ASSERT_FALSE (molt_kernel_history_add (state_dir, UUID, huge, &error));
  g_clear_error (&error);
  CU_ASSERT_FALSE (molt_kernel_history_add (state_dir, UUID, "", &error));
  CU_ASSERT_FALSE (molt_kernel_history_has (state_dir, UUID, "6.2"));
}

int
main (void)
{
  static const MoltTestCase cases[] = {
    { "found once added", test_add_then_has },
    { "the oldest dropped past the cap", test_oldest_dropped },
    { "a release that is not one line refused", test_garbage_refused },
    { NULL, NULL },
  };
  int failures;

  state_dir = molt_test_tmpdir_new ("molt-kernel-history");
  failures = molt_test_run ("kernel-history", cases);
  molt_test_tmpdir_remove (state_dir);
  return failures;
}
