/* Unix stream connections between two jobs of one switch.
 *
 * CRIU dumps one process tree at a time and cannot dump half of a stream
 * connection ("Can't dump half of stream unix connection"). molt dumps each
 * end as external (CRIU's --external unix[INODE]) after copying what waits
 * in its receive queue; the copy is a peek, so a job thawed in place after
 * a failed switch reads its queue as if nothing had happened. At the
 * restore the agent makes one new connected pair per connection, puts each
 * end's queued bytes back by writing them from the other end, replays a
 * shutdown, and hands each end to its job's restore (--inherit-fd).
 *
 * Not carried: the ends' addresses (an end accepted from a named listener
 * reads as unnamed after the switch) and their socket options (buffer
 * sizes are the defaults again). File descriptors in flight on such a
 * connection are refused (they would have to cross jobs). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A process of a job holding a socket: the job's index among the trees
 * given, and the process and fd number it holds the socket at. */
typedef struct
{
  guint job;
  gint pid;
  gint fd;
} MoltSocketHolder;

/* Every socket inode (guint32) held by a process of the trees rooted at
 * PIDS[0..N) -> MoltSocketHolder, the first holder found. */
GHashTable *molt_job_sockets_held (const gint *pids, guint n);

/* One end of a connection between two jobs, as a job's images keep it. */
typedef struct
{
  guint32 inode; /* this end, as dumped */
  guint32 peer;  /* the other end */
  gchar *peer_job;
  guint8 shutdown; /* the kernel's sk_shutdown bits: 1 receive, 2 send */
  GBytes *queued;  /* what waited in this end's receive queue */
} MoltUnixLinkEnd;

void molt_unix_link_end_free (MoltUnixLinkEnd *end);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MoltUnixLinkEnd, molt_unix_link_end_free)

/* With the jobs NAMES[i] (trees rooted at PIDS[i]) stopped: per job name,
 * a GPtrArray of the ends it holds of stream connections to another of
 * them, queues copied. NULL with the error if one cannot be carried (fds
 * in flight, a seqpacket connection) or its queue cannot be read; none
 * found (with a warning) when the kernel's unix socket diagnostics cannot
 * be asked, which CRIU needs too. */
GHashTable *molt_unix_links_collect (const gchar *const *names, const gint *pids, guint n,
                                     GError **error);

/* IMAGES_DIR/unix-links.json: a job's ENDS (none: the file is removed). */
gboolean molt_unix_links_save (GPtrArray *ends, const gchar *images_dir, GError **error);
/* What molt_unix_links_save wrote; an empty array when there is no file.
 * The file is the guest's own, but it is parsed with care all the same. */
GPtrArray *molt_unix_links_load (const gchar *images_dir, GError **error);

G_END_DECLS
