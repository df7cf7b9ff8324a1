/* A policy's hook: a command on the host run around a snapshot, with a
 * timeout, its output kept short for the report. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What the report keeps of a hook's output: its last bytes. */
#define MOLT_HOOK_OUTPUT_MAX 2048

/* Runs command (a shell-quoted command line, no shell) in its own process
 * group with env added to molt's environment (NULL-terminated KEY=VALUE);
 * past timeout_s the group is killed. FALSE with the exit status, signal
 * or timeout and the output's last line in error. *output: the last
 * MOLT_HOOK_OUTPUT_MAX bytes, in every case. */
gboolean molt_hook_run (const gchar *what, const gchar *command, guint timeout_s,
                        const gchar *const *env, gchar **output, GError **error);

G_END_DECLS
