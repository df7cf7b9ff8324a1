#include "molt-transport.h"

gssize
molt_transport_recv (MoltTransport *transport, guint8 *buf, gsize len, gint64 deadline,
                     GError **error)
{
  return transport->klass->recv (transport, buf, len, deadline, error);
}

gboolean
molt_transport_send (MoltTransport *transport, const guint8 *buf, gsize len, gint64 deadline,
                     GError **error)
{
  return transport->klass->send (transport, buf, len, deadline, error);
}

void
molt_transport_free (MoltTransport *transport)
{
  if (transport != NULL)
    transport->klass->free (transport);
}
