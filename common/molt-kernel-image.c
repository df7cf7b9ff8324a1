#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "molt-kernel-image.h"
#include "molt-protocol-error.h"

#define SETUP_MAGIC_OFFSET   0x202
#define SETUP_VERSION_OFFSET 0x206
#define KERNEL_VERSION_PTR   0x20E
#define SETUP_BASE           0x200
#define MOLT_IMAGE_HEAD      (64 * 1024)
#define MOLT_RELEASE_MAX     64

static gboolean
release_char (guint8 c)
{
  return g_ascii_isalnum (c) || c == '.' || c == '-' || c == '_' || c == '+' || c == '~';
}

gchar *
molt_kernel_image_release_from_data (const guint8 *data, gsize len, GError **error)
{
  guint16 protocol, pointer;
  gsize start, end;

  if (len < KERNEL_VERSION_PTR + 2 || memcmp (data + SETUP_MAGIC_OFFSET, "HdrS", 4) != 0)
    {
      g_set_error_literal (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_INVALID_PARAMETER,
                           "not an x86 bzImage (no HdrS setup header)");
      return NULL;
    }
  protocol = (guint16) (data[SETUP_VERSION_OFFSET] | data[SETUP_VERSION_OFFSET + 1] << 8);
  pointer = (guint16) (data[KERNEL_VERSION_PTR] | data[KERNEL_VERSION_PTR + 1] << 8);
  start = (gsize) pointer + SETUP_BASE;
  if (protocol < 0x200 || pointer == 0 || start >= len)
    {
      g_set_error_literal (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_INVALID_PARAMETER,
                           "the bzImage's setup header has no kernel version string");
      return NULL;
    }
  for (end = start; end < len && end - start < MOLT_RELEASE_MAX && release_char (data[end]); end++)
    ;
  if (end == start || end - start >= MOLT_RELEASE_MAX || end >= len || data[end] != ' ')
    {
      g_set_error_literal (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_INVALID_PARAMETER,
                           "the bzImage's kernel version string is malformed");
      return NULL;
    }
  return g_strndup ((const gchar *) data + start, end - start);
}

gchar *
molt_kernel_image_release (const gchar *path, GError **error)
{
  g_autofree guint8 *head = g_malloc (MOLT_IMAGE_HEAD);
  gssize got = 0;
  gint fd = open (path, O_RDONLY | O_CLOEXEC);
  gchar *release;

  if (fd < 0)
    {
      int saved_errno = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   "cannot read kernel %s: %s", path, g_strerror (saved_errno));
      return NULL;
    }
  while (got < MOLT_IMAGE_HEAD)
    {
      gssize n = read (fd, head + got, MOLT_IMAGE_HEAD - got);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      got += n;
    }
  close (fd);
  release = molt_kernel_image_release_from_data (head, (gsize) got, error);
  if (release == NULL)
    g_prefix_error (error, "kernel %s: ", path);
  return release;
}
