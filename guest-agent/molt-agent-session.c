#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>

#include "molt-agent-session.h"
#include "molt-line-reader.h"

/* While the host is not connected, a virtio port polls HUP at once: back off. */
#define MOLT_PORT_RETRY_MS    200
#define MOLT_WRITE_TIMEOUT_MS 5000
#define MOLT_READ_CHUNK       4096

/* What a late reply writes to: cleared when the session goes, so a reply
 * for a session that is gone is dropped. */
typedef struct
{
  gint refs;
  MoltAgentSession *session;
} MoltReplySink;

struct _MoltAgentSession
{
  MoltReplySink *sink;
  MoltAgent *agent;
  gint fd;
  gboolean is_port;
  GSocketConnection *connection;
  MoltLineReader *reader;
  guint watch_id;
  guint retry_id;
  MoltSessionClosedFunc on_closed;
  gpointer user_data;
};

static void session_watch (MoltAgentSession *session);

/* Replies are small; a host that stops reading for seconds loses the reply
 * rather than stalling every other session. */
static void
write_all (MoltAgentSession *session, const gchar *data, gsize len)
{
  gint64 deadline = g_get_monotonic_time () + MOLT_WRITE_TIMEOUT_MS * 1000;

  while (len > 0)
    {
      ssize_t n = write (session->fd, data, len);
      if (n > 0)
        {
          data += n;
          len -= (gsize) n;
          continue;
        }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        {
          struct pollfd pfd = { .fd = session->fd, .events = POLLOUT };
          gint64 left_ms = (deadline - g_get_monotonic_time ()) / 1000;
          if (left_ms > 0 && poll (&pfd, 1, (int) left_ms) >= 0)
            continue;
        }
      g_debug ("dropping %zu bytes of reply: %s", len, n < 0 ? g_strerror (errno) : "closed");
      return;
    }
}

static void
sink_unref (gpointer data)
{
  MoltReplySink *sink = data;
  if (--sink->refs == 0)
    g_free (sink);
}

static void
sink_reply (const gchar *reply, gboolean delimited, gpointer data)
{
  MoltReplySink *sink = data;

  if (sink->session == NULL)
    {
      g_debug ("dropping a reply: its session has closed");
      return;
    }
  if (delimited)
    write_all (sink->session, "\xff", 1);
  write_all (sink->session, reply, strlen (reply));
}

static void
handle_lines (MoltAgentSession *session)
{
  MoltLineStatus status;
  gchar *line = NULL;

  while ((status = molt_line_reader_next (session->reader, &line)) != MOLT_LINE_NONE)
    {
      g_autofree gchar *owned = line;

      if (status == MOLT_LINE_DELIMITER)
        continue;
      if (status == MOLT_LINE_OVERSIZED)
        {
          g_autofree gchar *reply = molt_agent_oversized_reply ();
          write_all (session, reply, strlen (reply));
          continue;
        }
      /* Long commands answer later, from the main loop; meanwhile this
       * session (and every other) is served. */
      session->sink->refs++;
      molt_agent_handle_line_async (session->agent, owned, sink_reply, session->sink, sink_unref);
    }
}

static gboolean
retry_cb (gpointer data)
{
  MoltAgentSession *session = data;

  session->retry_id = 0;
  session_watch (session);
  return G_SOURCE_REMOVE;
}

static gboolean
readable_cb (gint fd, GIOCondition condition, gpointer data)
{
  MoltAgentSession *session = data;
  guint8 buf[MOLT_READ_CHUNK];
  gboolean got_data = FALSE;

  for (;;)
    {
      ssize_t n = read (fd, buf, sizeof buf);
      if (n > 0)
        {
          molt_line_reader_feed (session->reader, buf, (gsize) n);
          handle_lines (session);
          got_data = TRUE;
          continue;
        }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return G_SOURCE_CONTINUE;
      break; /* EOF or error */
    }

  if (session->is_port)
    {
      /* Host side closed: wait for it to come back without spinning. */
      if (!got_data)
        {
          session->watch_id = 0;
          session->retry_id = g_timeout_add (MOLT_PORT_RETRY_MS, retry_cb, session);
          return G_SOURCE_REMOVE;
        }
      return G_SOURCE_CONTINUE;
    }
  session->watch_id = 0;
  if (session->on_closed != NULL)
    session->on_closed (session, session->user_data);
  return G_SOURCE_REMOVE;
}

static void
session_watch (MoltAgentSession *session)
{
  session->watch_id
      = g_unix_fd_add (session->fd, G_IO_IN | G_IO_HUP | G_IO_ERR, readable_cb, session);
}

MoltAgentSession *
molt_agent_session_new (MoltAgent *agent, gint fd, gboolean is_port, GSocketConnection *connection,
                        MoltSessionClosedFunc on_closed, gpointer user_data)
{
  MoltAgentSession *session = g_new0 (MoltAgentSession, 1);

  session->sink = g_new0 (MoltReplySink, 1);
  session->sink->refs = 1;
  session->sink->session = session;
  session->agent = agent;
  session->fd = fd;
  session->is_port = is_port;
  session->connection = connection != NULL ? g_object_ref (connection) : NULL;
  session->reader = molt_line_reader_new (MOLT_AGENT_MAX_REQUEST);
  session->on_closed = on_closed;
  session->user_data = user_data;
  g_unix_set_fd_nonblocking (fd, TRUE, NULL);
  session_watch (session);
  return session;
}

void
molt_agent_session_free (MoltAgentSession *session)
{
  if (session == NULL)
    return;
  session->sink->session = NULL;
  sink_unref (session->sink);
  if (session->watch_id != 0)
    g_source_remove (session->watch_id);
  if (session->retry_id != 0)
    g_source_remove (session->retry_id);
  molt_line_reader_free (session->reader);
  if (session->connection != NULL)
    {
      g_io_stream_close (G_IO_STREAM (session->connection), NULL, NULL);
      g_object_unref (session->connection);
    }
  else
    close (session->fd);
  g_free (session);
}
