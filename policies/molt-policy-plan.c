#include <stdlib.h>
#include <string.h>

#include "molt-policy-plan.h"
#include "molt-retention.h"
#include "molt-schedule.h"

MoltDomainState *
molt_domain_state_new (const gchar *name)
{
  MoltDomainState *state = g_new0 (MoltDomainState, 1);
  state->name = g_strdup (name);
  state->snapshots = g_array_new (FALSE, FALSE, sizeof (MoltSnapshotRef));
  state->text = g_string_chunk_new (4096);
  return state;
}

void
molt_domain_state_add (MoltDomainState *state, const gchar *snapshot, const gchar *description)
{
  MoltSnapshotRef ref = {
    .name = g_string_chunk_insert (state->text, snapshot),
    .description = description != NULL ? g_string_chunk_insert (state->text, description) : NULL,
  };
  g_array_append_val (state->snapshots, ref);
}

void
molt_domain_state_remove (MoltDomainState *state, const gchar *snapshot)
{
  for (guint i = 0; i < state->snapshots->len; i++)
    if (g_str_equal (g_array_index (state->snapshots, MoltSnapshotRef, i).name, snapshot))
      {
        g_array_remove_index (state->snapshots, i);
        return;
      }
}

void
molt_domain_state_free (MoltDomainState *state)
{
  if (state == NULL)
    return;
  g_array_unref (state->snapshots);
  g_string_chunk_free (state->text);
  g_free (state->name);
  g_free (state);
}

void
molt_plan_action_free (MoltPlanAction *action)
{
  if (action == NULL)
    return;
  g_free (action->new_snapshot);
  g_free (action);
}

gchar *
molt_policy_snapshot_name (const MoltPolicy *policy, gint64 now)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (now);
  g_autofree gchar *stamp = g_date_time_format (dt, "%Y%m%dT%H%M%SZ");
  return g_strconcat (MOLT_POLICY_SNAPSHOT_PREFIX, policy->name, "-", stamp, NULL);
}

gchar *
molt_policy_snapshot_description (const MoltPolicy *policy, gint64 now)
{
  return g_strdup_printf ("molt-policy=%s created=%" G_GINT64_FORMAT, policy->name, now);
}

/* prefix and tag precomputed: this runs for every snapshot of every domain. */
static gboolean
owned_by (const gchar *prefix, const gchar *tag, gsize tag_len, const gchar *name,
          const gchar *description, gint64 *created)
{
  const gchar *value;
  gchar *end = NULL;
  gint64 t;

  if (name == NULL || description == NULL || !g_str_has_prefix (name, prefix)
      || strncmp (description, tag, tag_len) != 0)
    return FALSE;
  value = description + tag_len;
  t = g_ascii_strtoll (value, &end, 10);
  if (end == value || (*end != '\0' && *end != ' '))
    return FALSE;
  *created = t;
  return TRUE;
}

gboolean
molt_policy_snapshot_owned (const MoltPolicy *policy, const gchar *name, const gchar *description,
                            gint64 *created)
{
  g_autofree gchar *prefix = g_strconcat (MOLT_POLICY_SNAPSHOT_PREFIX, policy->name, "-", NULL);
  g_autofree gchar *tag = g_strdup_printf ("molt-policy=%s created=", policy->name);

  return owned_by (prefix, tag, strlen (tag), name, description, created);
}

typedef struct
{
  const gchar *name;
  gint64 created;
} Owned;

static gint
newest_first (gconstpointer a, gconstpointer b)
{
  const Owned *x = a, *y = b;
  if (x->created != y->created)
    return x->created > y->created ? -1 : 1;
  return g_strcmp0 (y->name, x->name);
}

static MoltPlanAction *
action_new (MoltPlanKind kind, const gchar *domain, const MoltPolicy *policy, const gchar *snapshot,
            gint64 created, const gchar *reason)
{
  MoltPlanAction *a = g_new0 (MoltPlanAction, 1);
  a->kind = kind;
  a->domain = domain;
  a->policy = policy;
  a->snapshot = snapshot;
  a->created = created;
  a->reason = reason;
  return a;
}

static void
plan_one (const MoltPolicy *policy, MoltDomainState *domain, gint64 now, GPtrArray *creates,
          GPtrArray *deletes)
{
  g_autoptr (GArray) owned = g_array_new (FALSE, FALSE, sizeof (Owned));
  g_autofree gint64 *times = NULL;
  g_autofree gboolean *keep = NULL;
  gint64 due = molt_schedule_last_due (&policy->schedule, now);
  gint64 newest = G_MININT64;
  g_autofree gchar *prefix = g_strconcat (MOLT_POLICY_SNAPSHOT_PREFIX, policy->name, "-", NULL);
  g_autofree gchar *tag = g_strdup_printf ("molt-policy=%s created=", policy->name);
  gsize tag_len = strlen (tag);

  for (guint i = 0; i < domain->snapshots->len; i++)
    {
      MoltSnapshotRef *ref = &g_array_index (domain->snapshots, MoltSnapshotRef, i);
      Owned o = { ref->name, 0 };
      if (owned_by (prefix, tag, tag_len, ref->name, ref->description, &o.created))
        {
          g_array_append_val (owned, o);
          newest = MAX (newest, o.created);
        }
    }
  /* Due when no snapshot of ours is as new as the last scheduled instant:
   * however many windows were missed, that is one snapshot. A snapshot from
   * the future (the clock went backwards) counts as recent. */
  if (newest < due)
    {
      MoltPlanAction *create = action_new (MOLT_PLAN_CREATE, domain->name, policy, NULL, now,
                                           "due: no snapshot since its last scheduled time");
      /* The action owns the name; a delete of it (never, in practice) points to it too. */
      create->new_snapshot = molt_policy_snapshot_name (policy, now);
      create->snapshot = create->new_snapshot;
      g_ptr_array_add (creates, create);
      g_array_append_val (owned, ((Owned){ create->new_snapshot, now }));
    }
  g_array_sort (owned, newest_first);
  times = g_new0 (gint64, MAX (owned->len, 1));
  keep = g_new0 (gboolean, MAX (owned->len, 1));
  for (guint i = 0; i < owned->len; i++)
    times[i] = g_array_index (owned, Owned, i).created;
  molt_retention_mark (&policy->keep, times, owned->len, keep);
  for (guint i = 0; i < owned->len; i++)
    if (!keep[i])
      {
        Owned *o = &g_array_index (owned, Owned, i);
        g_ptr_array_add (deletes, action_new (MOLT_PLAN_DELETE, domain->name, policy, o->name,
                                              o->created, "outside the retention rule"));
      }
}

GPtrArray *
molt_policy_plan (GPtrArray *policies, GPtrArray *domains, gint64 now)
{
  GPtrArray *actions = g_ptr_array_new_with_free_func ((GDestroyNotify) molt_plan_action_free);
  g_autoptr (GPtrArray) deletes = g_ptr_array_new ();

  for (guint p = 0; p < policies->len; p++)
    for (guint d = 0; d < domains->len; d++)
      {
        const MoltPolicy *policy = g_ptr_array_index (policies, p);
        MoltDomainState *domain = g_ptr_array_index (domains, d);
        if (molt_policy_matches_domain (policy, domain->name))
          plan_one (policy, domain, now, actions, deletes);
      }
  for (guint i = 0; i < deletes->len; i++)
    g_ptr_array_add (actions, g_ptr_array_index (deletes, i));
  return actions;
}
