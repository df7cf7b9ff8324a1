/* Error domain of the molt wire protocol.
 *
 * Each code maps 1:1 to the "class" string of an error reply, so an error
 * raised inside the agent reaches the host CLI with the same identity. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define MOLT_PROTOCOL_ERROR (molt_protocol_error_quark ())

typedef enum
{
  MOLT_PROTOCOL_ERROR_GENERIC,           /* GenericError */
  MOLT_PROTOCOL_ERROR_COMMAND_NOT_FOUND, /* CommandNotFound */
  MOLT_PROTOCOL_ERROR_INVALID_PARAMETER, /* InvalidParameter */
  MOLT_PROTOCOL_ERROR_PARSE,             /* ParseError */
  MOLT_PROTOCOL_ERROR_NOT_FOUND,         /* NotFound */
  MOLT_PROTOCOL_ERROR_EXISTS,            /* AlreadyExists */
  MOLT_PROTOCOL_ERROR_COMMAND_DISABLED,  /* CommandDisabled */
  MOLT_PROTOCOL_ERROR_UNSUPPORTED,       /* Unsupported */
  /* A change failed and was undone: the guest is as it was. */
  MOLT_PROTOCOL_ERROR_ROLLED_BACK, /* RolledBack */
  /* A change failed and could not all be undone; the text says what is
   * left (the host's next rollback layer takes over). */
  MOLT_PROTOCOL_ERROR_ROLLBACK_INCOMPLETE, /* RollbackIncomplete */
  MOLT_PROTOCOL_ERROR_LAST
} MoltProtocolErrorCode;

GQuark molt_protocol_error_quark (void);
const gchar *molt_protocol_error_to_class (MoltProtocolErrorCode code);
/* Unknown classes (an untrusted peer may send anything) map to GENERIC. */
MoltProtocolErrorCode molt_protocol_error_from_class (const gchar *klass);

G_END_DECLS
