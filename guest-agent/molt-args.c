#include "molt-args.h"
#include "molt-protocol-error.h"

#define MOLT_ARGS_MAX_STRV 4096

static JsonNode *
lookup (JsonObject *args, const gchar *name, gboolean required, GError **error)
{
  JsonNode *node = json_object_get_member (args, name);

  if (node != NULL && JSON_NODE_HOLDS_NULL (node))
    node = NULL;
  if (node == NULL && required)
    g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_INVALID_PARAMETER,
                 "missing argument '%s'", name);
  return node;
}

static gboolean
holds_string (JsonNode *node)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING;
}

gboolean
molt_args_get_string (JsonObject *args, const gchar *name, gboolean required, const gchar **out,
                      GError **error)
{
  g_autoptr (GError) local_error = NULL;
  JsonNode *node = lookup (args, name, required, &local_error);

  *out = NULL;
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (node == NULL)
    return TRUE;
  if (!holds_string (node))
    {
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_INVALID_PARAMETER,
                   "argument '%s' must be a string", name);
      return FALSE;
    }
  *out = json_node_get_string (node);
  return TRUE;
}

gboolean
molt_args_get_strv (JsonObject *args, const gchar *name, gboolean required, GStrv *out,
                    GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GStrvBuilder) builder = NULL;
  JsonNode *node = lookup (args, name, required, &local_error);
  JsonArray *array;
  guint len;

  *out = NULL;
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    {
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_INVALID_PARAMETER,
                   "argument '%s' must be an array of strings", name);
      return FALSE;
    }
  array = json_node_get_array (node);
  len = json_array_get_length (array);
  if (len > MOLT_ARGS_MAX_STRV)
    {
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_INVALID_PARAMETER,
                   "argument '%s' has %u elements, at most %u allowed", name, len,
                   MOLT_ARGS_MAX_STRV);
      return FALSE;
    }
  builder = g_strv_builder_new ();
  for (guint i = 0; i < len; i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      if (!holds_string (element))
        {
          g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_INVALID_PARAMETER,
                       "argument '%s' must be an array of strings (element %u is not)", name, i);
          return FALSE;
        }
      g_strv_builder_add (builder, json_node_get_string (element));
    }
  *out = g_strv_builder_end (builder);
  return TRUE;
}

gboolean
molt_args_get_int (JsonObject *args, const gchar *name, gboolean required, gint64 min, gint64 max,
                   gint64 *out, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  JsonNode *node = lookup (args, name, required, &local_error);
  gint64 value;

  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    {
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_INVALID_PARAMETER,
                   "argument '%s' must be an integer", name);
      return FALSE;
    }
  value = json_node_get_int (node);
  if (value < min || value > max)
    {
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_INVALID_PARAMETER,
                   "argument '%s' is %" G_GINT64_FORMAT ", allowed %" G_GINT64_FORMAT
                   "..%" G_GINT64_FORMAT,
                   name, value, min, max);
      return FALSE;
    }
  *out = value;
  return TRUE;
}

gboolean
molt_args_get_bool (JsonObject *args, const gchar *name, gboolean default_value, gboolean *out,
                    GError **error)
{
  JsonNode *node = lookup (args, name, FALSE, NULL);

  *out = default_value;
  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    {
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_INVALID_PARAMETER,
                   "argument '%s' must be true or false", name);
      return FALSE;
    }
  *out = json_node_get_boolean (node);
  return TRUE;
}
