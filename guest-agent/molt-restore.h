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

G_END_DECLS
