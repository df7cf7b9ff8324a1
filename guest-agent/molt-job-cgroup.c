#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "molt-job-cgroup.h"
#include "molt-job-freezer.h"
#include "molt-protocol-error.h"

#define MOLT_CGROUP_MOVE_PASSES 5
#define MOLT_CGROUP_PATH_MAX    1024

static gboolean
cgroup_path_is_valid (const gchar *cgroup, GError **error)
{
  g_auto (GStrv) parts = NULL;

  if (cgroup == NULL || cgroup[0] != '/' || strlen (cgroup) > MOLT_CGROUP_PATH_MAX
      || strchr (cgroup, '\n') != NULL)
    goto bad;
  parts = g_strsplit (cgroup + 1, "/", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    if (g_str_equal (parts[i], ".") || g_str_equal (parts[i], "..")
        || (parts[i][0] == '\0' && parts[i + 1] != NULL))
      goto bad;
  return TRUE;

bad:
  g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_INVALID_PARAMETER,
               "argument 'cgroup' must be a cgroup path as /proc/self/cgroup shows it "
               "(absolute, no '.' or '..', at most %d bytes)",
               MOLT_CGROUP_PATH_MAX);
  return FALSE;
}

gint
molt_job_cgroup_open (const gchar *root, const gchar *cgroup, GError **error)
{
  g_autofree gchar *path = NULL;
  gint fd;

  if (!cgroup_path_is_valid (cgroup, error))
    return -1;
  path = g_build_filename (root, cgroup, "cgroup.procs", NULL);
  fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    {
      int saved_errno = errno;
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                   "cannot join cgroup %s (%s): %s", cgroup, path, g_strerror (saved_errno));
    }
  return fd;
}

static gboolean
write_pid (gint procs_fd, gint pid)
{
  gchar text[24];
  gint len = snprintf (text, sizeof text, "%d\n", pid);
  ssize_t n;

  do
    n = write (procs_fd, text, (size_t) len);
  while (n < 0 && errno == EINTR);
  return n == len;
}

gboolean
molt_job_cgroup_join_self (gint procs_fd)
{
  static const char self[] = "0\n";
  ssize_t n;

  do
    n = write (procs_fd, self, sizeof self - 1);
  while (n < 0 && errno == EINTR);
  return n == (ssize_t) (sizeof self - 1);
}

/* A process that ended between the walk and the move has nothing to move. */
static gboolean
move_pid (gint pid, gpointer data, GError **error)
{
  if (write_pid (GPOINTER_TO_INT (data), pid) || errno == ESRCH)
    return TRUE;
  g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
               "cannot move process %d into the cgroup: %s", pid, g_strerror (errno));
  return FALSE;
}

gboolean
molt_job_cgroup_move_tree (gint procs_fd, gint root_pid, GError **error)
{
  gboolean settled = FALSE;

  if (!molt_process_tree_each (root_pid, MOLT_CGROUP_MOVE_PASSES, move_pid,
                               GINT_TO_POINTER (procs_fd), &settled, error))
    return FALSE;
  if (!settled)
    {
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                   "the job's processes kept forking while they were moved into the cgroup "
                   "(%d walks)",
                   MOLT_CGROUP_MOVE_PASSES);
      return FALSE;
    }
  return TRUE;
}
