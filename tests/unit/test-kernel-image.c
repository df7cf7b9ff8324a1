/* The release read from a kernel image's setup header: a real layout, and
 * images that are not bzImages or whose header lies. */
#include <string.h>

#include "molt-kernel-image.h"
#include "molt-protocol-error.h"
#include "molt-test.h"

/* A bzImage head: "HdrS" at 0x202, protocol 2.15, the version string at
 * 0x200 + POINTER. */
static guint8 *
fake_image (gsize len, guint16 pointer, const char *version)
{
  guint8 *data = g_malloc0 (len);

  memcpy (data + 0x202, "HdrS", 4);
  data[0x206] = 0x0f;
  data[0x207] = 0x02;
  data[0x20E] = (guint8) (pointer & 0xff);
  data[0x20F] = (guint8) (pointer >> 8);
  if (version != NULL)
    memcpy (data + 0x200 + pointer, version, strlen (version));
  return data;
}

static void
test_release (void)
{
  g_autofree guint8 *data
      = fake_image (0x4000, 0x3000, "6.1.0-56-cloud-amd64 (debian-kernel@lists.debian.org) #1");
  g_autoptr (GError) error = NULL;
  g_autofree gchar *release = molt_kernel_image_release_from_data (data, 0x4000, &error);

  MOLT_ASSERT_NO_ERROR (error);
  CU_ASSERT_STRING_EQUAL (release, "6.1.0-56-cloud-amd64");
}

static void
expect_error (const guint8 *data, gsize len, const char *needle)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *release = molt_kernel_image_release_from_data (data, len, &error);

  CU_ASSERT_PTR_NULL (release);
  CU_ASSERT_PTR_NOT_NULL_FATAL (error);
  MOLT_ASSERT_CONTAINS (error->message, needle);
}

static void
test_not_a_bzimage (void)
{
  g_autofree guint8 *zeros = g_malloc0 (0x1000);
  g_autofree guint8 *outside = fake_image (0x1000, 0x3000, NULL);
  g_autofree guint8 *unterminated = fake_image (0x1000, 0xC00, NULL);
  g_autofree guint8 *controls = fake_image (0x1000, 0x100, "6.1\x1b[2J (x)");

  expect_error (zeros, 0x1000, "not an x86 bzImage");
  expect_error (zeros, 16, "not an x86 bzImage");
  expect_error (outside, 0x1000, "no kernel version string");
  /* The string runs to the end of what was read. */
  memset (unterminated + 0xE00, 'a', 0x200);
  expect_error (unterminated, 0x1000, "malformed");
  expect_error (controls, 0x1000, "malformed");
}

static void
test_missing_file (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *release = molt_kernel_image_release ("/nonexistent/vmlinuz", &error);

  CU_ASSERT_PTR_NULL (release);
  MOLT_ASSERT_CONTAINS (error->message, "cannot read kernel /nonexistent/vmlinuz: No such file");
}

int
main (void)
{
  static const MoltTestCase cases[] = {
    { "the release of a bzImage", test_release },
    { "what is not a bzImage", test_not_a_bzimage },
    { "a missing file", test_missing_file },
    { NULL, NULL },
  };
  return molt_test_run ("kernel-image", cases);
}
