/* Stops and continues a job's whole process tree.
 *
 * SIGSTOP, not the cgroup freezer: it needs no cgroup set-up in the guest,
 * and CRIU dumps stopped tasks and restores them stopped, so a job frozen
 * before the snapshot stays frozen until molt continues it. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* PIDs of root and all its descendants (walks /proc/PID/task/TID/children). */
GArray *molt_process_tree (gint root_pid);
/* Calls func once on each process of root_pid's tree, walking the tree
 * again until a walk finds none it has not seen (a fork racing with the
 * walk is caught), at most max_walks walks; *settled (may be NULL) says
 * whether the last walk found nothing new. func failing stops it. */
typedef gboolean (*MoltPidFunc) (gint pid, gpointer data, GError **error);
gboolean molt_process_tree_each (gint root_pid, guint max_walks, MoltPidFunc func, gpointer data,
                                 gboolean *settled, GError **error);
/* Sends SIGSTOP (freeze) or SIGCONT (thaw) to every process of the tree;
 * repeats the walk until no new child appears, so a fork racing with the
 * freeze is caught. */
gboolean molt_job_tree_signal (gint root_pid, gboolean freeze, GError **error);

G_END_DECLS
