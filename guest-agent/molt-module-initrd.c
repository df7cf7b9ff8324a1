/* A driver set carried by the initramfs: see molt-module-initrd.h. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "molt-module-info.h"
#include "molt-module-initrd.h"
#include "molt-module-inspect.h"
#include "molt-protocol-error.h"

/* One newc header and name, padded to four bytes. */
static void
append_header (GByteArray *out, const gchar *name, guint32 mode, gsize size, guint32 ino)
{
  g_autofree gchar *header = NULL;
  static const guint8 zeros[4] = { 0 };
  gsize name_size = strlen (name) + 1;

  header = g_strdup_printf ("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", ino, mode,
                            0, 0, 1, (guint32) (g_get_real_time () / G_USEC_PER_SEC),
                            (guint32) size, 0, 0, 0, 0, (guint32) name_size, 0);
  g_byte_array_append (out, (const guint8 *) header, strlen (header));
  g_byte_array_append (out, (const guint8 *) name, name_size);
  g_byte_array_append (out, zeros, (4 - out->len % 4) % 4);
}

static void
append_data (GByteArray *out, const guint8 *data, gsize len)
{
  static const guint8 zeros[4] = { 0 };

  g_byte_array_append (out, data, len);
  g_byte_array_append (out, zeros, (4 - out->len % 4) % 4);
}

/* Where the initramfs keeps NAME: its path in the running kernel's
 * modules.dep, without the leading slash (the archive's paths are
 * relative to its root). */
static gchar *
archive_path (const gchar *release, const gchar *name, GError **error)
{
  g_autofree gchar *file = molt_module_file (release, name);

  if (file == NULL)
    return g_strdup_printf ("lib/modules/%s/updates/molt/%s.ko", release, name);
  if (!g_str_has_suffix (file, ".ko"))
    {
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                   "kernel %s keeps module %s compressed (%s): the kexec path replaces it by "
                   "that path and cannot compress the new build yet",
                   release, name, file);
      return NULL;
    }
  /* No parent directories in the archive: one the initramfs has as a
   * symlink (a merged /usr: lib -> usr/lib) would be replaced by an empty
   * directory. A file whose directory the initramfs lacks is skipped by
   * the kernel, and was not the initramfs's to load anyway. */
  return g_strdup (file + 1);
}

GBytes *
molt_module_initrd_overlay (GPtrArray *candidates, const gchar *release, GError **error)
{
  g_autoptr (GByteArray) out = g_byte_array_new ();

  for (guint i = 0; i < candidates->len; i++)
    {
      MoltModuleCandidate *c = candidates->pdata[i];
      g_autofree gchar *path = archive_path (release, c->info->name, error);
      g_autofree gchar *data = NULL;
      gsize len;

      if (path == NULL || !g_file_get_contents (c->file, &data, &len, error))
        return NULL;
      append_header (out, path, 0100644, len, i + 1);
      append_data (out, (const guint8 *) data, len);
    }
  append_header (out, "TRAILER!!!", 0, 0, 0);
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

static gboolean
write_all (gint fd, const guint8 *data, gsize len, const gchar *path, GError **error)
{
  while (len > 0)
    {
      gssize n = write (fd, data, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          gint saved_errno = errno;
          g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                       "cannot write %s: %s", path, g_strerror (saved_errno));
          return FALSE;
        }
      data += n;
      len -= (gsize) n;
    }
  return TRUE;
}

gboolean
molt_module_initrd_write (const gchar *base, GBytes *overlay, const gchar *out, GError **error)
{
  g_autofree gchar *contents = NULL, *tmp = g_strconcat (out, ".molt-new", NULL);
  g_autofree gchar *dir = g_path_get_dirname (out);
  static const guint8 zeros[4] = { 0 };
  gsize len, overlay_len;
  const guint8 *overlay_data = g_bytes_get_data (overlay, &overlay_len);
  gint fd;
  gboolean ok;

  if (!g_file_get_contents (base, &contents, &len, error))
    return FALSE;
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      gint saved_errno = errno;
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC, "cannot create %s: %s",
                   dir, g_strerror (saved_errno));
      return FALSE;
    }
  if ((fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
    {
      gint saved_errno = errno;
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC, "cannot create %s: %s",
                   tmp, g_strerror (saved_errno));
      return FALSE;
    }
  /* The kernel looks for the next archive at a 4-byte boundary of the
   * whole file, skipping zeros. */
  ok = write_all (fd, (const guint8 *) contents, len, tmp, error)
       && write_all (fd, zeros, (4 - len % 4) % 4, tmp, error)
       && write_all (fd, overlay_data, overlay_len, tmp, error);
  if (ok && fsync (fd) != 0)
    {
      gint saved_errno = errno;
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC, "cannot sync %s: %s",
                   tmp, g_strerror (saved_errno));
      ok = FALSE;
    }
  close (fd);
  if (ok && g_rename (tmp, out) != 0)
    {
      gint saved_errno = errno;
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                   "cannot rename %s to %s: %s", tmp, out, g_strerror (saved_errno));
      ok = FALSE;
    }
  if (!ok)
    g_unlink (tmp);
  return ok;
}

JsonNode *
molt_module_initrd_build (const gchar *dir, GError **error)
{
  g_autoptr (GPtrArray) cands = NULL;
  g_autoptr (GBytes) overlay = NULL;
  g_autoptr (JsonObject) obj = json_object_new ();
  g_autofree gchar *kernel = NULL, *base = NULL;
  JsonArray *modules;
  g_autofree gchar *release = NULL;

  if ((cands = molt_module_inspect_installable (dir, &release, error)) == NULL)
    return NULL;
  kernel = g_strdup_printf ("/boot/vmlinuz-%s", release);
  base = g_strdup_printf ("/boot/initrd.img-%s", release);
  if (!g_file_test (kernel, G_FILE_TEST_IS_REGULAR) || !g_file_test (base, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                   "the same-kernel kexec path boots the running kernel again from %s with its "
                   "initramfs %s, and %s is missing: install them (apt-get install --reinstall "
                   "linux-image-%s)",
                   kernel, base, g_file_test (kernel, G_FILE_TEST_IS_REGULAR) ? base : kernel,
                   release);
      return NULL;
    }
  if ((overlay = molt_module_initrd_overlay (cands, release, error)) == NULL
      || !molt_module_initrd_write (base, overlay, MOLT_MODULE_INITRD_PATH, error))
    return NULL;
  modules = json_array_new ();
  for (guint i = 0; i < cands->len; i++)
    {
      MoltModuleCandidate *c = cands->pdata[i];
      JsonObject *m = json_object_new ();
      g_autofree gchar *path = archive_path (release, c->info->name, NULL);

      json_object_set_string_member (m, "name", c->info->name);
      if (path != NULL)
        json_object_set_string_member (m, "path", path);
      json_array_add_object_element (modules, m);
    }
  json_object_set_string_member (obj, "release", release);
  json_object_set_string_member (obj, "kernel", kernel);
  json_object_set_string_member (obj, "base-initrd", base);
  json_object_set_string_member (obj, "initrd", MOLT_MODULE_INITRD_PATH);
  json_object_set_int_member (obj, "overlay-bytes", (gint64) g_bytes_get_size (overlay));
  json_object_set_array_member (obj, "modules", modules);
  return json_node_init_object (json_node_alloc (), obj);
}
