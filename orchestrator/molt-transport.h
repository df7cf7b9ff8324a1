/* A byte pipe to the agent with deadlines on every operation.
 *
 * Two implementations: a libvirt stream on the domain's channel (the real
 * thing, works against remote hosts) and a plain fd (unit tests, debugging). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _MoltTransport MoltTransport;

typedef struct
{
  /* > 0: bytes read; 0: end of stream; -1: error. A missed deadline is
   * G_IO_ERROR_TIMED_OUT. */
  gssize (*recv) (MoltTransport *transport, guint8 *buf, gsize len, gint64 deadline,
                  GError **error);
  gboolean (*send) (MoltTransport *transport, const guint8 *buf, gsize len, gint64 deadline,
                    GError **error);
  void (*free) (MoltTransport *transport);
} MoltTransportClass;

struct _MoltTransport
{
  const MoltTransportClass *klass;
};

/* deadline: g_get_monotonic_time () value after which to give up. */
gssize molt_transport_recv (MoltTransport *transport, guint8 *buf, gsize len, gint64 deadline,
                            GError **error);
gboolean molt_transport_send (MoltTransport *transport, const guint8 *buf, gsize len,
                              gint64 deadline, GError **error);
void molt_transport_free (MoltTransport *transport);

/* Takes ownership of fd. */
MoltTransport *molt_fd_transport_new (gint fd);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MoltTransport, molt_transport_free)

G_END_DECLS
