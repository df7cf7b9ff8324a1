#include <string.h>

#include "molt-message.h"
#include "molt-protocol-error.h"

/* What json-glib accepts but JSON does not, checked before it runs: its
 * parser is recursive, so deep nesting must be refused first; and it takes
 * GScanner's octal escapes ("\\333" is the byte 0xDB), which turn a valid
 * UTF-8 line into a string that is not. */
static gboolean
text_is_acceptable (const gchar *text, guint max_depth, GError **error)
{
  guint depth = 0;
  gboolean in_string = FALSE;

  for (const gchar *p = text; *p != '\0'; p++)
    {
      if (in_string)
        {
          if (*p == '\\' && p[1] != '\0')
            {
              p++;
              if (strchr ("\"\\/bfnrtu", *p) == NULL)
                {
                  g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_PARSE,
                               "message is not valid JSON: escape '\\%c' in a string",
                               g_ascii_isprint (*p) ? *p : '?');
                  return FALSE;
                }
            }
          else if (*p == '"')
            in_string = FALSE;
          continue;
        }
      switch (*p)
        {
        case '"':
          in_string = TRUE;
          break;
        case '[':
        case '{':
          if (++depth > max_depth)
            {
              g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_PARSE,
                           "message nests deeper than %u levels", max_depth);
              return FALSE;
            }
          break;
        case ']':
        case '}':
          if (depth > 0)
            depth--;
          break;
        default:
          break;
        }
    }
  return TRUE;
}

/* What a terminal could act on: C0, DEL and C1 controls (a title, cursor
 * moves, colours), and the backslash, so that an escape cannot be forged. */
static gboolean
needs_escape (gunichar c)
{
  return c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f) || c == '\\';
}

gchar *
molt_text_excerpt (const gchar *text, gsize max_chars)
{
  GString *out = g_string_new (NULL);
  const gchar *p = text;
  const gchar *end = text + strlen (text);
  gsize n;

  for (n = 0; p < end && n < max_chars; n++)
    {
      gunichar c = g_utf8_get_char_validated (p, end - p);
      gboolean valid = c != (gunichar) -1 && c != (gunichar) -2;
      gsize len = valid ? (gsize) g_utf8_skip[(guchar) *p] : 1;

      if (!valid || needs_escape (c))
        for (gsize i = 0; i < len; i++)
          g_string_append_printf (out, "\\x%02x", (guchar) p[i]);
      else
        g_string_append_len (out, p, (gssize) len);
      p += len;
    }
  if (p < end)
    g_string_append (out, "...");
  return g_string_free (out, FALSE);
}

JsonNode *
molt_json_parse_bounded (const gchar *text, GError **error)
{
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (GError) local_error = NULL;
  JsonNode *root;

  if (!g_utf8_validate (text, -1, NULL))
    {
      g_set_error_literal (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_PARSE,
                           "message is not valid UTF-8");
      return NULL;
    }
  if (!text_is_acceptable (text, MOLT_JSON_MAX_DEPTH, error))
    return NULL;
  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, text, -1, &local_error))
    {
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_PARSE,
                   "message is not valid JSON: %s", local_error->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL)
    {
      g_set_error_literal (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_PARSE,
                           "message is empty");
      return NULL;
    }
  return json_node_copy (root);
}

gchar *
molt_json_to_line (JsonNode *node)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autofree gchar *text = NULL;

  json_generator_set_root (gen, node);
  text = json_generator_to_data (gen, NULL);
  return g_strconcat (text, "\n", NULL);
}

JsonNode *
molt_json_from_strv (const gchar *const *strv)
{
  g_autoptr (JsonArray) array = json_array_new ();

  for (guint i = 0; strv != NULL && strv[i] != NULL; i++)
    json_array_add_string_element (array, strv[i]);
  return json_node_init_array (json_node_alloc (), array);
}

static gboolean
id_is_valid (JsonNode *id)
{
  if (JSON_NODE_HOLDS_VALUE (id))
    {
      GType type = json_node_get_value_type (id);
      return type == G_TYPE_INT64 || type == G_TYPE_STRING;
    }
  return FALSE;
}

MoltRequest *
molt_request_parse (const gchar *line, GError **error)
{
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (MoltRequest) request = NULL;
  JsonObject *obj;
  JsonNode *node;

  root = molt_json_parse_bounded (line, error);
  if (root == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_PARSE,
                           "request must be a JSON object");
      return NULL;
    }
  obj = json_node_get_object (root);
  request = g_new0 (MoltRequest, 1);

  node = json_object_get_member (obj, "id");
  if (node != NULL)
    {
      if (!id_is_valid (node))
        {
          g_set_error_literal (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_INVALID_PARAMETER,
                               "'id' must be an integer or a string");
          return NULL;
        }
      request->id = json_node_copy (node);
    }

  node = json_object_get_member (obj, "execute");
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      g_set_error_literal (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_INVALID_PARAMETER,
                           "'execute' must be a string naming a command");
      return NULL;
    }
  request->execute = g_strdup (json_node_get_string (node));

  node = json_object_get_member (obj, "arguments");
  if (node != NULL && !JSON_NODE_HOLDS_NULL (node))
    {
      if (!JSON_NODE_HOLDS_OBJECT (node))
        {
          g_set_error_literal (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_INVALID_PARAMETER,
                               "'arguments' must be an object");
          return NULL;
        }
      request->arguments = json_object_ref (json_node_get_object (node));
    }
  else
    request->arguments = json_object_new ();

  return g_steal_pointer (&request);
}

