/* systemd's readiness protocol: see molt-sd-notify.h. */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gio/gio.h>

#include "molt-sd-notify.h"

gchar *
molt_sd_notify_take_socket (void)
{
  gchar *socket = g_strdup (g_getenv ("NOTIFY_SOCKET"));

  g_unsetenv ("NOTIFY_SOCKET");
  return socket;
}

gboolean
molt_sd_notify (const gchar *socket_path, const gchar *state, GError **error)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  gsize len = strlen (socket_path);
  socklen_t addr_len;
  gint fd, saved_errno;

  if ((socket_path[0] != '/' && socket_path[0] != '@') || len < 2 || len >= sizeof addr.sun_path)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "NOTIFY_SOCKET=%s is not a socket path", socket_path);
      return FALSE;
    }
  memcpy (addr.sun_path, socket_path, len);
  if (socket_path[0] == '@')
    addr.sun_path[0] = '\0'; /* abstract namespace: not NUL-terminated */
  addr_len = (socklen_t) (offsetof (struct sockaddr_un, sun_path) + len
                          + (socket_path[0] == '/' ? 1 : 0));
  if ((fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
    {
      saved_errno = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "cannot create a socket: %s", g_strerror (saved_errno));
      return FALSE;
    }
  if (sendto (fd, state, strlen (state), MSG_NOSIGNAL, (struct sockaddr *) &addr, addr_len) < 0)
    {
      saved_errno = errno;
      close (fd);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "cannot notify systemd at %s: %s", socket_path, g_strerror (saved_errno));
      return FALSE;
    }
  close (fd);
  return TRUE;
}
