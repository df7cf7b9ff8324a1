#include "molt-protocol-error.h"

G_DEFINE_QUARK (molt - protocol - error - quark, molt_protocol_error)

static const gchar *const error_classes[] = {
  [MOLT_PROTOCOL_ERROR_GENERIC] = "GenericError",
  [MOLT_PROTOCOL_ERROR_COMMAND_NOT_FOUND] = "CommandNotFound",
  [MOLT_PROTOCOL_ERROR_INVALID_PARAMETER] = "InvalidParameter",
  [MOLT_PROTOCOL_ERROR_PARSE] = "ParseError",
  [MOLT_PROTOCOL_ERROR_NOT_FOUND] = "NotFound",
  [MOLT_PROTOCOL_ERROR_EXISTS] = "AlreadyExists",
  [MOLT_PROTOCOL_ERROR_COMMAND_DISABLED] = "CommandDisabled",
  [MOLT_PROTOCOL_ERROR_UNSUPPORTED] = "Unsupported",
  [MOLT_PROTOCOL_ERROR_ROLLED_BACK] = "RolledBack",
  [MOLT_PROTOCOL_ERROR_ROLLBACK_INCOMPLETE] = "RollbackIncomplete",
};
G_STATIC_ASSERT (G_N_ELEMENTS (error_classes) == MOLT_PROTOCOL_ERROR_LAST);

const gchar *
molt_protocol_error_to_class (MoltProtocolErrorCode code)
{
  if ((guint) code >= MOLT_PROTOCOL_ERROR_LAST)
    return error_classes[MOLT_PROTOCOL_ERROR_GENERIC];
  return error_classes[code];
}

MoltProtocolErrorCode
molt_protocol_error_from_class (const gchar *klass)
{
  if (klass == NULL)
    return MOLT_PROTOCOL_ERROR_GENERIC;
  for (guint i = 0; i < MOLT_PROTOCOL_ERROR_LAST; i++)
    if (g_str_equal (klass, error_classes[i]))
      return (MoltProtocolErrorCode) i;
  return MOLT_PROTOCOL_ERROR_GENERIC;
}
