/* Unix stream connections between jobs: see molt-unix-links.h. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "molt-job-freezer.h"
#include "molt-protocol-error.h"
#include "molt-unix-links.h"
#include "molt-unix-peers.h"

#define LINKS_FILE "unix-links.json"

/* Bytes one end's queue may hold: more than any default buffer (the
 * kernel's wmem_max is 208 KiB), within what a job may have raised its own
 * to. A larger queue read back from the images is refused as damaged. */
#define MOLT_UNIX_LINK_MAX_QUEUE (64 * 1024 * 1024)

void
molt_unix_link_end_free (MoltUnixLinkEnd *end)
{
  if (end == NULL)
    return;
  g_free (end->peer_job);
  g_clear_pointer (&end->queued, g_bytes_unref);
  g_free (end);
}

static void
add_held (GHashTable *held, guint job, gint pid)
{
  g_autofree gchar *fd_dir = g_strdup_printf ("/proc/%d/fd", pid);
  g_autoptr (GDir) dir = g_dir_open (fd_dir, 0, NULL);
  const gchar *fd_name;

  while (dir != NULL && (fd_name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree gchar *path = g_build_filename (fd_dir, fd_name, NULL);
      g_autofree gchar *target = g_file_read_link (path, NULL);
      MoltSocketHolder *holder;
      guint64 inode;

      if (target == NULL || !g_str_has_prefix (target, "socket:[")
          || (inode = g_ascii_strtoull (target + strlen ("socket:["), NULL, 10)) == 0
          || g_hash_table_contains (held, GUINT_TO_POINTER ((guint32) inode)))
        continue;
      holder = g_new (MoltSocketHolder, 1);
      holder->job = job;
      holder->pid = pid;
      holder->fd = atoi (fd_name);
      g_hash_table_insert (held, GUINT_TO_POINTER ((guint32) inode), holder);
    }
}

GHashTable *
molt_job_sockets_held (const gint *pids, guint n)
{
  GHashTable *held = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_free);

  for (guint j = 0; j < n; j++)
    {
      g_autoptr (GArray) tree = molt_process_tree (pids[j]);
      for (guint i = 0; i < tree->len; i++)
        add_held (held, j, g_array_index (tree, gint, i));
    }
  return held;
}

/* A copy of the socket the job holds at FD, through a pidfd. */
static gint
borrow_fd (gint pid, gint fd, GError **error)
{
  gint pidfd = (gint) syscall (SYS_pidfd_open, pid, 0);
  gint copy;

  if (pidfd < 0)
    {
      gint saved_errno = errno;
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                   "cannot open pid %d: %s", pid, g_strerror (saved_errno));
      return -1;
    }
  copy = (gint) syscall (SYS_pidfd_getfd, pidfd, fd, 0);
  if (copy < 0)
    {
      gint saved_errno = errno;
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                   "cannot reach fd %d of pid %d: %s", fd, pid, g_strerror (saved_errno));
    }
  else
    fcntl (copy, F_SETFD, FD_CLOEXEC);
  close (pidfd);
  return copy;
}

/* File descriptors passed in a peeked message land in our process: closed
 * at once, and the connection refused. */
