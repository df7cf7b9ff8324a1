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

/* Which option keeps a snapshot (the first that does, in the order
 * above), for `molt policy status`. */
typedef enum
{
  MOLT_RETENTION_LAST,
  MOLT_RETENTION_HOURLY,
  MOLT_RETENTION_DAILY,
  MOLT_RETENTION_WEEKLY,
  MOLT_RETENTION_MONTHLY,
  MOLT_RETENTION_YEARLY,
  MOLT_RETENTION_ALL,    /* every count is 0: everything is kept */
  MOLT_RETENTION_PRUNED, /* no option keeps it */
} MoltRetentionClass;

/* created: creation times, sorted newest first; kept_by[i] says why the
 * i-th is kept, or that it is pruned. */
void molt_retention_classify (const MoltRetention *rule, const gint64 *created, guint n,
                              MoltRetentionClass *kept_by);
const gchar *molt_retention_class_to_string (MoltRetentionClass kept_by);

/* The same, as keep[i] = TRUE for the snapshots to keep. */
void molt_retention_mark (const MoltRetention *rule, const gint64 *created, guint n,
                          gboolean *keep);

G_END_DECLS
