/* The restore's side of unix connections between jobs: see
 * molt-unix-link-pairs.h. */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "molt-protocol-error.h"
#include "molt-unix-link-pairs.h"

typedef struct
{
  gchar *job;
  MoltUnixLinkEnd *end;
  gint fd; /* this end's new socket, -1 before the pair is made or after the restore */
} PairEnd;

struct _MoltUnixLinkPairs
{
  GPtrArray *ends; /* of PairEnd */
};

static void
pair_end_free (PairEnd *e)
{
  if (e->fd >= 0)
    close (e->fd);
  g_free (e->job);
  molt_unix_link_end_free (e->end);
  g_free (e);
}

MoltUnixLinkPairs *
molt_unix_link_pairs_new (void)
{
  MoltUnixLinkPairs *pairs = g_new0 (MoltUnixLinkPairs, 1);

  pairs->ends = g_ptr_array_new_with_free_func ((GDestroyNotify) pair_end_free);
  return pairs;
}

void
molt_unix_link_pairs_free (MoltUnixLinkPairs *pairs)
{
  if (pairs == NULL)
    return;
  g_ptr_array_unref (pairs->ends);
  g_free (pairs);
}

void
molt_unix_link_pairs_add (MoltUnixLinkPairs *pairs, const gchar *job, GPtrArray *ends)
{
  for (guint i = 0; i < ends->len; i++)
    {
      PairEnd *e = g_new0 (PairEnd, 1);

      e->job = g_strdup (job);
      e->end = g_ptr_array_steal_index (ends, i--);
      e->fd = -1;
      g_ptr_array_add (pairs->ends, e);
    }
}

static PairEnd *
find_partner (MoltUnixLinkPairs *pairs, const PairEnd *e)
{
  for (guint i = 0; i < pairs->ends->len; i++)
    {
      PairEnd *p = g_ptr_array_index (pairs->ends, i);

      if (p->end->inode == e->end->peer && p->end->peer == e->end->inode
          && g_str_equal (p->job, e->end->peer_job) && g_str_equal (e->job, p->end->peer_job))
        return p;
    }
  return NULL;
}

/* DATA into the pair from FD, so that it waits in the other end's queue as
 * it did at the checkpoint. The send buffer is raised first: the queue was
 * within the old sender's buffer, which the job may have raised. */
static gboolean
put_back (gint fd, GBytes *data, GError **error)
{
  gsize size = 0, done = 0;
  const guint8 *bytes = g_bytes_get_data (data, &size);
  gint buffer = (gint) MIN (size * 2 + 65536, G_MAXINT / 2);

  if (size == 0)
    return TRUE;
  if (setsockopt (fd, SOL_SOCKET, SO_SNDBUFFORCE, &buffer, sizeof buffer) != 0)
    setsockopt (fd, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
  while (done < size)
    {
      ssize_t n = send (fd, bytes + done, size - done, MSG_DONTWAIT | MSG_NOSIGNAL);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          gint saved_errno = n < 0 ? errno : EIO;
          g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                       "cannot put %" G_GSIZE_FORMAT " queued bytes back (%" G_GSIZE_FORMAT
                       " done): %s",
                       size, done, g_strerror (saved_errno));
          return FALSE;
        }
      done += (gsize) n;
    }
  return TRUE;
}

/* The end's own shutdown (a job that shut down its writing: the other end
 * reads end-of-file after the queue). */
static void
replay_shutdown (const PairEnd *e)
{
  gboolean rd = (e->end->shutdown & 1) != 0, wr = (e->end->shutdown & 2) != 0;

  if (rd || wr)
    shutdown (e->fd, rd && wr ? SHUT_RDWR : rd ? SHUT_RD : SHUT_WR);
}

gboolean
molt_unix_link_pairs_connect (MoltUnixLinkPairs *pairs, gchar **failed_job, GError **error)
{
  for (guint i = 0; i < pairs->ends->len; i++)
    {
      PairEnd *e = g_ptr_array_index (pairs->ends, i), *p;
      gint sv[2];

      if (e->fd >= 0)
        continue;
      if ((p = find_partner (pairs, e)) == NULL)
        {
          *failed_job = g_strdup (e->job);
          g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                       "its unix connection socket:[%u] has its other end (socket:[%u]) in job "
                       "%s, which has no such end to restore",
                       e->end->inode, e->end->peer, e->end->peer_job);
          return FALSE;
        }
      if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        {
          gint saved_errno = errno;
          *failed_job = g_strdup (e->job);
          g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                       "cannot make a unix socket pair for its connection to job %s: %s",
                       e->end->peer_job, g_strerror (saved_errno));
          return FALSE;
        }
      e->fd = sv[0];
      p->fd = sv[1];
      if (!put_back (p->fd, e->end->queued, error) || !put_back (e->fd, p->end->queued, error))
        {
          *failed_job = g_strdup (e->job);
          g_prefix_error (error, "its unix connection to job %s: ", e->end->peer_job);
          return FALSE;
        }
      replay_shutdown (e);
      replay_shutdown (p);
    }
  return TRUE;
}

GArray *
molt_unix_link_pairs_take_fds (MoltUnixLinkPairs *pairs, const gchar *job)
{
  GArray *fds = g_array_new (FALSE, FALSE, sizeof (gint));

  for (guint i = 0; i < pairs->ends->len; i++)
    {
      PairEnd *e = g_ptr_array_index (pairs->ends, i);
      gint inode = (gint) e->end->inode;

      if (e->fd < 0 || !g_str_equal (e->job, job))
        continue;
      /* libcriu's CRIU is our child: it inherits what is not close-on-exec. */
      fcntl (e->fd, F_SETFD, 0);
      g_array_append_val (fds, e->fd);
      g_array_append_val (fds, inode);
    }
  return fds;
}

void
molt_unix_link_pairs_release (MoltUnixLinkPairs *pairs, const gchar *job)
{
  for (guint i = 0; i < pairs->ends->len; i++)
    {
      PairEnd *e = g_ptr_array_index (pairs->ends, i);

      if (e->fd >= 0 && g_str_equal (e->job, job))
        {
          close (e->fd);
          e->fd = -1;
        }
    }
}
