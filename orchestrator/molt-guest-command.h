/* A shell command line run in the guest through the agent, and waited
 * for: the policies' guest-pre-snapshot (flush a database before the
 * freeze). It runs as a short job (job-start, in the guest's own PID
 * namespace so that it can talk to the guest's daemons), named JOB_NAME: a
 * later run of the same name replaces the record of the last one. */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

#include "molt-agent-client.h"

G_BEGIN_DECLS

/* The most of the command's output kept (its tail). */
#define MOLT_GUEST_COMMAND_OUTPUT_MAX 4096

/* Runs `sh -c COMMAND` with ENV (NAME=VALUE strings) and waits up to
 * TIMEOUT_S; *output (may be NULL) gets the tail of what it wrote. FALSE
 * when it cannot be started, exits non-zero (the status and its last line
 * in the message) or does not end in time (then it is killed). */
gboolean molt_guest_command_run (virDomainPtr dom, const gchar *job_name, const gchar *command,
                                 const gchar *const *env, guint timeout_s, gchar **output,
                                 GError **error);

/* Polls job-list every POLL_MS until job NAME exited (and, within 2 s of
 * that, its wait status is known: *STATUS, else -1 or less). TIMEOUT_S 0:
 * no limit; past it FALSE with *TIMED_OUT and an error saying the job's
 * state (the job goes on). FALSE with the error for a failed call. */
gboolean molt_guest_job_wait (MoltAgentClient *client, const gchar *name, guint timeout_s,
                              guint poll_ms, gint64 *status, gboolean *timed_out, GError **error);

G_END_DECLS
