/* Errors the host side raises itself (as opposed to errors the agent sent,
 * which arrive in MOLT_PROTOCOL_ERROR). Each maps to one CLI exit code. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define MOLT_HOST_ERROR (molt_host_error_quark ())

typedef enum
{
  MOLT_HOST_ERROR_FAILED,  /* anything else */
  MOLT_HOST_ERROR_CONNECT, /* cannot connect to libvirt */
  MOLT_HOST_ERROR_DOMAIN_NOT_FOUND,
  MOLT_HOST_ERROR_DOMAIN_NOT_RUNNING,
  MOLT_HOST_ERROR_NO_CHANNEL,         /* the domain lacks the agent channel */
  MOLT_HOST_ERROR_AGENT_UNRESPONSIVE, /* timed out */
  MOLT_HOST_ERROR_AGENT_PROTOCOL,     /* garbage from the guest */
  MOLT_HOST_ERROR_REPLY_TOO_LARGE,
  MOLT_HOST_ERROR_AGENT_CLOSED, /* the channel closed under us */
  MOLT_HOST_ERROR_BUSY,         /* another molt operation holds the domain */
  MOLT_HOST_ERROR_JOBS_MOVED,   /* the jobs already run on the new kernel: no way back to images */
  MOLT_HOST_ERROR_LAST
} MoltHostErrorCode;

GQuark molt_host_error_quark (void);
/* Stable names for --json output: "domain-not-found", ... */
const gchar *molt_host_error_to_string (MoltHostErrorCode code);

G_END_DECLS
