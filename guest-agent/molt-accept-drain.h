/* Connections waiting in a frozen job's accept queues, before its dump.
 *
 * The kernel completes a client's handshake on a listening socket without
 * the process: a client that connected just before the freeze waits in
 * the accept queue of a stopped job, and CRIU refuses to dump such a
 * listener ("In-flight connection"). Once the network is locked no new
 * connection can join the queue, so the job is let run until it has
 * accepted what waits (then an established connection, which CRIU
 * keeps), and is stopped again. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* How long a job may run, in the checkpoint, to accept what waits. */
#define MOLT_ACCEPT_DRAIN_MS 2000

/* With the network locked and the job's tree (rooted at ROOT_PID) stopped:
 * returns TRUE at once when nothing waits; else continues the tree, waits
 * up to MOLT_ACCEPT_DRAIN_MS for the queues to empty, stops it again, and
 * fails, saying what to do, if connections still wait. *accepted says how
 * many it accepted meanwhile. */
gboolean molt_accept_drain (gint root_pid, guint *accepted, GError **error);
/* Connections waiting in the tree's accept queues now. */
guint molt_accept_queued (gint root_pid);

G_END_DECLS
