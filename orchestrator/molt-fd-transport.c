#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib-unix.h>

#include "molt-transport.h"

typedef struct
{
  MoltTransport parent;
  gint fd;
} MoltFdTransport;

static gboolean
wait_fd (gint fd, short events, gint64 deadline, GError **error)
{
  for (;;)
    {
      struct pollfd pfd = { .fd = fd, .events = events };
      gint64 left_ms = (deadline - g_get_monotonic_time () + 999) / 1000;
      int n;

      if (left_ms <= 0)
        break;
      n = poll (&pfd, 1, (int) MIN (left_ms, G_MAXINT));
      if (n > 0)
        return TRUE;
      if (n < 0 && errno != EINTR)
        {
          int saved_errno = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), "poll: %s",
                       g_strerror (saved_errno));
          return FALSE;
        }
    }
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "timed out");
  return FALSE;
}

static gssize
fd_recv (MoltTransport *transport, guint8 *buf, gsize len, gint64 deadline, GError **error)
{
  MoltFdTransport *self = (MoltFdTransport *) transport;

  for (;;)
    {
      ssize_t n = read (self->fd, buf, len);
      if (n >= 0)
        return n;
      if (errno == EINTR)
        continue;
      if (errno != EAGAIN)
        {
          int saved_errno = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), "read: %s",
                       g_strerror (saved_errno));
          return -1;
        }
      if (!wait_fd (self->fd, POLLIN, deadline, error))
        return -1;
    }
}

static gboolean
fd_send (MoltTransport *transport, const guint8 *buf, gsize len, gint64 deadline, GError **error)
{
  MoltFdTransport *self = (MoltFdTransport *) transport;

  while (len > 0)
    {
      ssize_t n = write (self->fd, buf, len);
      if (n > 0)
        {
          buf += n;
          len -= (gsize) n;
          continue;
        }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno != EAGAIN)
        {
          int saved_errno = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), "write: %s",
                       g_strerror (saved_errno));
          return FALSE;
        }
      if (!wait_fd (self->fd, POLLOUT, deadline, error))
        return FALSE;
    }
  return TRUE;
}

static void
fd_free (MoltTransport *transport)
{
  MoltFdTransport *self = (MoltFdTransport *) transport;

  close (self->fd);
  g_free (self);
}

static const MoltTransportClass fd_transport_class = {
  .recv = fd_recv,
  .send = fd_send,
  .free = fd_free,
};

MoltTransport *
molt_fd_transport_new (gint fd)
{
  MoltFdTransport *self = g_new0 (MoltFdTransport, 1);

  self->parent.klass = &fd_transport_class;
  self->fd = fd;
  g_unix_set_fd_nonblocking (fd, TRUE, NULL);
  return &self->parent;
}
