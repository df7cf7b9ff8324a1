/* Boot-time restore: brings back every checkpointed job, then continues it.
 * Runs before the agent serves anyone (molt-agent --restore-pending, early
 * in the guest's boot). */
#pragma once

#include "molt-agent.h"

G_BEGIN_DECLS

/* Returns the number of jobs that failed to restore; each failure is kept
 * in the job's record (state restore-failed, restore-error). */
guint molt_restore_pending (MoltAgent *agent);

G_END_DECLS
