#include <gio/gio.h>

#include "molt-agent-client.h"
#include "molt-host-error.h"
#include "molt-line-reader.h"
#include "molt-message.h"

#define MOLT_READ_CHUNK 4096

struct _MoltAgentClient
{
  MoltTransport *transport;
  MoltLineReader *reader;
  guint timeout_ms;
  gsize max_reply;
  gint64 next_id;
  gboolean synced;
  GArray *held; /* of MoltHeld, released after the channel closes: the locks on it */
};

typedef struct
{
  gpointer data;
  GDestroyNotify destroy;
} MoltHeld;

MoltAgentClient *
molt_agent_client_new (MoltTransport *transport)
{
  MoltAgentClient *client = g_new0 (MoltAgentClient, 1);

  client->transport = transport;
  client->timeout_ms = MOLT_AGENT_CLIENT_DEFAULT_TIMEOUT_MS;
  client->max_reply = MOLT_AGENT_CLIENT_MAX_REPLY;
  client->reader = molt_line_reader_new (client->max_reply);
  /* A per-process random base keeps ids of earlier clients apart. */
  client->next_id = g_random_int_range (1, G_MAXINT32) * (gint64) 1000;
  return client;
}

void
molt_agent_client_free (MoltAgentClient *client)
{
  if (client == NULL)
    return;
  molt_transport_free (client->transport);
  molt_line_reader_free (client->reader);
  /* In reverse order of holding: the channel lock before the domain's. */
  for (guint i = client->held != NULL ? client->held->len : 0; i > 0; i--)
    {
      MoltHeld *held = &g_array_index (client->held, MoltHeld, i - 1);
      held->destroy (held->data);
    }
  if (client->held != NULL)
    g_array_free (client->held, TRUE);
  g_free (client);
}

void
molt_agent_client_hold (MoltAgentClient *client, gpointer data, GDestroyNotify destroy)
{
  MoltHeld held = { data, destroy };

  if (client->held == NULL)
    client->held = g_array_new (FALSE, FALSE, sizeof (MoltHeld));
  g_array_append_val (client->held, held);
}

void
molt_agent_client_set_timeout (MoltAgentClient *client, guint timeout_ms)
{
  client->timeout_ms = timeout_ms;
}

void
molt_agent_client_set_max_reply (MoltAgentClient *client, gsize max_reply)
{
  client->max_reply = max_reply;
  molt_line_reader_free (client->reader);
  client->reader = molt_line_reader_new (max_reply);
  client->synced = FALSE;
}

static gboolean
send_text (MoltAgentClient *client, const gchar *text, gsize len, gint64 deadline,
           const gchar *what, GError **error)
{
  g_autoptr (GError) local_error = NULL;

  g_debug ("-> %.*s", (int) len, text);
  if (molt_transport_send (client->transport, (const guint8 *) text, len, deadline, &local_error))
    return TRUE;
  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_AGENT_UNRESPONSIVE,
                 "agent not responding: could not send '%s' within %u ms", what,
                 client->timeout_ms);
  else
    g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_AGENT_CLOSED,
                 "cannot send '%s' to the agent: %s", what, local_error->message);
  return FALSE;
}

/* Next protocol event from the agent, reading as needed until the deadline. */
static MoltLineStatus
next_event (MoltAgentClient *client, gint64 deadline, const gchar *what, gchar **line,
            GError **error)
{
  for (;;)
    {
      guint8 buf[MOLT_READ_CHUNK];
      g_autoptr (GError) local_error = NULL;
      MoltLineStatus status = molt_line_reader_next (client->reader, line);
      gssize n;

      if (status != MOLT_LINE_NONE)
        return status;
      /* A guest that streams without end must not keep us here forever. */
      if (g_get_monotonic_time () >= deadline)
        {
          g_set_error_literal (&local_error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "timed out");
          n = -1;
        }
      else
        n = molt_transport_recv (client->transport, buf, sizeof buf, deadline, &local_error);
      if (n > 0)
        {
          molt_line_reader_feed (client->reader, buf, (gsize) n);
          continue;
        }
      if (n == 0)
        g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_AGENT_CLOSED,
                     "the agent channel closed while waiting for '%s'", what);
      else if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
        g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_AGENT_UNRESPONSIVE,
                     "agent not responding: no reply to '%s' within %u ms (is molt-agent "
                     "running in the guest?)",
                     what, client->timeout_ms);
      else
        g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_AGENT_CLOSED,
                     "cannot read from the agent: %s", local_error->message);
      return MOLT_LINE_NONE;
    }
}

/* Reads until the reply carrying id; stale replies (other ids) are skipped. */
/* JSON nodes in NODE, counting stops past LIMIT (nesting is bounded by
 * the parser, so the recursion is too). */