void
molt_request_free (MoltRequest *request)
{
  if (request == NULL)
    return;
  g_free (request->execute);
  if (request->arguments != NULL)
    json_object_unref (request->arguments);
  if (request->id != NULL)
    json_node_unref (request->id);
  g_free (request);
}

gchar *
molt_request_build (const gchar *execute, JsonObject *arguments, gint64 id)
{
  g_autoptr (JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  g_autoptr (JsonObject) obj = json_object_new ();

  json_object_set_string_member (obj, "execute", execute);
  if (arguments != NULL)
    json_object_set_object_member (obj, "arguments", json_object_ref (arguments));
  json_object_set_int_member (obj, "id", id);
  json_node_set_object (root, obj);
  return molt_json_to_line (root);
}

MoltReply *
molt_reply_parse (const gchar *line, GError **error)
{
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (MoltReply) reply = NULL;
  JsonObject *obj;
  JsonNode *node;

  root = molt_json_parse_bounded (line, error);
  if (root == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_PARSE,
                           "reply must be a JSON object");
      return NULL;
    }
  obj = json_node_get_object (root);
  reply = g_new0 (MoltReply, 1);

  node = json_object_get_member (obj, "id");
  if (node != NULL && id_is_valid (node))
    reply->id = json_node_copy (node);

  node = json_object_get_member (obj, "return");
  if (node != NULL)
    {
      reply->ret = json_node_copy (node);
      return g_steal_pointer (&reply);
    }

  node = json_object_get_member (obj, "error");
  if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *err = json_node_get_object (node);
      JsonNode *klass = json_object_get_member (err, "class");
      JsonNode *desc = json_object_get_member (err, "desc");

      if (klass != NULL && JSON_NODE_HOLDS_VALUE (klass)
          && json_node_get_value_type (klass) == G_TYPE_STRING)
        reply->error_class = g_strdup (json_node_get_string (klass));
      else
        reply->error_class = g_strdup ("GenericError");
      if (desc != NULL && JSON_NODE_HOLDS_VALUE (desc)
          && json_node_get_value_type (desc) == G_TYPE_STRING)
        reply->error_desc = g_strdup (json_node_get_string (desc));
      else
        reply->error_desc = g_strdup ("(the agent gave no description)");
      return g_steal_pointer (&reply);
    }

  g_set_error_literal (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_PARSE,
                       "reply has neither 'return' nor an 'error' object");
  return NULL;
}

void
molt_reply_free (MoltReply *reply)
{
  if (reply == NULL)
    return;
  if (reply->ret != NULL)
    json_node_unref (reply->ret);
  if (reply->id != NULL)
    json_node_unref (reply->id);
  g_free (reply->error_class);
  g_free (reply->error_desc);
  g_free (reply);
}

gboolean
molt_reply_is_error (const MoltReply *reply)
{
  return reply->ret == NULL;
}

void
molt_reply_propagate_error (const MoltReply *reply, GError **error)
{
  g_autofree gchar *desc = molt_text_excerpt (reply->error_desc, 1024);

  g_set_error_literal (error, MOLT_PROTOCOL_ERROR,
                       molt_protocol_error_from_class (reply->error_class), desc);
}

gboolean
molt_reply_id_equals (const MoltReply *reply, gint64 id)
{
  if (reply->id == NULL || json_node_get_value_type (reply->id) != G_TYPE_INT64)
    return FALSE;
  return json_node_get_int (reply->id) == id;
}

static gchar *
build_reply (const gchar *member, JsonNode *value, JsonNode *id)
{
  g_autoptr (JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  g_autoptr (JsonObject) obj = json_object_new ();

  json_object_set_member (obj, member, value);
  if (id != NULL)
    json_object_set_member (obj, "id", json_node_copy (id));
  json_node_set_object (root, obj);
  return molt_json_to_line (root);
}

gchar *
molt_reply_build_return (JsonNode *ret, JsonNode *id)
{
  JsonNode *value;

  if (ret != NULL)
    value = json_node_copy (ret);
  else
    {
      g_autoptr (JsonObject) empty = json_object_new ();
      value = json_node_init_object (json_node_alloc (), empty);
    }
  return build_reply ("return", value, id);
}

gchar *
molt_reply_build_error (const GError *err, JsonNode *id)
{
  g_autoptr (JsonObject) obj = json_object_new ();
  JsonNode *value = json_node_new (JSON_NODE_OBJECT);
  MoltProtocolErrorCode code = MOLT_PROTOCOL_ERROR_GENERIC;

  if (err->domain == MOLT_PROTOCOL_ERROR)
    code = (MoltProtocolErrorCode) err->code;
  json_object_set_string_member (obj, "class", molt_protocol_error_to_class (code));
  json_object_set_string_member (obj, "desc", err->message);
  json_node_set_object (value, obj);
  return build_reply ("error", value, id);
}
