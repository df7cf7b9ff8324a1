#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <libvirt/virterror.h>

#include "molt-domain-lock.h"
#include "molt-host-error.h"
#include "molt-journal.h"

#define MOLT_LOCK_POLL_US (50 * 1000)

struct _MoltDomainLock
{
  gint fd; /* -1: no state directory, so no one else can hold it either */
  gboolean recorded;
};

gchar *
molt_domain_uuid (virDomainPtr dom, GError **error)
{
  const gchar *name = virDomainGetName (dom); /* before the call: it resets the error */
  gchar uuid[VIR_UUID_STRING_BUFLEN];

  if (virDomainGetUUIDString (dom, uuid) < 0)
    {
      const gchar *msg = virGetLastErrorMessage ();
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "cannot read the UUID of '%s': %s", name,
                   msg != NULL ? msg : "unknown libvirt error");
      return NULL;
    }
  return g_strdup (uuid);
}

/* Opens (creating if it can) STATE_DIR/locks/FILE. A reader that cannot
 * create the directory, an unprivileged user say, gets fd -1: nobody with
 * the same state directory can be switching. Never follows a symlink. */
static gboolean
open_lock_file (const gchar *state_dir, const gchar *file, gboolean must_create, gint *fd_out,
                GError **error)
{
  g_autofree gchar *dir = g_build_filename (state_dir, "locks", NULL);
  g_autofree gchar *path = g_build_filename (dir, file, NULL);
  gint fd = -1, saved_errno = 0;

  if (g_mkdir_with_parents (dir, 0700) == 0)
    fd = open (path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    fd = open (path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  saved_errno = errno;
  if (fd < 0 && (must_create || saved_errno != ENOENT))
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED, "cannot open lock %s: %s", path,
                   g_strerror (saved_errno));
      return FALSE;
    }
  *fd_out = fd;
  return TRUE;
}

/* "PID EPOCH OPERATION" of an exclusive holder; FALSE when none is recorded
 * or the recorded process is gone (a killed holder leaves its line). */
static gboolean
read_holder (gint fd, gint64 *pid, gchar **operation, gint64 *since)
{
  gchar text[256] = "";
  ssize_t n = pread (fd, text, sizeof text - 1, 0);
  g_auto (GStrv) fields = NULL;

  if (n <= 0)
    return FALSE;
  text[n] = '\0';
  fields = g_strsplit (g_strstrip (text), " ", 3);
  if (g_strv_length (fields) != 3)
    return FALSE;
  *pid = g_ascii_strtoll (fields[0], NULL, 10);
  *since = g_ascii_strtoll (fields[1], NULL, 10);
  if (*pid <= 0 || *pid > G_MAXINT32 || (kill ((pid_t) *pid, 0) != 0 && errno == ESRCH))
    return FALSE;
  *operation = g_strdup (fields[2]);
  return TRUE;
}

static gchar *
format_utc (gint64 epoch)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (epoch);
  return dt != NULL ? g_date_time_format (dt, "%FT%TZ") : g_strdup ("?");
}

/* The caller prefixes the domain's name: the message does not repeat it. */
static void
set_busy (GError **error, const gchar *state_dir, const gchar *uuid, const gchar *name,
          const gchar *operation, gint64 pid, gint64 since)
{
  g_autoptr (MoltJournal) journal = molt_journal_new (state_dir, uuid, name);
  g_autofree gchar *when = NULL;
  g_autofree gchar *step_text = NULL;
  const gchar *step = NULL;
  gint64 step_since = since;

  /* The switch journals its steps: say which one is running. */
  if (molt_journal_load (journal, NULL)
      && molt_journal_get_state (journal) == MOLT_JOURNAL_IN_PROGRESS)
    step = molt_journal_get_last_step (journal, &step_since);
  when = format_utc (step_since);
  if (step != NULL)
    step_text = g_strdup_printf (", step %s", step);
  g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_BUSY,
               "busy: %s in progress%s since %s (pid %" G_GINT64_FORMAT
               "); try again when it has finished",
               operation, step_text != NULL ? step_text : "", when, pid);
}

static void
record_holder (MoltDomainLock *lock, const gchar *operation)
{
  g_autofree gchar *line = g_strdup_printf ("%d %" G_GINT64_FORMAT " %s\n", (int) getpid (),
                                            g_get_real_time () / G_USEC_PER_SEC, operation);

  if (ftruncate (lock->fd, 0) != 0 || pwrite (lock->fd, line, strlen (line), 0) < 0)
    g_debug ("cannot record the lock holder: %s", g_strerror (errno));
  else
    lock->recorded = TRUE;
}

