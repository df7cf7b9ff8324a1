/* molt switch --kernel installed: the guest's listing of /boot (a real
 * directory) and the host's choice from it (replies written as a broken or
 * hostile guest might). */
#include <string.h>

#include <glib/gstdio.h>

#include "molt-installed-kernels.h"

#include "molt-test.h"

static void
touch (const char *dir, const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);

  CU_ASSERT_TRUE_FATAL (g_file_set_contents (path, "x", 1, NULL));
}

static void
test_listing (void)
{
  g_autofree char *boot = molt_test_tmpdir_new ("boot");
  g_autofree char *dir = g_build_filename (boot, "vmlinuz-dir", NULL);
  g_autoptr (JsonArray) kernels = NULL;
  JsonObject *k;

  touch (boot, "vmlinuz-6.1.0-9-cloud-amd64");
  touch (boot, "vmlinuz-6.1.0-56-cloud-amd64");
  touch (boot, "initrd.img-6.1.0-56-cloud-amd64");
  touch (boot, "vmlinuz-6.1.0-47-cloud-amd64");
  touch (boot, "initrd.img-6.1.0-47-cloud-amd64");
  touch (boot, "vmlinuz.old");
  touch (boot, "vmlinuz-");
  touch (boot, "config-6.1.0-99-cloud-amd64");
  g_mkdir (dir, 0755);
  kernels = molt_installed_kernels (boot);
  CU_ASSERT_EQUAL_FATAL (json_array_get_length (kernels), 3);
  k = json_array_get_object_element (kernels, 0);
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (k, "release"), "6.1.0-56-cloud-amd64");
  MOLT_ASSERT_CONTAINS (json_object_get_string_member (k, "image"),
                        "/vmlinuz-6.1.0-56-cloud-amd64");
  MOLT_ASSERT_CONTAINS (json_object_get_string_member (k, "initrd"),
                        "/initrd.img-6.1.0-56-cloud-amd64");
  CU_ASSERT_STRING_EQUAL (
      json_object_get_string_member (json_array_get_object_element (kernels, 1), "release"),
      "6.1.0-47-cloud-amd64");
  /* 9 sorts below 47 as a number, not as text. */
  k = json_array_get_object_element (kernels, 2);
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (k, "release"), "6.1.0-9-cloud-amd64");
  CU_ASSERT_FALSE (json_object_has_member (k, "initrd"));
  molt_test_tmpdir_remove (g_steal_pointer (&boot));
}

static void
test_missing_dir (void)
{
  g_autoptr (JsonArray) kernels = molt_installed_kernels ("/nonexistent-boot");

  CU_ASSERT_EQUAL (json_array_get_length (kernels), 0);
}

int
main (void)
{
  static const MoltTestCase cases[] = {
    { "newest first, with initrds", test_listing },
    { "no /boot", test_missing_dir },
    { NULL, NULL },
  };

  return molt_test_run ("installed-kernels", cases);
}
