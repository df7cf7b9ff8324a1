#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <string.h>
#include <unistd.h>

#include "molt-domain-lock.h"
#include "molt-host-error.h"

struct _MoltDomainLock
{
  gint fd;
  gchar *path;
};

MoltDomainLock *
molt_domain_lock_acquire (const gchar *state_dir, const gchar *domain, const gchar *operation,
                          GError **error)
{
  g_autofree gchar *dir = g_build_filename (state_dir, "locks", NULL);
  g_autofree gchar *file = g_strconcat (domain, ".lock", NULL);
  g_autofree gchar *path = g_build_filename (dir, file, NULL);
  g_autofree gchar *owner = g_strdup_printf ("%d %s\n", (int) getpid (), operation);
  MoltDomainLock *lock;
  gint fd;

  if (g_mkdir_with_parents (dir, 0700) != 0
      || (fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
    {
      int saved_errno = errno;
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED, "cannot open lock %s: %s", path,
                   g_strerror (saved_errno));
      return NULL;
    }
  if (flock (fd, LOCK_EX | LOCK_NB) != 0)
    {
      gchar holder[128] = "";
      ssize_t n = pread (fd, holder, sizeof holder - 1, 0);
      holder[n > 0 ? n : 0] = '\0';
      close (fd);
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "another molt operation holds domain '%s' (pid and operation: %s); "
                   "wait for it to finish",
                   domain, g_strstrip (holder));
      return NULL;
    }
  if (ftruncate (fd, 0) == 0 && write (fd, owner, strlen (owner)) < 0)
    g_debug ("cannot record the lock owner in %s", path);
  lock = g_new0 (MoltDomainLock, 1);
  lock->fd = fd;
  lock->path = g_steal_pointer (&path);
  return lock;
}

void
molt_domain_lock_release (MoltDomainLock *lock)
{
  if (lock == NULL)
    return;
  close (lock->fd);
  g_free (lock->path);
  g_free (lock);
}