static gboolean
passes_fds (struct msghdr *msg)
{
  gboolean found = FALSE;

  for (struct cmsghdr *c = CMSG_FIRSTHDR (msg); c != NULL; c = CMSG_NXTHDR (msg, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
      {
        gsize n = (c->cmsg_len - CMSG_LEN (0)) / sizeof (gint);
        for (gsize i = 0; i < n; i++)
          {
            gint fd;
            memcpy (&fd, CMSG_DATA (c) + i * sizeof fd, sizeof fd);
            close (fd);
          }
        found = TRUE;
      }
  return found || (msg->msg_flags & MSG_CTRUNC);
}

/* What waits in the socket's receive queue, read without taking it: a
 * peek from offset 0 (SO_PEEK_OFF, as CRIU reads queues), the job's own
 * peek offset put back after. */
static GBytes *
peek_queue (gint fd, GError **error)
{
  gint queued = 0, before = -1, zero = 0;
  socklen_t len = sizeof before;
  g_autofree guint8 *buf = NULL;
  gint got = 0;
  gboolean fds = FALSE;

  if (ioctl (fd, SIOCINQ, &queued) != 0)
    {
      gint saved_errno = errno;
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                   "cannot read its queue's length: %s", g_strerror (saved_errno));
      return NULL;
    }
  if (queued <= 0)
    return g_bytes_new (NULL, 0);
  if (getsockopt (fd, SOL_SOCKET, SO_PEEK_OFF, &before, &len) != 0
      || setsockopt (fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof zero) != 0)
    {
      gint saved_errno = errno;
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                   "cannot peek at its queue: %s", g_strerror (saved_errno));
      return NULL;
    }
  buf = g_malloc (queued);
  while (got < queued && !fds)
    {
      union
      {
        struct cmsghdr align;
        gchar space[CMSG_SPACE (sizeof (gint) * 253)];
      } control;
      struct iovec iov = { buf + got, (gsize) (queued - got) };
      struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof control
      };
      ssize_t n = recvmsg (fd, &msg, MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          gint saved_errno = errno;
          setsockopt (fd, SOL_SOCKET, SO_PEEK_OFF, &before, sizeof before);
          g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                       "cannot peek at its queue: %s", g_strerror (saved_errno));
          return NULL;
        }
      fds = passes_fds (&msg);
      if (n == 0)
        break;
      got += (gint) n;
    }
  setsockopt (fd, SOL_SOCKET, SO_PEEK_OFF, &before, sizeof before);
  if (fds)
    {
      g_set_error_literal (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                           "file descriptors are in flight on it (SCM_RIGHTS), which cannot "
                           "be carried from one job to another");
      return NULL;
    }
  return g_bytes_new_take (g_steal_pointer (&buf), got);
}

static void
ptr_array_unref (gpointer data)
{
  g_ptr_array_unref (data);
}

GHashTable *
molt_unix_links_collect (const gchar *const *names, const gint *pids, guint n, GError **error)
{
  g_autoptr (GHashTable) links
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, ptr_array_unref);
  g_autoptr (GHashTable) held = molt_job_sockets_held (pids, n);
  g_autoptr (GHashTable) sockets = NULL;
  g_autoptr (GError) local_read = NULL;
  GHashTableIter iter;
  gpointer key, value;

  for (guint j = 0; j < n; j++)
    g_hash_table_insert (links, g_strdup (names[j]),
                         g_ptr_array_new_with_free_func ((GDestroyNotify) molt_unix_link_end_free));
  if (n < 2)
    return g_steal_pointer (&links);
  /* Without the kernel's unix socket diagnostics nothing can be found:
   * CRIU, which needs them too, has the last word. */
  if ((sockets = molt_unix_sockets_read (&local_read)) == NULL)
    {
      g_warning ("cannot look for unix connections between jobs: %s", local_read->message);
      return g_steal_pointer (&links);
    }
  g_hash_table_iter_init (&iter, held);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      guint32 inode = GPOINTER_TO_UINT (key);
      const MoltSocketHolder *holder = value, *other;
      const MoltUnixSocket *sock = g_hash_table_lookup (sockets, key);
      g_autoptr (MoltUnixLinkEnd) end = NULL;
      g_autoptr (GError) local = NULL;
      gint fd;

      if (sock == NULL || sock->peer == 0 || sock->type == SOCK_DGRAM
          || (other = g_hash_table_lookup (held, GUINT_TO_POINTER (sock->peer))) == NULL
          || other->job == holder->job)
        continue;
      if (sock->type != SOCK_STREAM)
        {
          g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                       "job %s: pid %d holds a unix seqpacket connection (fd %d) to job %s; "
                       "molt carries only stream connections from one job to another",
                       names[holder->job], holder->pid, holder->fd, names[other->job]);
          return NULL;
        }
      end = g_new0 (MoltUnixLinkEnd, 1);
      end->inode = inode;
      end->peer = sock->peer;
      end->peer_job = g_strdup (names[other->job]);
      end->shutdown = sock->shutdown;
      if ((fd = borrow_fd (holder->pid, holder->fd, &local)) >= 0)
        {
          end->queued = peek_queue (fd, &local);
          close (fd);
        }
      if (end->queued == NULL)
        {
          g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                       "job %s: the unix connection at fd %d of pid %d to job %s: %s",
                       names[holder->job], holder->fd, holder->pid, names[other->job],
                       local->message);
          return NULL;
        }
      g_ptr_array_add (g_hash_table_lookup (links, names[holder->job]), g_steal_pointer (&end));
    }
  return g_steal_pointer (&links);
}