static MoltDomainLock *
lock_new (gint fd)
{
  MoltDomainLock *lock = g_new0 (MoltDomainLock, 1);
  lock->fd = fd;
  return lock;
}

MoltDomainLock *
molt_domain_lock_acquire (const gchar *state_dir, virDomainPtr dom, MoltLockMode mode,
                          const gchar *operation, GError **error)
{
  g_autofree gchar *uuid = molt_domain_uuid (dom, error);
  g_autofree gchar *file = NULL;
  const gchar *name = virDomainGetName (dom);
  gint64 deadline = g_get_monotonic_time () + MOLT_LOCK_EXCLUSIVE_WAIT_MS * 1000;
  gint fd;

  if (uuid == NULL)
    return NULL;
  file = g_strconcat (uuid, ".lock", NULL);
  if (!open_lock_file (state_dir, file, mode == MOLT_LOCK_EXCLUSIVE, &fd, error))
    return NULL;
  if (fd < 0)
    return lock_new (-1);
  for (;;)
    {
      gint64 pid = 0, since = 0;
      g_autofree gchar *holder_op = NULL;

      if (flock (fd, (mode == MOLT_LOCK_SHARED ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0)
        break;
      if (errno != EWOULDBLOCK)
        {
          int saved_errno = errno;
          close (fd);
          g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED, "cannot lock %s: %s", name,
                       g_strerror (saved_errno));
          return NULL;
        }
      /* Shared requests meet only exclusive holders; an exclusive request
       * waits out readers, not another exclusive operation. */
      if (read_holder (fd, &pid, &holder_op, &since) || mode == MOLT_LOCK_SHARED
          || g_get_monotonic_time () > deadline)
        {
          if (holder_op == NULL)
            holder_op = g_strdup (mode == MOLT_LOCK_SHARED ? "an operation" : "a molt command");
          set_busy (error, state_dir, uuid, name, holder_op, pid, since);
          close (fd);
          return NULL;
        }
      g_usleep (MOLT_LOCK_POLL_US);
    }
  {
    MoltDomainLock *lock = lock_new (fd);
    if (mode == MOLT_LOCK_EXCLUSIVE)
      record_holder (lock, operation);
    return lock;
  }
}

MoltDomainLock *
molt_domain_lock_channel (const gchar *state_dir, virDomainPtr dom, guint wait_ms, GError **error)
{
  g_autofree gchar *uuid = molt_domain_uuid (dom, error);
  g_autofree gchar *file = NULL;
  gint64 deadline = g_get_monotonic_time () + (gint64) wait_ms * 1000;
  gint fd;

  if (uuid == NULL)
    return NULL;
  file = g_strconcat (uuid, ".channel", NULL);
  if (!open_lock_file (state_dir, file, FALSE, &fd, error))
    return NULL;
  while (fd >= 0 && flock (fd, LOCK_EX | LOCK_NB) != 0)
    {
      if (errno != EWOULDBLOCK || g_get_monotonic_time () > deadline)
        {
          close (fd);
          g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_BUSY,
                       "the agent channel of %s stayed in use by another molt command for %u ms",
                       virDomainGetName (dom), wait_ms);
          return NULL;
        }
      g_usleep (MOLT_LOCK_POLL_US);
    }
  return lock_new (fd);
}

MoltDomainLock *
molt_domain_lock_named (const gchar *state_dir, const gchar *name, const gchar *operation,
                        GError **error)
{
  g_autofree gchar *file = g_strconcat (name, ".lock", NULL);
  gint64 pid = 0, since = 0;
  g_autofree gchar *holder_op = NULL;
  MoltDomainLock *lock;
  gint fd;

  if (!open_lock_file (state_dir, file, TRUE, &fd, error))
    return NULL;
  if (flock (fd, LOCK_EX | LOCK_NB) != 0)
    {
      read_holder (fd, &pid, &holder_op, &since);
      close (fd);
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_BUSY,
                   "another %s holds %s (pid %" G_GINT64_FORMAT "); wait for it to finish",
                   holder_op != NULL ? holder_op : operation, name, pid);
      return NULL;
    }
  lock = lock_new (fd);
  record_holder (lock, operation);
  return lock;
}

void
molt_domain_lock_release (MoltDomainLock *lock)
{
  if (lock == NULL)
    return;
  /* An orderly release clears the holder line; a killed holder's stays and
   * read_holder sees that its pid is gone. */
  if (lock->recorded && ftruncate (lock->fd, 0) != 0)
    g_debug ("cannot clear the lock holder: %s", g_strerror (errno));
  if (lock->fd >= 0)
    close (lock->fd);
  g_free (lock);
}
