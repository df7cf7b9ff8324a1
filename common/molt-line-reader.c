#include <string.h>

#include "molt-line-reader.h"

#define MOLT_DELIMITER 0xFF

typedef struct
{
  MoltLineStatus status;
  gchar *line;
} MoltLineEvent;

struct _MoltLineReader
{
  GByteArray *partial;
  gsize max_line;
  gboolean discarding; /* inside an oversized line */
  gboolean skip_to_delimiter;
  GQueue events; /* MoltLineEvent */
};

MoltLineReader *
molt_line_reader_new (gsize max_line)
{
  MoltLineReader *reader = g_new0 (MoltLineReader, 1);
  reader->partial = g_byte_array_new ();
  reader->max_line = max_line;
  g_queue_init (&reader->events);
  return reader;
}

static void
event_free (gpointer data)
{
  MoltLineEvent *event = data;
  g_free (event->line);
  g_free (event);
}

void
molt_line_reader_free (MoltLineReader *reader)
{
  if (reader == NULL)
    return;
  g_byte_array_unref (reader->partial);
  g_queue_clear_full (&reader->events, event_free);
  g_free (reader);
}

static void
push_event (MoltLineReader *reader, MoltLineStatus status, gchar *line)
{
  MoltLineEvent *event = g_new0 (MoltLineEvent, 1);
  event->status = status;
  event->line = line;
  g_queue_push_tail (&reader->events, event);
}

static void
finish_line (MoltLineReader *reader)
{
  gsize len = reader->partial->len;
  const gchar *data = (const gchar *) reader->partial->data;

  if (reader->discarding)
    {
      reader->discarding = FALSE;
      g_byte_array_set_size (reader->partial, 0);
      return;
    }
  if (len > 0 && data[len - 1] == '\r')
    len--;
  if (len > 0)
    push_event (reader, MOLT_LINE_OK, g_strndup (data, len));
  g_byte_array_set_size (reader->partial, 0);
}

void
molt_line_reader_feed (MoltLineReader *reader, const guint8 *data, gsize len)
{
  while (len > 0)
    {
      const guint8 *nl = memchr (data, '\n', len);
      const guint8 *ff = memchr (data, MOLT_DELIMITER, len);
      const guint8 *stop = nl;
      gsize chunk;

      if (ff != NULL && (stop == NULL || ff < stop))
        stop = ff;
      chunk = stop != NULL ? (gsize) (stop - data) : len;

      if (!reader->skip_to_delimiter && !reader->discarding)
        {
          if (reader->partial->len + chunk > reader->max_line)
            {
              g_byte_array_set_size (reader->partial, 0);
              reader->discarding = TRUE;
              push_event (reader, MOLT_LINE_OVERSIZED, NULL);
            }
          else
            g_byte_array_append (reader->partial, data, chunk);
        }

      if (stop == NULL)
        return;

      if (*stop == MOLT_DELIMITER)
        {
          g_byte_array_set_size (reader->partial, 0);
          reader->discarding = FALSE;
          reader->skip_to_delimiter = FALSE;
          push_event (reader, MOLT_LINE_DELIMITER, NULL);
        }
      else if (!reader->skip_to_delimiter)
        finish_line (reader);

      len -= chunk + 1;
      data = stop + 1;
    }
}

MoltLineStatus
molt_line_reader_next (MoltLineReader *reader, gchar **line)
{
  MoltLineEvent *event = g_queue_pop_head (&reader->events);
  MoltLineStatus status;

  if (line != NULL)
    *line = NULL;
  if (event == NULL)
    return MOLT_LINE_NONE;
  status = event->status;
  if (line != NULL)
    *line = g_steal_pointer (&event->line);
  event_free (event);
  return status;
}

void
molt_line_reader_skip_to_delimiter (MoltLineReader *reader)
{
  g_queue_clear_full (&reader->events, event_free);
  g_byte_array_set_size (reader->partial, 0);
  reader->discarding = FALSE;
  reader->skip_to_delimiter = TRUE;
}

gsize
molt_line_reader_get_max_line (MoltLineReader *reader)
{
  return reader->max_line;
}
