#include <string.h>
#include <unistd.h>

#include "fake-peer.h"
#include "molt-line-reader.h"

void
fake_peer_serve (int fd, FakePeerFunc func, gpointer data)
{
  g_autoptr (MoltLineReader) reader = molt_line_reader_new (65536);
  guint8 buf[4096];
  ssize_t n;

  while ((n = read (fd, buf, sizeof buf)) > 0)
    {
      gchar *line = NULL;
      MoltLineStatus status;

      molt_line_reader_feed (reader, buf, (gsize) n);
      while ((status = molt_line_reader_next (reader, &line)) != MOLT_LINE_NONE)
        {
          g_autofree gchar *owned = line;
          g_autoptr (MoltRequest) req = NULL;

          if (status == MOLT_LINE_OK && (req = molt_request_parse (owned, NULL)) != NULL)
            func (req, data);
        }
    }
}

void
fake_peer_write (int fd, const char *text)
{
  size_t len = strlen (text);

  while (len > 0)
    {
      ssize_t n = write (fd, text, len);
      if (n <= 0)
        return;
      text += n;
      len -= (size_t) n;
    }
}
