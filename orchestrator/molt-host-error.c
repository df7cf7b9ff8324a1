#include "molt-host-error.h"

G_DEFINE_QUARK (molt - host - error - quark, molt_host_error)

static const gchar *const names[] = {
  [MOLT_HOST_ERROR_FAILED] = "failed",
  [MOLT_HOST_ERROR_CONNECT] = "connect-failed",
  [MOLT_HOST_ERROR_DOMAIN_NOT_FOUND] = "domain-not-found",
  [MOLT_HOST_ERROR_DOMAIN_NOT_RUNNING] = "domain-not-running",
  [MOLT_HOST_ERROR_NO_CHANNEL] = "no-agent-channel",
  [MOLT_HOST_ERROR_AGENT_UNRESPONSIVE] = "agent-unresponsive",
  [MOLT_HOST_ERROR_AGENT_PROTOCOL] = "agent-protocol-error",
  [MOLT_HOST_ERROR_REPLY_TOO_LARGE] = "agent-reply-too-large",
  [MOLT_HOST_ERROR_AGENT_CLOSED] = "agent-channel-closed",
  [MOLT_HOST_ERROR_BUSY] = "busy",
  [MOLT_HOST_ERROR_JOBS_MOVED] = "jobs-on-new-kernel",
};
G_STATIC_ASSERT (G_N_ELEMENTS (names) == MOLT_HOST_ERROR_LAST);

const gchar *
molt_host_error_to_string (MoltHostErrorCode code)
{
  if ((guint) code >= MOLT_HOST_ERROR_LAST)
    return names[MOLT_HOST_ERROR_FAILED];
  return names[code];
}
