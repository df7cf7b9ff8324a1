/* What CRIU is certain to refuse in a job's process tree, found from /proc
 * before anything is frozen: the switch's preflight names the job and the
 * reason instead of freezing it and failing at the checkpoint. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* CRIU's default --ghost-limit: the most of a deleted file's contents it
 * saves in the images. molt does not change it. */
#define MOLT_CRIU_GHOST_LIMIT (1024 * 1024)

/* At most this many reasons per tree: the first ones say what to fix. */
#define MOLT_DUMP_INSPECT_MAX_REASONS 8

/* Reasons (strings, "pid N (COMM) ...") why CRIU cannot dump the tree
 * rooted at ROOT_PID; empty when none was found. Processes and files that
 * vanish while they are read are skipped: the checkpoint has the last
 * word, this only finds what is certain to fail. OTHER_JOBS (or NULL):
 * socket inode -> name of the other job of the switch holding it (a unix
 * stream connection to such a socket is carried, molt-unix-links.h). */
GPtrArray *molt_dump_inspect_tree (gint root_pid, gint64 ghost_limit, GHashTable *other_jobs);

G_END_DECLS
