/* Which snapshots a retention rule keeps: Proxmox VE's prune-backups
 * semantics (docs/policies.md has a worked example).
 *
 * Snapshots are taken newest first. keep-last keeps the N newest. Then, for
 * hourly, daily, weekly (ISO week), monthly and yearly in that order, the
 * newest snapshot of each period not yet covered by a kept snapshot is kept,
 * until N periods are kept. Everything else is pruned. With every count
 * zero, everything is kept. Periods are in UTC. */
#pragma once

#include "molt-policy.h"

G_BEGIN_DECLS

/* created: creation times, sorted newest first; keep[i] is set to TRUE for
 * the snapshots to keep. */
void molt_retention_mark (const MoltRetention *rule, const gint64 *created, guint n,
                          gboolean *keep);

G_END_DECLS