static guint
count_elements (JsonNode *node, guint limit)
{
  guint n = 1;

  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);
      for (guint i = 0; i < json_array_get_length (array) && n <= limit; i++)
        n += count_elements (json_array_get_element (array, i), limit - n);
    }
  else if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObjectIter iter;
      JsonNode *member;
      json_object_iter_init (&iter, json_node_get_object (node));
      while (n <= limit && json_object_iter_next (&iter, NULL, &member))
        n += count_elements (member, limit - n);
    }
  return n;
}

static MoltReply *
read_reply (MoltAgentClient *client, gint64 id, gint64 deadline, const gchar *what, GError **error)
{
  for (;;)
    {
      g_autofree gchar *line = NULL;
      g_autoptr (GError) local_error = NULL;
      g_autoptr (MoltReply) reply = NULL;
      MoltLineStatus status = next_event (client, deadline, what, &line, error);

      switch (status)
        {
        case MOLT_LINE_NONE:
          return NULL;
        case MOLT_LINE_DELIMITER:
          continue;
        case MOLT_LINE_OVERSIZED:
          g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_REPLY_TOO_LARGE,
                       "the agent's reply to '%s' exceeds %zu bytes; dropped", what,
                       client->max_reply);
          return NULL;
        case MOLT_LINE_OK:
          break;
        }
      g_debug ("<- %s", line);
      reply = molt_reply_parse (line, &local_error);
      if (reply == NULL)
        {
          g_autofree gchar *excerpt = molt_text_excerpt (line, 80);
          g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_AGENT_PROTOCOL,
                       "the agent sent garbage in reply to '%s' (%s): %s", what,
                       local_error->message, excerpt);
          return NULL;
        }
      if (!molt_reply_id_equals (reply, id))
        {
          g_debug ("skipping a reply for another request");
          continue;
        }
      /* Within the size cap a reply can still be hundreds of thousands of
       * tiny elements: a budget on those too. */
      if (reply->ret != NULL
          && count_elements (reply->ret, MOLT_AGENT_CLIENT_MAX_ELEMENTS + 1)
                 > MOLT_AGENT_CLIENT_MAX_ELEMENTS)
        {
          g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_REPLY_TOO_LARGE,
                       "the agent's reply to '%s' has more than %d elements; dropped", what,
                       MOLT_AGENT_CLIENT_MAX_ELEMENTS);
          return NULL;
        }
      return g_steal_pointer (&reply);
    }
}

gboolean
molt_agent_client_sync (MoltAgentClient *client, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + client->timeout_ms * (gint64) 1000;
  gint64 id = client->next_id++;
  g_autoptr (JsonObject) args = json_object_new ();
  g_autoptr (MoltReply) reply = NULL;
  g_autofree gchar *request = NULL;
  g_autofree gchar *framed = NULL;

  client->synced = FALSE;
  json_object_set_int_member (args, "id", id);
  request = molt_request_build ("sync-delimited", args, id);
  /* The leading 0xFF makes the agent drop any half-received line. */
  framed = g_strconcat ("\xff", request, NULL);
  molt_line_reader_skip_to_delimiter (client->reader);
  if (!send_text (client, framed, strlen (framed), deadline, "sync-delimited", error))
    return FALSE;
  reply = read_reply (client, id, deadline, "sync-delimited", error);
  if (reply == NULL)
    return FALSE;
  if (molt_reply_is_error (reply))
    {
      molt_reply_propagate_error (reply, error);
      return FALSE;
    }
  if (!JSON_NODE_HOLDS_VALUE (reply->ret) || json_node_get_value_type (reply->ret) != G_TYPE_INT64
      || json_node_get_int (reply->ret) != id)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_AGENT_PROTOCOL,
                   "the agent answered sync with the wrong value");
      return FALSE;
    }
  client->synced = TRUE;
  return TRUE;
}

JsonNode *
molt_agent_client_call (MoltAgentClient *client, const gchar *execute, JsonObject *arguments,
                        GError **error)
{
  g_autoptr (MoltReply) reply = NULL;
  g_autofree gchar *request = NULL;
  gint64 deadline, id;

  if (!client->synced && !molt_agent_client_sync (client, error))
    return NULL;
  /* Any failure below leaves the stream in an unknown state: resync next time. */
  client->synced = FALSE;
  deadline = g_get_monotonic_time () + client->timeout_ms * (gint64) 1000;
  id = client->next_id++;
  request = molt_request_build (execute, arguments, id);
  if (!send_text (client, request, strlen (request), deadline, execute, error))
    return NULL;
  reply = read_reply (client, id, deadline, execute, error);
  if (reply == NULL)
    return NULL;
  client->synced = TRUE;
  if (molt_reply_is_error (reply))
    {
      molt_reply_propagate_error (reply, error);
      return NULL;
    }
  return json_node_ref (reply->ret);
}
