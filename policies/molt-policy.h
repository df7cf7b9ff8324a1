/* A snapshot policy: which domains, when, how, and what to keep.
 *
 * Pure data; time is always an argument (seconds since the epoch, UTC), so
 * a year of schedules can be simulated in milliseconds. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  MOLT_SCHEDULE_HOURLY,
  MOLT_SCHEDULE_DAILY,
  MOLT_SCHEDULE_WEEKLY,
  MOLT_SCHEDULE_MONTHLY,
  MOLT_SCHEDULE_LAST
} MoltScheduleKind;

typedef struct
{
  MoltScheduleKind kind;
  gint minute;  /* 0-59 */
  gint hour;    /* 0-23; not for hourly */
  gint weekday; /* 1 (Monday) - 7 (Sunday); weekly only */
  gint mday;    /* 1-31, clamped to the month's last day; monthly only */
} MoltSchedule;

typedef enum
{
  MOLT_QUIESCE_REQUIRED,
  MOLT_QUIESCE_BEST_EFFORT,
  MOLT_QUIESCE_OFF,
  MOLT_QUIESCE_LAST
} MoltQuiesce;

/* How the policy's snapshots are kept: libvirt's internal ones (in the
 * qcow2 disks), external ones (overlays and a memory file, taken, reverted
 * and pruned by molt), or auto: external where libvirt refuses internal
 * ones (UEFI firmware in pflash, a disk that is not qcow2). */
typedef enum
{
  MOLT_SNAPSHOT_TYPE_AUTO,
  MOLT_SNAPSHOT_TYPE_INTERNAL,
  MOLT_SNAPSHOT_TYPE_EXTERNAL,
  MOLT_SNAPSHOT_TYPE_LAST
} MoltSnapshotType;

/* Proxmox prune-backups semantics; all zero means keep everything. */
typedef struct
{
  guint last, hourly, daily, weekly, monthly, yearly;
} MoltRetention;

typedef struct
{
  gchar *name;
  gchar *file;
  guint line;    /* of the [policy NAME] header */
  GStrv domains; /* names and glob patterns */
  MoltSchedule schedule;
  gboolean memory;
  MoltQuiesce quiesce;
  MoltSnapshotType snapshot_type;
  MoltRetention keep;
  gint64 warn_age, crit_age; /* seconds; 0: derived from the schedule */
  gchar *metrics_file;       /* NULL: no metrics */
  gchar *pre_snapshot;       /* host command lines; NULL: none */
  gchar *post_snapshot;
  gchar *guest_pre_snapshot; /* a shell command line run in the guest; NULL: none */
  guint hook_timeout_s;
  gboolean hook_failure_aborts; /* on-failure = abort (default) | continue */
} MoltPolicy;

#define MOLT_POLICY_HOOK_TIMEOUT_DEFAULT_S 300
/* The longest guest-pre-snapshot command line (it travels in one agent
 * request). */
#define MOLT_GUEST_COMMAND_MAX 4096

/* The timer that runs `molt policy apply` (molt-policy.timer): a snapshot
 * due at an instant is taken up to this much later. */
#define MOLT_POLICY_TIMER_INTERVAL_S (15 * 60)

void molt_policy_free (MoltPolicy *policy);
const gchar *molt_quiesce_to_string (MoltQuiesce quiesce);
gboolean molt_quiesce_from_string (const gchar *text, MoltQuiesce *out);
const gchar *molt_snapshot_type_to_string (MoltSnapshotType type);
gboolean molt_snapshot_type_from_string (const gchar *text, MoltSnapshotType *out);
gchar *molt_schedule_to_string (const MoltSchedule *schedule);
/* The newest snapshot's age at which `molt policy status` warns and turns
 * critical: the policy's, or 1.5 and 2.5 schedule periods. */
gint64 molt_policy_warn_age (const MoltPolicy *policy);
gint64 molt_policy_crit_age (const MoltPolicy *policy);
gboolean molt_policy_matches_domain (const MoltPolicy *policy, const gchar *domain);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MoltPolicy, molt_policy_free)

G_END_DECLS
