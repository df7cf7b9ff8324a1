/* One switch or snapshot operation per domain at a time: an flock on
 * STATE_DIR/locks/DOMAIN.lock, released when the holder exits (even by
 * SIGKILL), holding the holder's pid for the error message. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _MoltDomainLock MoltDomainLock;

MoltDomainLock *molt_domain_lock_acquire (const gchar *state_dir, const gchar *domain,
                                          const gchar *operation, GError **error);
void molt_domain_lock_release (MoltDomainLock *lock);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MoltDomainLock, molt_domain_lock_release)

G_END_DECLS
