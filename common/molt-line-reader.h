/* Splits a byte stream into protocol lines.
 *
 * The peer may be hostile: a line longer than the cap is dropped (reported
 * once), memory use stays bounded by the cap, and a 0xFF byte (which never
 * occurs in UTF-8 JSON) resets the parser so both sides can resynchronise. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  MOLT_LINE_NONE,      /* no complete line yet */
  MOLT_LINE_OK,        /* *line holds one line, without the newline */
  MOLT_LINE_OVERSIZED, /* a line exceeded the cap and was dropped */
  MOLT_LINE_DELIMITER, /* a 0xFF byte was seen; partial data before it dropped */
} MoltLineStatus;

typedef struct _MoltLineReader MoltLineReader;

MoltLineReader *molt_line_reader_new (gsize max_line);
void molt_line_reader_free (MoltLineReader *reader);
void molt_line_reader_feed (MoltLineReader *reader, const guint8 *data, gsize len);
MoltLineStatus molt_line_reader_next (MoltLineReader *reader, gchar **line);
/* Drop everything (complete lines included) up to and including the next
 * 0xFF byte: used by the host while waiting for a sync-delimited reply. */
void molt_line_reader_skip_to_delimiter (MoltLineReader *reader);
gsize molt_line_reader_get_max_line (MoltLineReader *reader);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MoltLineReader, molt_line_reader_free)

G_END_DECLS
