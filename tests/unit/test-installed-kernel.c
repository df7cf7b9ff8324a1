/* molt switch --kernel installed, the host's half: the choice from the
 * guest's switch-preflight reply, which is untrusted. */
#include <string.h>

#include "molt-host-error.h"
#include "molt-installed-kernel.h"

#include "molt-test.h"

static gboolean
pick (const char *json, const char *running, gchar **image, gchar **initrd, gchar **release,
      GError **error)
{
  g_autoptr (JsonNode) node = json_from_string (json, NULL);

  CU_ASSERT_PTR_NOT_NULL_FATAL (node);
  return molt_installed_kernel_pick (json_node_get_object (node), running, image, initrd, release,
                                     error);
}

static void
test_newest_of_the_flavour (void)
{
  g_autofree gchar *image = NULL, *initrd = NULL, *release = NULL;
  g_autoptr (GError) error = NULL;

  CU_ASSERT_TRUE (
      pick ("{\"installed-kernels\":["
            "{\"release\":\"6.1.0-60-amd64\",\"image\":\"/boot/vmlinuz-6.1.0-60-amd64\"},"
            "{\"release\":\"6.1.0-56-cloud-amd64\",\"image\":\"/boot/vmlinuz-6.1.0-56-"
            "cloud-amd64\",\"initrd\":\"/boot/initrd.img-6.1.0-56-cloud-amd64\"},"
            "{\"release\":\"6.1.0-47-cloud-amd64\",\"image\":\"/boot/vmlinuz-6.1.0-47-"
            "cloud-amd64\"}]}",
            "6.1.0-47-cloud-amd64", &image, &initrd, &release, &error));
  MOLT_ASSERT_NO_ERROR (error);
  CU_ASSERT_STRING_EQUAL (release, "6.1.0-56-cloud-amd64");
  CU_ASSERT_STRING_EQUAL (image, "/boot/vmlinuz-6.1.0-56-cloud-amd64");
  CU_ASSERT_STRING_EQUAL (initrd, "/boot/initrd.img-6.1.0-56-cloud-amd64");
}

/* No kernel of the running flavour: the newest of any. */
static void
test_other_flavour (void)
{
  g_autofree gchar *image = NULL, *initrd = NULL, *release = NULL;
  g_autoptr (GError) error = NULL;

  CU_ASSERT_TRUE (pick ("{\"installed-kernels\":[{\"release\":\"6.1.0-60-amd64\","
                        "\"image\":\"/boot/vmlinuz-6.1.0-60-amd64\"}]}",
                        "6.1.0-47-cloud-amd64", &image, &initrd, &release, &error));
  CU_ASSERT_STRING_EQUAL (release, "6.1.0-60-amd64");
  CU_ASSERT_PTR_NULL (initrd);
}

static void
expect_error (const char *json, const char *needle)
{
  g_autofree gchar *image = NULL, *initrd = NULL, *release = NULL;
  g_autoptr (GError) error = NULL;

  CU_ASSERT_FALSE (pick (json, "6.1.0-47-cloud-amd64", &image, &initrd, &release, &error));
  CU_ASSERT_PTR_NOT_NULL_FATAL (error);
  MOLT_ASSERT_CONTAINS (error->message, needle);
  CU_ASSERT_PTR_NULL (image);
}

static void
test_refusals (void)
{
  expect_error ("{\"installed-kernels\":[]}",
                "no kernel is installed in the guest's /boot (vmlinuz-RELEASE): install one");
  expect_error ("{\"installed-kernels\":[{\"release\":\"6.1.0-47-cloud-amd64\","
                "\"image\":\"/boot/vmlinuz-6.1.0-47-cloud-amd64\"}]}",
                "the newest kernel installed in the guest, 6.1.0-47-cloud-amd64, is the one "
                "running: install a newer one");
  expect_error ("{\"installed-kernels\":[{\"release\":\"6.1.0-56-cloud-amd64\","
                "\"image\":\"/etc/shadow\"}]}",
                "installed-kernels names a file outside /boot");
  expect_error ("{\"installed-kernels\":[{\"release\":\"6.1.0-56-cloud-amd64\","
                "\"image\":\"/boot/v\",\"initrd\":\"/tmp/evil\"}]}",
                "outside /boot");
  expect_error ("{}", "installed-kernels");
  expect_error ("{\"installed-kernels\":[{\"release\":5}]}", "release");
  expect_error ("{\"installed-kernels\":[\"vmlinuz\"]}", "installed-kernels");
}

int
main (void)
{
  static const MoltTestCase cases[] = {
    { "the newest of the running flavour", test_newest_of_the_flavour },
    { "another flavour when none matches", test_other_flavour },
    { "refusals", test_refusals },
    { NULL, NULL },
  };

  return molt_test_run ("installed-kernel", cases);
}