gboolean
molt_unix_links_save (GPtrArray *ends, const gchar *images_dir, GError **error)
{
  g_autofree gchar *path = g_build_filename (images_dir, LINKS_FILE, NULL);
  g_autoptr (JsonArray) array = json_array_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree gchar *text = NULL;

  if (ends == NULL || ends->len == 0)
    {
      if (g_unlink (path) != 0 && errno != ENOENT)
        {
          gint saved_errno = errno;
          g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                       "cannot remove %s: %s", path, g_strerror (saved_errno));
          return FALSE;
        }
      return TRUE;
    }
  for (guint i = 0; i < ends->len; i++)
    {
      const MoltUnixLinkEnd *end = g_ptr_array_index (ends, i);
      JsonObject *obj = json_object_new ();
      gsize size = 0;
      const guint8 *data = g_bytes_get_data (end->queued, &size);
      g_autofree gchar *encoded = g_base64_encode (data, size);

      json_object_set_int_member (obj, "inode", end->inode);
      json_object_set_int_member (obj, "peer", end->peer);
      json_object_set_string_member (obj, "peer-job", end->peer_job);
      json_object_set_int_member (obj, "shutdown", end->shutdown);
      json_object_set_string_member (obj, "queued", encoded);
      json_array_add_object_element (array, obj);
    }
  root = json_node_init_array (json_node_alloc (), array);
  text = json_to_string (root, FALSE);
  if (g_mkdir_with_parents (images_dir, 0700) != 0)
    {
      gint saved_errno = errno;
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                   "cannot use image directory %s: %s", images_dir, g_strerror (saved_errno));
      return FALSE;
    }
  return g_file_set_contents (path, text, -1, error);
}

static gboolean
member_uint32 (JsonObject *obj, const gchar *name, guint32 max, guint32 *out)
{
  JsonNode *node = json_object_get_member (obj, name);
  gint64 v;

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  v = json_node_get_int (node);
  if (v < 0 || v > max)
    return FALSE;
  *out = (guint32) v;
  return TRUE;
}

static MoltUnixLinkEnd *
end_from_json (JsonNode *node)
{
  g_autoptr (MoltUnixLinkEnd) end = g_new0 (MoltUnixLinkEnd, 1);
  JsonObject *obj = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  JsonNode *peer_job, *queued;
  guint32 shutdown = 0;
  guchar *data;
  gsize size = 0;

  if (obj == NULL || !member_uint32 (obj, "inode", G_MAXUINT32, &end->inode)
      || !member_uint32 (obj, "peer", G_MAXUINT32, &end->peer)
      || !member_uint32 (obj, "shutdown", 3, &shutdown)
      || (peer_job = json_object_get_member (obj, "peer-job")) == NULL
      || json_node_get_value_type (peer_job) != G_TYPE_STRING
      || (queued = json_object_get_member (obj, "queued")) == NULL
      || json_node_get_value_type (queued) != G_TYPE_STRING
      || strlen (json_node_get_string (queued)) > MOLT_UNIX_LINK_MAX_QUEUE / 3 * 4 + 4)
    return NULL;
  end->shutdown = (guint8) shutdown;
  end->peer_job = g_strdup (json_node_get_string (peer_job));
  data = g_base64_decode (json_node_get_string (queued), &size);
  end->queued = g_bytes_new_take (data, size);
  return g_steal_pointer (&end);
}

GPtrArray *
molt_unix_links_load (const gchar *images_dir, GError **error)
{
  g_autofree gchar *path = g_build_filename (images_dir, LINKS_FILE, NULL);
  g_autoptr (GPtrArray) ends
      = g_ptr_array_new_with_free_func ((GDestroyNotify) molt_unix_link_end_free);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local = NULL;
  JsonNode *root;
  JsonArray *array;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return g_steal_pointer (&ends);
  if (!json_parser_load_from_file (parser, path, &local))
    {
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC, "cannot read %s: %s",
                   path, local->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  array = root != NULL && JSON_NODE_HOLDS_ARRAY (root) ? json_node_get_array (root) : NULL;
  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    {
      MoltUnixLinkEnd *end = end_from_json (json_array_get_element (array, i));
      if (end == NULL)
        {
          array = NULL;
          break;
        }
      g_ptr_array_add (ends, end);
    }
  if (array == NULL)
    {
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                   "%s is damaged: not the unix connections molt wrote", path);
      return NULL;
    }
  return g_steal_pointer (&ends);
}
