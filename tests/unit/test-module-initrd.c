/* The kexec path's initramfs: the new modules as a newc archive appended
 * to the guest's own at a 4-byte boundary, read back by cpio (as the
 * kernel unpacks it: each file at the path modules.dep gives it). */
#include <string.h>

#include "molt-module-initrd.h"
#include "molt-module-inspect.h"
#include "molt-test.h"

#define RELEASE      "0.0-molt-test"
#define MODULE_BYTES "not an ELF file, 37 bytes, unaligned"

static char *tmp;

static MoltModuleCandidate *
fake_candidate (const gchar *name, const gchar *contents)
{
  MoltModuleCandidate *c = g_new0 (MoltModuleCandidate, 1);
  GError *error = NULL;

  c->file = g_strdup_printf ("%s/%s.ko", tmp, name);
  g_file_set_contents (c->file, contents, -1, &error);
  MOLT_ASSERT_NO_ERROR (error);
  c->info = g_new0 (MoltModuleInfo, 1);
  c->info->name = g_strdup (name);
  c->info->depends = g_new0 (gchar *, 1);
  c->holders = g_new0 (gchar *, 1);
  return c;
}

/* cpio -i of DATA's archive in a fresh directory; the directory. */
static gchar *
unpack (const guint8 *data, gsize len)
{
  gchar *dir = g_strdup_printf ("%s/unpacked-XXXXXX", tmp);
  g_autofree gchar *archive = g_strdup_printf ("%s/archive.cpio", tmp);
  g_autofree gchar *err = NULL;
  const gchar *argv[] = { "cpio", "-idm", "--quiet", "-F", archive, NULL };
  GError *error = NULL;
  gint status = -1;

  CU_ASSERT_PTR_NOT_NULL_FATAL (g_mkdtemp (dir));
  g_file_set_contents (archive, (const gchar *) data, (gssize) len, &error);
  MOLT_ASSERT_NO_ERROR (error);
  g_spawn_sync (dir, (gchar **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
                NULL, NULL, &err, &status, &error);
  MOLT_ASSERT_NO_ERROR (error);
  if (status != 0)
    g_printerr ("\n  cpio: %s\n", err);
  CU_ASSERT_EQUAL (status, 0);
  return dir;
}

static void
test_overlay_unpacks_at_module_paths (void)
{
  g_autoptr (GPtrArray) cands
      = g_ptr_array_new_with_free_func ((GDestroyNotify) molt_module_candidate_free);
  g_autoptr (GBytes) overlay = NULL;
  g_autofree gchar *dir = NULL, *path = NULL, *got = NULL, *other = NULL;
  GError *error = NULL;
  gsize len;

  g_ptr_array_add (cands, fake_candidate ("molt_fake", MODULE_BYTES));
  g_ptr_array_add (cands, fake_candidate ("molt_other", "x"));
  overlay = molt_module_initrd_overlay (cands, RELEASE, &error);
  MOLT_ASSERT_NO_ERROR (error);
  CU_ASSERT_EQUAL (g_bytes_get_size (overlay) % 4, 0);
  dir = unpack (g_bytes_get_data (overlay, NULL), g_bytes_get_size (overlay));
  /* No modules.dep for this release: the path under updates/molt. */
  path = g_strdup_printf ("%s/lib/modules/" RELEASE "/updates/molt/molt_fake.ko", dir);
  CU_ASSERT_TRUE_FATAL (g_file_get_contents (path, &got, &len, NULL));
  CU_ASSERT_EQUAL (len, strlen (MODULE_BYTES));
  CU_ASSERT_STRING_EQUAL (got, MODULE_BYTES);
  other = g_strdup_printf ("%s/lib/modules/" RELEASE "/updates/molt/molt_other.ko", dir);
  CU_ASSERT_TRUE (g_file_test (other, G_FILE_TEST_IS_REGULAR));
}

/* The guest's initramfs untouched, zeros to a 4-byte boundary of the whole
 * file (where the kernel looks for the next archive), the overlay. */
static void
test_write_appends_aligned (void)
{
  g_autofree gchar *base = g_strdup_printf ("%s/initrd.img", tmp);
  g_autofree gchar *out = g_strdup_printf ("%s/run/molt/driver-set.initrd", tmp);
  g_autofree gchar *combined = NULL, *again = NULL, *tmp_out = g_strconcat (out, ".molt-new", NULL);
  g_autoptr (GBytes) overlay = g_bytes_new_static ("0707OVERLAY!", 12);
  GError *error = NULL;
  gsize len;

  g_file_set_contents (base, "BASE5", 5, &error);
  MOLT_ASSERT_NO_ERROR (error);
  CU_ASSERT_TRUE (molt_module_initrd_write (base, overlay, out, &error));
  MOLT_ASSERT_NO_ERROR (error);
  CU_ASSERT_TRUE_FATAL (g_file_get_contents (out, &combined, &len, NULL));
  CU_ASSERT_EQUAL_FATAL (len, 8 + 12);
  CU_ASSERT_EQUAL (memcmp (combined,
                           "BASE5\0\0\0"
                           "0707OVERLAY!",
                           len),
                   0);
  /* In place (the commit, without update-initramfs): appended again. */
  CU_ASSERT_TRUE (molt_module_initrd_write (out, overlay, out, &error));
  MOLT_ASSERT_NO_ERROR (error);
  CU_ASSERT_TRUE_FATAL (g_file_get_contents (out, &again, &len, NULL));
  CU_ASSERT_EQUAL_FATAL (len, 20 + 12);
  CU_ASSERT_EQUAL (memcmp (again, combined, 20), 0);
  CU_ASSERT_FALSE (g_file_test (tmp_out, G_FILE_TEST_EXISTS));
}

static void
test_write_missing_base_names_it (void)
{
  g_autofree gchar *out = g_strdup_printf ("%s/never", tmp);
  g_autoptr (GBytes) overlay = g_bytes_new_static ("x", 1);
  GError *error = NULL;

  CU_ASSERT_FALSE (molt_module_initrd_write ("/nonexistent/initrd.img", overlay, out, &error));
  CU_ASSERT_PTR_NOT_NULL_FATAL (error);
  MOLT_ASSERT_CONTAINS (error->message, "/nonexistent/initrd.img");
  MOLT_ASSERT_CONTAINS (error->message, "No such file or directory");
  CU_ASSERT_FALSE (g_file_test (out, G_FILE_TEST_EXISTS));
  g_clear_error (&error);
}

int
main (void)
{
  static const MoltTestCase cases[] = {
    { "overlay unpacks at the modules' paths", test_overlay_unpacks_at_module_paths },
    { "write appends at a 4-byte boundary", test_write_appends_aligned },
    { "a missing base initramfs is named", test_write_missing_base_names_it },
    { NULL, NULL },
  };
  int failures;

  tmp = molt_test_tmpdir_new ("module-initrd");
  failures = molt_test_run ("module-initrd", cases);
  molt_test_tmpdir_remove (tmp);
  return failures;
}
