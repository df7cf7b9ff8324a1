#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "molt-fs-freezer.h"
#include "molt-protocol-error.h"

/* Mount points of filesystems backed by a block device, in mount order. */
static GPtrArray *
block_mounts (void)
{
  g_autofree gchar *mounts = NULL;
  g_auto (GStrv) lines = NULL;
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  if (!g_file_get_contents ("/proc/self/mounts", &mounts, NULL, NULL))
    return out;
  lines = g_strsplit (mounts, "\n", 0);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto (GStrv) f = g_strsplit (lines[i], " ", 0);
      if (g_strv_length (f) < 3 || !g_str_has_prefix (f[0], "/dev/"))
        continue;
      if (g_hash_table_contains (seen, f[1]))
        continue;
      g_ptr_array_add (out, g_strdup (f[1]));
      g_hash_table_add (seen, g_ptr_array_index (out, out->len - 1));
    }
  return out;
}

static gboolean
ioctl_mount (const gchar *mount, unsigned long request, GError **error)
{
  gint fd = open (mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int saved_errno;

  if (fd >= 0 && ioctl (fd, request, 0) == 0)
    {
      close (fd);
      return TRUE;
    }
  saved_errno = errno;
  if (fd >= 0)
    close (fd);
  g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC, "cannot %s %s: %s",
               request == FIFREEZE ? "freeze" : "thaw", mount, g_strerror (saved_errno));
  return FALSE;
}

guint
molt_fs_thaw_all (const GStrv mounts)
{
  guint thawed = 0;

  for (guint i = 0; mounts != NULL && mounts[i] != NULL; i++)
    thawed += ioctl_mount (mounts[i], FITHAW, NULL);
  return thawed;
}

GStrv
molt_fs_freeze_all (GError **error)
{
  g_autoptr (GPtrArray) mounts = block_mounts ();
  g_autoptr (GStrvBuilder) frozen = g_strv_builder_new ();
  g_auto (GStrv) done = NULL;

  sync ();
  for (guint i = mounts->len; i > 0; i--)
    {
      const gchar *mount = g_ptr_array_index (mounts, i - 1);
      g_autoptr (GError) local_error = NULL;

      if (ioctl_mount (mount, FIFREEZE, &local_error))
        {
          g_strv_builder_add (frozen, mount);
          continue;
        }
      /* EOPNOTSUPP: a filesystem that cannot freeze is not an error. */
      if (g_str_has_suffix (local_error->message, g_strerror (EOPNOTSUPP)))
        continue;
      done = g_strv_builder_end (frozen);
      molt_fs_thaw_all (done);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  return g_strv_builder_end (frozen);
}
