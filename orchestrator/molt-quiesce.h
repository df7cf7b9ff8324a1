/* Quiesce a guest for a consistent snapshot: freeze its managed jobs and
 * FIFREEZE its filesystems through the agent; thaw in every path (the agent
 * also thaws by itself if we vanish). */
#pragma once

#include <libvirt/libvirt.h>

#include "molt-agent-client.h"
#include "molt-policy.h"

G_BEGIN_DECLS

/* OFF: returns NULL. REQUIRED: NULL and error when the guest cannot be
 * quiesced. BEST_EFFORT: NULL and *warning instead of an error. Otherwise
 * the client to pass to molt_quiesce_end. */
MoltAgentClient *molt_quiesce_begin (virDomainPtr dom, MoltQuiesce mode, guint timeout_s,
                                     gchar **warning, GError **error);
/* Thaws and frees; returns FALSE (with error) if the thaw failed. */
gboolean molt_quiesce_end (MoltAgentClient *client, GError **error);

G_END_DECLS
