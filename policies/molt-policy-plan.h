/* What `molt policy plan/apply` does now: pure, from policies, the domains
 * with their snapshots, and the time.
 *
 * A policy's snapshots are recognised by name prefix AND description
 * metadata; nothing else is ever pruned (a user's snapshots, a switch's). */
#pragma once

#include "molt-policy.h"

G_BEGIN_DECLS

#define MOLT_POLICY_SNAPSHOT_PREFIX "molt-policy-"

typedef struct
{
  const gchar *name;
  const gchar *description; /* may be NULL */
} MoltSnapshotRef;

typedef struct
{
  gchar *name;
  GArray *snapshots;  /* MoltSnapshotRef; strings in the chunk below */
  GStringChunk *text; /* one allocation per few KiB, not per string */
} MoltDomainState;

typedef enum
{
  MOLT_PLAN_CREATE,
  MOLT_PLAN_DELETE,
} MoltPlanKind;

typedef struct
{
  MoltPlanKind kind;
  const gchar *domain; /* the input's strings: valid while the inputs are */
  const MoltPolicy *policy;
  const gchar *snapshot;
  gchar *new_snapshot; /* owned: a CREATE's name (snapshot points to it) */
  gint64 created;      /* for CREATE: now; for DELETE: its creation time */
  const gchar *reason; /* static text */
} MoltPlanAction;

MoltDomainState *molt_domain_state_new (const gchar *name);
void molt_domain_state_add (MoltDomainState *state, const gchar *snapshot,
                            const gchar *description);
/* The snapshot's strings stay in the chunk until the state is freed. */
void molt_domain_state_remove (MoltDomainState *state, const gchar *snapshot);
void molt_domain_state_free (MoltDomainState *state);
void molt_plan_action_free (MoltPlanAction *action);

/* Name and description of the snapshot policy takes at time now. */
gchar *molt_policy_snapshot_name (const MoltPolicy *policy, gint64 now);
gchar *molt_policy_snapshot_description (const MoltPolicy *policy, gint64 now);
/* TRUE (and *created) if the snapshot was taken by policy. */
gboolean molt_policy_snapshot_owned (const MoltPolicy *policy, const gchar *name,
                                     const gchar *description, gint64 *created);

/* Creates first (each due policy x matching domain), then deletes (as if
 * the creates had happened). Returns MoltPlanAction elements. */
GPtrArray *molt_policy_plan (GPtrArray *policies, GPtrArray *domains, gint64 now);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MoltDomainState, molt_domain_state_free)

G_END_DECLS
