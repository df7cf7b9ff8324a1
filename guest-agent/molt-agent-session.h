/* One conversation with a client: the virtio-serial port to the host, or a
 * connection on the agent's local unix socket (molt-run, unit tests). */
#pragma once

#include <gio/gio.h>

#include "molt-agent.h"

G_BEGIN_DECLS

typedef struct _MoltAgentSession MoltAgentSession;

typedef void (*MoltSessionClosedFunc) (MoltAgentSession *session, gpointer user_data);

/* For a port, HUP means "host not connected" and the session waits for it to
 * come back; for a socket, HUP ends the session and on_closed runs. The
 * session takes ownership of fd; connection (may be NULL) is kept alive. */
MoltAgentSession *molt_agent_session_new (MoltAgent *agent, gint fd, gboolean is_port,
                                          GSocketConnection *connection,
                                          MoltSessionClosedFunc on_closed, gpointer user_data);
void molt_agent_session_free (MoltAgentSession *session);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MoltAgentSession, molt_agent_session_free)

G_END_DECLS
