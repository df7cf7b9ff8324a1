/* The other end of each connected unix socket, from the kernel's socket
 * diagnostics (NETLINK_SOCK_DIAG, UDIAG_SHOW_PEER).
 *
 * CRIU dumps one process tree at a time, and molt dumps each job alone: a
 * unix stream connection whose other end is outside the job (another job,
 * a daemon) fails the dump ("Can't dump half of stream unix connection",
 * seen on the test guest between two jobs). The preflight names it. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  guint32 peer;    /* the other end's inode; 0 when not connected */
  guint8 type;     /* SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET */
  guint8 shutdown; /* the kernel's sk_shutdown: 1 receive, 2 send */
} MoltUnixSocket;

/* Every unix socket of the agent's network namespace: inode (guint32) ->
 * MoltUnixSocket; NULL with an error if the kernel cannot be asked. */
GHashTable *molt_unix_sockets_read (GError **error);
/* A process that holds the socket INODE open (its PID), or 0. */
gint molt_unix_socket_holder (guint32 inode);

G_END_DECLS
