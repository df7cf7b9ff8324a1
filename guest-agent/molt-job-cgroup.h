/* Puts a job into a cgroup (v2) group: a systemd unit's, so that the unit
 * whose ExecStart= is `molt-run --wait` owns the job as if it had started
 * it: `systemctl status` lists the job's processes, the unit's resource
 * limits apply to them and stopping the unit ends them.
 *
 * The agent does the move (it is root and outside the unit's sandbox);
 * molt-run only names its own group. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define MOLT_CGROUP_ROOT "/sys/fs/cgroup"

/* Opens ROOT/CGROUP/cgroup.procs for writing (O_CLOEXEC). CGROUP is a path
 * as /proc/PID/cgroup's "0::" line gives it: absolute, no "." or ".."
 * component. */
gint molt_job_cgroup_open (const gchar *root, const gchar *cgroup, GError **error);
/* Moves root_pid and all its descendants into the group procs_fd was opened
 * for; walks the tree again until a walk finds no process it had not
 * moved, so a fork racing with the move is caught. */
gboolean molt_job_cgroup_move_tree (gint procs_fd, gint root_pid, GError **error);
/* For a launcher's child between fork and exec: moves the calling process
 * ("0" is the writer itself). Async-signal-safe; FALSE with errno set. */
gboolean molt_job_cgroup_join_self (gint procs_fd);

G_END_DECLS
