/* Requests and replies of the molt agent protocol (one JSON object a line).
 *
 *   {"execute": "NAME", "arguments": {...}, "id": N}
 *   {"return": VALUE, "id": N}
 *   {"error": {"class": "CLASS", "desc": "TEXT"}, "id": N}
 *
 * Parsing never trusts the peer: nesting depth is bounded before json-glib
 * sees the text (its parser recurses), and every field is type-checked. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define MOLT_JSON_MAX_DEPTH 32

typedef struct
{
  gchar *execute;
  JsonObject *arguments; /* never NULL: empty when absent */
  JsonNode *id;          /* NULL when absent */
} MoltRequest;

typedef struct
{
  JsonNode *ret;      /* set on success */
  gchar *error_class; /* set on failure */
  gchar *error_desc;
  JsonNode *id; /* NULL when absent */
} MoltReply;

MoltRequest *molt_request_parse (const gchar *line, GError **error);
void molt_request_free (MoltRequest *request);
gchar *molt_request_build (const gchar *execute, JsonObject *arguments, gint64 id);

MoltReply *molt_reply_parse (const gchar *line, GError **error);
void molt_reply_free (MoltReply *reply);
gboolean molt_reply_is_error (const MoltReply *reply);
/* Turns an error reply into a GError in MOLT_PROTOCOL_ERROR. */
void molt_reply_propagate_error (const MoltReply *reply, GError **error);
gboolean molt_reply_id_equals (const MoltReply *reply, gint64 id);

gchar *molt_reply_build_return (JsonNode *ret, JsonNode *id);
gchar *molt_reply_build_error (const GError *err, JsonNode *id);

/* Parses one JSON value with bounded depth; valid UTF-8 required. */
JsonNode *molt_json_parse_bounded (const gchar *text, GError **error);
gchar *molt_json_to_line (JsonNode *node);
/* A JSON array of the strings (NULL: empty). */
JsonNode *molt_json_from_strv (const gchar *const *strv);
/* Untrusted (guest) text made safe for a terminal: at most MAX_CHARS
 * characters, then "..."; control characters, the backslash and bytes that
 * are not UTF-8 shown as \xNN. Printable UTF-8 stays as it is. */
gchar *molt_text_excerpt (const gchar *text, gsize max_chars);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MoltRequest, molt_request_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MoltReply, molt_reply_free)

G_END_DECLS
