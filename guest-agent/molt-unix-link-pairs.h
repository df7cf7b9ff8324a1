/* The restore's side of unix connections between jobs (molt-unix-links.h):
 * one new connected pair per connection, each end's queued bytes written
 * back into it from the other end, a shutdown replayed, and each end handed
 * to its job's restore (CRIU's --inherit-fd socket:[INODE]). */
#pragma once

#include "molt-unix-links.h"

G_BEGIN_DECLS

typedef struct _MoltUnixLinkPairs MoltUnixLinkPairs;

MoltUnixLinkPairs *molt_unix_link_pairs_new (void);
void molt_unix_link_pairs_free (MoltUnixLinkPairs *pairs);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MoltUnixLinkPairs, molt_unix_link_pairs_free)
/* The ends job JOB holds (molt_unix_links_load); takes them. */
void molt_unix_link_pairs_add (MoltUnixLinkPairs *pairs, const gchar *job, GPtrArray *ends);
/* Once every job's ends are in: makes the pairs and fills their queues.
 * FALSE naming the job whose other end is not to be restored. */
gboolean molt_unix_link_pairs_connect (MoltUnixLinkPairs *pairs, gchar **failed_job,
                                       GError **error);
/* For JOB's restore: its ends, as {fd, inode} (gint pairs), the fds made
 * inheritable; molt_unix_link_pairs_release closes them after it. */
GArray *molt_unix_link_pairs_take_fds (MoltUnixLinkPairs *pairs, const gchar *job);
void molt_unix_link_pairs_release (MoltUnixLinkPairs *pairs, const gchar *job);

G_END_DECLS
