/* The host's client of molt-agent: build, send, check.
 *
 * Before the first command, and again after any timeout or garbage, it
 * resynchronises: a 0xFF byte resets the agent's parser, then sync-delimited
 * with a fresh id; everything up to the agent's 0xFF and every reply with
 * another id is dropped. Every call has a deadline and every reply a size cap:
 * the guest is untrusted. */
#pragma once

#include <json-glib/json-glib.h>

#include "molt-transport.h"

G_BEGIN_DECLS

#define MOLT_AGENT_CLIENT_MAX_REPLY          (1024 * 1024)
#define MOLT_AGENT_CLIENT_DEFAULT_TIMEOUT_MS 10000
/* JSON nodes in one reply: a few thousand jobs' worth. */
#define MOLT_AGENT_CLIENT_MAX_ELEMENTS 100000

typedef struct _MoltAgentClient MoltAgentClient;

/* Takes ownership of transport. */
MoltAgentClient *molt_agent_client_new (MoltTransport *transport);
void molt_agent_client_free (MoltAgentClient *client);
void molt_agent_client_set_timeout (MoltAgentClient *client, guint timeout_ms);
void molt_agent_client_set_max_reply (MoltAgentClient *client, gsize max_reply);

/* DATA lives as long as the client and is destroyed after its channel
 * closes (the locks that let it use the channel). */
void molt_agent_client_hold (MoltAgentClient *client, gpointer data, GDestroyNotify destroy);

gboolean molt_agent_client_sync (MoltAgentClient *client, GError **error);
/* Returns the "return" value. An agent error is in MOLT_PROTOCOL_ERROR;
 * silence, garbage and oversized replies are in MOLT_HOST_ERROR. */
JsonNode *molt_agent_client_call (MoltAgentClient *client, const gchar *execute,
                                  JsonObject *arguments, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MoltAgentClient, molt_agent_client_free)

G_END_DECLS
