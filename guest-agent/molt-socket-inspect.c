#include <string.h>
#include <sys/xattr.h>

#include "molt-socket-inspect.h"

/* The protocols CRIU dumps, by the socket's own name for it
 * (system.sockprotoname; a prefix covers the v6 and stream variants):
 * criu/sockets.c dumps only AF_UNIX, AF_INET(6), AF_PACKET and AF_NETLINK,
 * and of INET: TCP, UDP, UDP-Lite and raw sockets. ICMP datagram ("ping")
 * sockets fail the dump ("Unsupported proto 1", seen on the test guest),
 * and so would MPTCP and SCTP ones. */
static const gchar *const dumpable_protocols[] = {
  "UNIX", "TCP", "UDP", "RAW", "PACKET", "NETLINK", NULL,
};

static gboolean
protocol_is_dumpable (const gchar *proto)
{
  for (guint i = 0; dumpable_protocols[i] != NULL; i++)
    if (g_str_has_prefix (proto, dumpable_protocols[i]))
      return TRUE;
  return FALSE;
}

/* Bytes waiting to be read on the netlink socket INODE, from the job's own
 * /proc/PID/net/netlink ("sk Eth Pid Groups Rmem Wmem Dump Locks Drops
 * Inode"); 0 when not found. */
static guint64
netlink_unread (gint pid, guint64 inode)
{
  g_autofree gchar *path = g_strdup_printf ("/proc/%d/net/netlink", pid);
  g_autofree gchar *text = NULL;
  g_auto (GStrv) lines = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return 0;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 1; lines[i] != NULL; i++)
    {
      g_auto (GStrv) f = g_strsplit_set (g_strstrip (lines[i]), " ", -1);
      const gchar *words[10];
      guint n = 0;

      for (guint j = 0; f[j] != NULL && n < G_N_ELEMENTS (words); j++)
        if (f[j][0] != '\0')
          words[n++] = f[j];
      if (n == G_N_ELEMENTS (words) && g_ascii_strtoull (words[9], NULL, 10) == inode)
        return g_ascii_strtoull (words[4], NULL, 10);
    }
  return 0;
}

gchar *
molt_socket_inspect_fd (gint pid, const gchar *fd_path, const gchar *fd_name)
{
  g_autofree gchar *target = g_file_read_link (fd_path, NULL);
  gchar proto[64] = "";
  ssize_t len;
  guint64 unread;

  if (target == NULL || !g_str_has_prefix (target, "socket:["))
    return NULL;
  len = getxattr (fd_path, "system.sockprotoname", proto, sizeof proto - 1);
  if (len <= 0)
    return NULL;
  proto[len] = '\0';
  if (!protocol_is_dumpable (proto))
    return g_strdup_printf (
        "holds a socket of kind %s (fd %s); CRIU checkpoints only unix, TCP, UDP, "
        "raw, packet and netlink sockets",
        proto, fd_name);
  if (g_str_equal (proto, "NETLINK")
      && (unread = netlink_unread (pid, g_ascii_strtoull (target + strlen ("socket:["), NULL, 10)))
             > 0)
    return g_strdup_printf ("has %" G_GUINT64_FORMAT " bytes unread on a netlink socket (fd %s); "
                            "CRIU cannot checkpoint a netlink socket with data to read: the job "
                            "must read it first",
                            unread, fd_name);
  return NULL;
}
