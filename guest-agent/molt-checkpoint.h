/* CRIU checkpoint and restore of one job through libcriu.
 *
 * A job's images go to IMAGES_DIR (on the persistent disk), with CRIU's log
 * beside them; a failure carries CRIU's own error line, which names what it
 * could not do (for a restore: the file that changed or vanished). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Dumps the tree rooted at pid (a PID namespace init) and leaves it as it
 * was (stopped), so that a switch that fails later can thaw it. With
 * drop_waiting, connections waiting in its accept queues are left out
 * (CRIU's tcp-skip-in-flight) instead of failing the dump. EXTERNAL_UNIX
 * (guint32 inodes, or NULL): unix sockets whose other end is in another
 * job, dumped as external (molt-unix-links.h). */
gboolean molt_checkpoint_dump (gint pid, const gchar *images_dir, gboolean drop_waiting,
                               GArray *external_unix, GError **error);
/* Copies the tree's memory while it runs (CRIU pre-dump) into
 * IMAGES_DIR.pre, so that the dump into IMAGES_DIR, later, in the freeze,
 * writes only the pages changed since. */
gboolean molt_checkpoint_pre_dump (gint pid, const gchar *images_dir, GError **error);
gchar *molt_checkpoint_pre_dump_dir (const gchar *images_dir);
/* Restores the tree; returns the new host PID of its root, or -1. The tree
 * comes back as it was dumped (stopped, if it was frozen). With tcp_close,
 * its established TCP connections come back closed (the job sees an error
 * on them and reconnects) instead of re-created. INHERIT (or NULL): {fd,
 * inode} pairs of gint, sockets the restore takes for the external unix
 * sockets of the dump (molt-unix-link-pairs.h). */
gint molt_checkpoint_restore (const gchar *images_dir, gboolean tcp_close, GArray *inherit,
                              GError **error);
/* The most telling lines of a CRIU log: its first and last "Error" lines. */
gchar *molt_checkpoint_log_error (const gchar *log_path);
/* What to say when the log has no error line: a filesystem holding
 * IMAGES_DIR with fewer than this many blocks free is the cause. */
#define MOLT_CHECKPOINT_FULL_BLOCKS 8
gchar *molt_checkpoint_silent_failure (const gchar *images_dir);

G_END_DECLS
