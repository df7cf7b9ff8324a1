/* How one policy is doing for one domain, for `molt policy status`: the
 * newest snapshot and its age, what the retention keeps, the last run, the
 * next due time, and a health in the Nagios/Icinga plugin convention.
 * Pure: time and history are arguments, so thresholds are unit-tested. */
#pragma once

#include "molt-policy.h"
#include "molt-retention.h"

G_BEGIN_DECLS

/* In the order of the plugin exit codes, worst last but UNKNOWN. */
typedef enum
{
  MOLT_HEALTH_OK = 0,
  MOLT_HEALTH_WARNING = 1,
  MOLT_HEALTH_CRITICAL = 2,
  MOLT_HEALTH_UNKNOWN = 3,
} MoltHealth;

/* The latest apply action of the policy on the domain, from the history. */
typedef struct
{
  gint64 at;           /* 0: none recorded */
  const gchar *action; /* create, delete */
  const gchar *status; /* done, failed, skipped */
  const gchar *message;
} MoltPolicyLastRun;

typedef struct
{
  const MoltPolicy *policy;
  gchar *domain;
  guint snapshots;
  gint64 newest; /* creation time; 0: none */
  guint kept_by[MOLT_RETENTION_PRUNED + 1];
  gint64 next_due;
  gint64 warn_age, crit_age;
  gint64 last_run_at; /* 0: none recorded */
  gchar *last_run_status;
  gchar *last_run_message;
  MoltHealth health;
  gchar *summary; /* one line, for --monitor and the table */
} MoltPolicyStatus;

/* created: the policy's snapshots of the domain, any order. */
MoltPolicyStatus *molt_policy_status_new (const MoltPolicy *policy, const gchar *domain,
                                          const gint64 *created, guint n,
                                          const MoltPolicyLastRun *last_run, gint64 now);
void molt_policy_status_free (MoltPolicyStatus *status);
const gchar *molt_health_to_string (MoltHealth health);
/* UNKNOWN counts as worse than OK and WARNING, better than CRITICAL, as
 * Icinga orders them for a summary. */
MoltHealth molt_health_worst (MoltHealth a, MoltHealth b);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MoltPolicyStatus, molt_policy_status_free)

G_END_DECLS
