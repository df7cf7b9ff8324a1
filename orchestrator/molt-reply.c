#include "molt-host-error.h"
#include "molt-reply.h"

static const gchar *
node_type_name (JsonNode *node)
{
  if (JSON_NODE_HOLDS_OBJECT (node))
    return "an object";
  if (JSON_NODE_HOLDS_ARRAY (node))
    return "a list";
  if (JSON_NODE_HOLDS_NULL (node))
    return "null";
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_STRING:
      return "a string";
    case G_TYPE_INT64:
      return "an integer";
    case G_TYPE_DOUBLE:
      return "a number";
    case G_TYPE_BOOLEAN:
      return "a boolean";
    default:
      return "a value";
    }
}

/* The member's node, NULL when it is missing (an error unless optional).
 * *missing tells the two apart. */
static JsonNode *
member_node (JsonObject *obj, const gchar *what, const gchar *member, MoltReplyFlags flags,
             const gchar *expected, gboolean *missing, GError **error)
{
  JsonNode *node = obj != NULL ? json_object_get_member (obj, member) : NULL;

  *missing = node == NULL || JSON_NODE_HOLDS_NULL (node);
  if (*missing && !(flags & MOLT_REPLY_OPTIONAL))
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_AGENT_PROTOCOL,
                   "the agent's reply to '%s' lacks %s member '%s'", what, expected, member);
      return NULL;
    }
  return *missing ? NULL : node;
}

static gboolean
wrong_type (JsonNode *node, const gchar *what, const gchar *member, const gchar *expected,
            GError **error)
{
  g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_AGENT_PROTOCOL,
               "the agent's reply to '%s' has %s as member '%s', not %s", what,
               node_type_name (node), member, expected);
  return FALSE;
}

static gboolean
holds_value (JsonNode *node, GType type)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == type;
}

gboolean
molt_reply_get_string (JsonObject *obj, const gchar *what, const gchar *member,
                       MoltReplyFlags flags, const gchar **out, GError **error)
{
  gboolean missing;
  JsonNode *node = member_node (obj, what, member, flags, "a string", &missing, error);

  if (node == NULL)
    return missing && (flags & MOLT_REPLY_OPTIONAL);
  if (!holds_value (node, G_TYPE_STRING))
    return wrong_type (node, what, member, "a string", error);
  *out = json_node_get_string (node);
  return TRUE;
}

gboolean
molt_reply_get_int (JsonObject *obj, const gchar *what, const gchar *member, gint64 min, gint64 max,
                    MoltReplyFlags flags, gint64 *out, GError **error)
{
  gboolean missing;
  JsonNode *node = member_node (obj, what, member, flags, "an integer", &missing, error);
  gint64 value;

  if (node == NULL)
    return missing && (flags & MOLT_REPLY_OPTIONAL);
  if (!holds_value (node, G_TYPE_INT64))
    return wrong_type (node, what, member, "an integer", error);
  value = json_node_get_int (node);
  if (value < min || value > max)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_AGENT_PROTOCOL,
                   "the agent's reply to '%s' has %" G_GINT64_FORMAT " as member '%s', outside "
                   "[%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "]",
                   what, value, member, min, max);
      return FALSE;
    }
  *out = value;
  return TRUE;
}

gboolean
molt_reply_get_bool (JsonObject *obj, const gchar *what, const gchar *member, MoltReplyFlags flags,
                     gboolean *out, GError **error)
{
  gboolean missing;
  JsonNode *node = member_node (obj, what, member, flags, "a boolean", &missing, error);

  if (node == NULL)
    return missing && (flags & MOLT_REPLY_OPTIONAL);
  if (!holds_value (node, G_TYPE_BOOLEAN))
    return wrong_type (node, what, member, "a boolean", error);
  *out = json_node_get_boolean (node);
  return TRUE;
}

gboolean
molt_reply_get_object (JsonObject *obj, const gchar *what, const gchar *member,
                       MoltReplyFlags flags, JsonObject **out, GError **error)
{
  gboolean missing;
  JsonNode *node = member_node (obj, what, member, flags, "an object", &missing, error);

  if (node == NULL)
    return missing && (flags & MOLT_REPLY_OPTIONAL);
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return wrong_type (node, what, member, "an object", error);
  *out = json_node_get_object (node);
  return TRUE;
}

gboolean
molt_reply_get_array (JsonObject *obj, const gchar *what, const gchar *member, MoltReplyFlags flags,
                      JsonArray **out, GError **error)
{
  gboolean missing;
  JsonNode *node = member_node (obj, what, member, flags, "a list", &missing, error);

  if (node == NULL)
    return missing && (flags & MOLT_REPLY_OPTIONAL);
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return wrong_type (node, what, member, "a list", error);
  *out = json_node_get_array (node);
  return TRUE;
}

JsonObject *
molt_reply_array_object (JsonArray *array, const gchar *what, guint index, GError **error)
{
  JsonNode *node = json_array_get_element (array, index);

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_AGENT_PROTOCOL,
                   "the agent's reply to '%s' has %s as element %u, not an object", what,
                   node_type_name (node), index);
      return NULL;
    }
  return json_node_get_object (node);
}

JsonObject *
molt_reply_as_object (JsonNode *node, const gchar *what, GError **error)
{
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_AGENT_PROTOCOL,
                   "the agent's reply to '%s' is %s, not an object", what, node_type_name (node));
      return NULL;
    }
  return json_node_get_object (node);
}

JsonArray *
molt_reply_as_array (JsonNode *node, const gchar *what, GError **error)
{
  if (!JSON_NODE_HOLDS_ARRAY (node))
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_AGENT_PROTOCOL,
                   "the agent's reply to '%s' is %s, not a list", what, node_type_name (node));
      return NULL;
    }
  return json_node_get_array (node);
}
