/* Who may use a domain, across molt processes: flocks under
 * STATE_DIR/locks, named by the domain's UUID (so that a name, a UUID or an
 * id typed on the command line all take the same lock), released when the
 * holder exits, even by SIGKILL.
 *
 * - The operation lock, UUID.lock: shared for read-only commands (ping,
 *   info, jobs, logs, exec, stop, switch --dry-run), exclusive for what
 *   changes the domain (switch, rollback, resume, snapshot, policy apply).
 *   A shared request during an exclusive operation fails at once with
 *   MOLT_HOST_ERROR_BUSY ("busy: switch in progress, step STEP since TIME",
 *   for the caller to prefix with the domain's name); an exclusive request waits a little for
 * read-only commands to finish, and fails the same way when another exclusive operation holds the
 * domain.
 * - The channel lock, UUID.channel: read-only commands share the operation
 *   lock, but the agent channel has one user at a time; they queue here.
 *
 * An exclusive holder records "PID EPOCH OPERATION" in its lock file for
 * the busy message. */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

G_BEGIN_DECLS

typedef struct _MoltDomainLock MoltDomainLock;

typedef enum
{
  MOLT_LOCK_SHARED,
  MOLT_LOCK_EXCLUSIVE,
} MoltLockMode;

/* How long an exclusive request waits for read-only commands. */
#define MOLT_LOCK_EXCLUSIVE_WAIT_MS 15000

MoltDomainLock *molt_domain_lock_acquire (const gchar *state_dir, virDomainPtr dom,
                                          MoltLockMode mode, const gchar *operation,
                                          GError **error);
/* Waits up to wait_ms for the channel. */
MoltDomainLock *molt_domain_lock_channel (const gchar *state_dir, virDomainPtr dom, guint wait_ms,
                                          GError **error);
/* An exclusive lock on a name of molt's own (".policy-apply"), not a domain. */
MoltDomainLock *molt_domain_lock_named (const gchar *state_dir, const gchar *name,
                                        const gchar *operation, GError **error);
void molt_domain_lock_release (MoltDomainLock *lock);

/* The domain's UUID as a string: the name of its locks and journal. */
gchar *molt_domain_uuid (virDomainPtr dom, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MoltDomainLock, molt_domain_lock_release)

G_END_DECLS
