/* Boot-time restore: brings back every checkpointed job, all of them or
 * none, then continues them (or holds them stopped, if the checkpoint asked
 * so). Runs before the agent serves anyone (molt-agent --restore-pending,
 * early in the guest's boot). */
#pragma once

#include "molt-agent.h"

G_BEGIN_DECLS

/* Returns 1 when a job failed to restore (kept in its record: state
 * restore-failed, restore-error; the others are checkpointed again, with
 * their images), else 0. */
guint molt_restore_pending (MoltAgent *agent);
/* Before the network comes up in a boot that will restore jobs: takes the
 * network lock (molt-net-lock.h), so that nothing answers their peers
 * before their sockets are back. 1 when it cannot, else 0 (also when no
 * job waits). */
guint molt_restore_lock_network (MoltAgent *agent);

G_END_DECLS
