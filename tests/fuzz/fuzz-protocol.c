/* libFuzzer target: everything an untrusted peer can send.
 *
 * The input is split into chunks as if read from the channel; each complete
 * line goes through both the request parser (agent side) and the reply
 * parser (host side); a parsed request must survive a build/parse round
 * trip. Must never crash, leak or grow memory past the line cap. */
#include <stdint.h>
#include <string.h>

#include "molt-line-reader.h"
#include "molt-message.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (MoltLineReader) reader = molt_line_reader_new (4096);
  gchar *line = NULL;
  MoltLineStatus status;
  size_t chunk = size > 0 ? (data[0] % 64) + 1 : 1;

  for (size_t off = 0; off < size; off += chunk)
    {
      molt_line_reader_feed (reader, data + off, MIN (chunk, size - off));
      if (off == 0 && size > 1 && data[1] == 0xFF)
        molt_line_reader_skip_to_delimiter (reader);
      while ((status = molt_line_reader_next (reader, &line)) != MOLT_LINE_NONE)
        {
          g_autofree gchar *owned = line;
          g_autoptr (MoltRequest) req = NULL;
          g_autoptr (MoltReply) reply = NULL;

          if (status != MOLT_LINE_OK)
            continue;
          req = molt_request_parse (owned, NULL);
          reply = molt_reply_parse (owned, NULL);
          if (reply != NULL && molt_reply_is_error (reply))
            {
              g_autoptr (GError) error = NULL;
              molt_reply_propagate_error (reply, &error);
            }
          if (req != NULL)
            {
              /* What we build from a parsed request must parse back the same. */
              g_autofree gchar *again = molt_request_build (req->execute, req->arguments, 1);
              g_autoptr (MoltRequest) back = molt_request_parse (g_strchomp (again), NULL);
              if (back == NULL || strcmp (back->execute, req->execute) != 0)
                __builtin_trap ();
            }
        }
    }
  return 0;
}
