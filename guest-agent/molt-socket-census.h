/* The sockets a job's process tree holds, by kind, read from /proc before
 * a switch: what its report says was carried over, and what the preflight
 * weighs (established TCP cannot outlive a restart of QEMU's user-mode
 * network, so --method reboot refuses it unless told to close them). */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct
{
  guint tcp_established;
  guint tcp_listen;
  guint tcp_other; /* connecting, closing, time-wait... */
  guint udp;
  guint unix_;
  guint other; /* netlink, packet, raw... */
  /* Connections the kernel completed on the tree's listening sockets that
   * no process accepted yet (CRIU cannot dump them). Not in the JSON. */
  guint tcp_queued;
} MoltSocketCensus;

/* Counts each socket once, however many fds or processes share it. */
void molt_socket_census_tree (gint root_pid, MoltSocketCensus *census);
/* {"tcp-established", "tcp-listen", "tcp-other", "udp", "unix", "other"} */
JsonObject *molt_socket_census_to_json (const MoltSocketCensus *census);

G_END_DECLS
