/* Typed, checked reads of an agent reply.
 *
 * The guest is untrusted: every member the host uses is read through these
 * getters. A missing member (unless optional) or one of the wrong type is a
 * MOLT_HOST_ERROR_AGENT_PROTOCOL error naming the command and the member;
 * integers are checked against a range before any arithmetic. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef enum
{
  MOLT_REPLY_REQUIRED = 0,
  MOLT_REPLY_OPTIONAL = 1 << 0, /* missing (or null) leaves *out as it was */
} MoltReplyFlags;

/* WHAT names the reply for the error message: the command ("info"), or a
 * part of it ("job-list[3]"). */
gboolean molt_reply_get_string (JsonObject *obj, const gchar *what, const gchar *member,
                                MoltReplyFlags flags, const gchar **out, GError **error);
gboolean molt_reply_get_int (JsonObject *obj, const gchar *what, const gchar *member, gint64 min,
                             gint64 max, MoltReplyFlags flags, gint64 *out, GError **error);
gboolean molt_reply_get_bool (JsonObject *obj, const gchar *what, const gchar *member,
                              MoltReplyFlags flags, gboolean *out, GError **error);
gboolean molt_reply_get_object (JsonObject *obj, const gchar *what, const gchar *member,
                                MoltReplyFlags flags, JsonObject **out, GError **error);
gboolean molt_reply_get_array (JsonObject *obj, const gchar *what, const gchar *member,
                               MoltReplyFlags flags, JsonArray **out, GError **error);
/* Element INDEX of ARRAY, which must be an object. */
JsonObject *molt_reply_array_object (JsonArray *array, const gchar *what, guint index,
                                     GError **error);
/* The whole reply must be an object (or an array). */
JsonObject *molt_reply_as_object (JsonNode *node, const gchar *what, GError **error);
JsonArray *molt_reply_as_array (JsonNode *node, const gchar *what, GError **error);

G_END_DECLS
