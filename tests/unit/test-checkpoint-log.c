/* What a failed CRIU call says: the first and last error lines of its log,
 * and, when the log has none, a full filesystem named as the cause (the log
 * lives beside the images, so a full image store can swallow the very line
 * that would have said so). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "molt-checkpoint.h"
#include "molt-test.h"

static void
test_log_error_lines (void)
{
  g_autofree gchar *dir = molt_test_tmpdir_new ("checkpoint-log");
  g_autofree gchar *log = g_build_filename (dir, "dump.log", NULL);
  g_autofree gchar *one = NULL, *two = NULL, *none = NULL, *missing = NULL;

  g_file_set_contents (log,
                       "(00.01) Warn: something\n(00.02) Error (criu/x.c:1): "
                       "write: No space left on device\n",
                       -1, NULL);
  one = molt_checkpoint_log_error (log);
  CU_ASSERT_STRING_EQUAL (one, "(00.02) Error (criu/x.c:1): write: No space left on device");
  g_file_set_contents (log,
                       "(00.02) Error (a.c:1): first cause\nmore\n"
                       "(00.03) Error (b.c:2): Dumping FAILED.\n",
                       -1, NULL);
  two = molt_checkpoint_log_error (log);
  CU_ASSERT_STRING_EQUAL (two, "(00.02) Error (a.c:1): first cause ... "
                               "(00.03) Error (b.c:2): Dumping FAILED.");
  g_file_set_contents (log, "(00.01) Warn: only warnings\n", -1, NULL);
  none = molt_checkpoint_log_error (log);
  CU_ASSERT_PTR_NULL (none);
  unlink (log);
  missing = molt_checkpoint_log_error (log);
  CU_ASSERT_PTR_NULL (missing);
  molt_test_tmpdir_remove (g_steal_pointer (&dir));
}

static void
test_silent_failure_with_room (void)
{
  g_autofree gchar *dir = molt_test_tmpdir_new ("checkpoint-log");
  g_autofree gchar *why = molt_checkpoint_silent_failure (dir);

  /* Room left: no cause is made up. */
  CU_ASSERT_STRING_EQUAL (why, "no error line in CRIU's log");
  molt_test_tmpdir_remove (g_steal_pointer (&dir));
}

static void
test_silent_failure_full (void)
{
  g_autofree gchar *dir = molt_test_tmpdir_new ("checkpoint-log");
  g_autofree gchar *filler = g_build_filename (dir, "filler", NULL);
  g_autofree gchar *why = NULL;
  gchar block[4096] = { 0 };
  gboolean mounted;
  FILE *f;

  /* A small tmpfs filled to the last block; needs CAP_SYS_ADMIN, as the
   * dispatch test does: it fails, not skips, without it. */
  mounted = mount ("molt-test-full", dir, "tmpfs", 0, "size=64k") == 0;
  if (!mounted)
    g_printerr ("\n  cannot mount a tmpfs on %s: %s\n", dir, g_strerror (errno));
  CU_ASSERT_FATAL (mounted);
  f = fopen (filler, "w");
  CU_ASSERT_PTR_NOT_NULL_FATAL (f);
  setvbuf (f, NULL, _IONBF, 0);
  while (fwrite (block, sizeof block, 1, f) == 1)
    ;
  fclose (f);
  why = molt_checkpoint_silent_failure (dir);
  MOLT_ASSERT_CONTAINS (why, "no error line in CRIU's log, and the filesystem holding ");
  MOLT_ASSERT_CONTAINS (why, " KiB free: No space left on device");
  CU_ASSERT_EQUAL (umount (dir), 0);
  molt_test_tmpdir_remove (g_steal_pointer (&dir));
}

int
main (void)
{
  static const MoltTestCase cases[] = {
    { "first and last error lines", test_log_error_lines },
    { "no error line, room left: no cause made up", test_silent_failure_with_room },
    { "no error line, full filesystem: ENOSPC named", test_silent_failure_full },
    { NULL, NULL },
  };

  return molt_test_run ("checkpoint-log", cases);
}
