#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gio.h>

#include "molt-unix-peers.h"

/* One reply message: the socket and, among its attributes, its peer. */
static void
add_socket (GHashTable *sockets, const struct nlmsghdr *h)
{
  const struct unix_diag_msg *msg = NLMSG_DATA (h);
  gint len = (gint) h->nlmsg_len - (gint) NLMSG_LENGTH (sizeof *msg);
  const struct rtattr *attr = (const struct rtattr *) (msg + 1);
  MoltUnixSocket *sock;

  if (len < 0)
    return;
  sock = g_new0 (MoltUnixSocket, 1);
  sock->type = msg->udiag_type;
  for (; RTA_OK (attr, len); attr = RTA_NEXT (attr, len))
    if (attr->rta_type == UNIX_DIAG_PEER && RTA_PAYLOAD (attr) >= sizeof (guint32))
      memcpy (&sock->peer, RTA_DATA (attr), sizeof sock->peer);
    else if (attr->rta_type == UNIX_DIAG_SHUTDOWN && RTA_PAYLOAD (attr) >= 1)
      sock->shutdown = *(const guint8 *) RTA_DATA (attr);
  g_hash_table_insert (sockets, GUINT_TO_POINTER (msg->udiag_ino), sock);
}

GHashTable *
molt_unix_sockets_read (GError **error)
{
  struct
  {
    struct nlmsghdr nlh;
    struct unix_diag_req req;
  } request = {
    .nlh = { .nlmsg_len = sizeof request,
             .nlmsg_type = SOCK_DIAG_BY_FAMILY,
             .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
    .req = { .sdiag_family = AF_UNIX, .udiag_states = (guint32) -1, .udiag_show = UDIAG_SHOW_PEER },
  };
  g_autoptr (GHashTable) sockets
      = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_free);
  gint fd = socket (AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  gboolean done = FALSE;
  guint8 buf[32768];

  if (fd < 0 || send (fd, &request, sizeof request, 0) != (ssize_t) sizeof request)
    {
      gint saved_errno = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "cannot ask the kernel for its unix sockets: %s", g_strerror (saved_errno));
      if (fd >= 0)
        close (fd);
      return NULL;
    }
  while (!done)
    {
      ssize_t n = recv (fd, buf, sizeof buf, 0);
      const struct nlmsghdr *h = (const struct nlmsghdr *) buf;

      if (n <= 0)
        {
          gint saved_errno = n < 0 ? errno : EPROTO;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                       "reading the kernel's unix sockets: %s", g_strerror (saved_errno));
          close (fd);
          return NULL;
        }
      for (; NLMSG_OK (h, (guint32) n); h = NLMSG_NEXT (h, n))
        if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR)
          done = TRUE;
        else if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY)
          add_socket (sockets, h);
    }
  close (fd);
  return g_steal_pointer (&sockets);
}

gint
molt_unix_socket_holder (guint32 inode)
{
  g_autofree gchar *wanted = g_strdup_printf ("socket:[%u]", inode);
  g_autoptr (GDir) proc = g_dir_open ("/proc", 0, NULL);
  const gchar *pid_name;

  while (proc != NULL && (pid_name = g_dir_read_name (proc)) != NULL)
    {
      g_autofree gchar *fd_dir = NULL;
      g_autoptr (GDir) fds = NULL;
      const gchar *fd_name;

      if (!g_ascii_isdigit (pid_name[0]))
        continue;
      fd_dir = g_build_filename ("/proc", pid_name, "fd", NULL);
      fds = g_dir_open (fd_dir, 0, NULL);
      while (fds != NULL && (fd_name = g_dir_read_name (fds)) != NULL)
        {
          g_autofree gchar *path = g_build_filename (fd_dir, fd_name, NULL);
          g_autofree gchar *target = g_file_read_link (path, NULL);

          if (g_strcmp0 (target, wanted) == 0)
            return atoi (pid_name);
        }
    }
  return 0;
}
