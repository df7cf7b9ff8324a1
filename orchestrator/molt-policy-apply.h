/* molt policy plan/apply against libvirt: gather each domain's snapshots,
 * ask policies/ what to do, and (apply) do it, domain by domain, under the
 * per-domain lock; a locked domain is skipped with a message. */
#pragma once

#include <json-glib/json-glib.h>
#include <libvirt/libvirt.h>

G_BEGIN_DECLS

typedef struct
{
  const gchar *state_dir;
  guint agent_timeout_s;
  gboolean apply; /* FALSE: plan only, touch nothing */
} MoltPolicyRunOptions;

/* Every domain with its snapshots (MoltDomainState), for the planner and
 * for status. */
GPtrArray *molt_policy_gather (virConnectPtr conn, GError **error);

/* Returns one object per action: action, domain, policy, snapshot, status
 * (planned, done, skipped, failed), message, and for a create that ran,
 * quiesce (frozen, failed, off, not-running). *all_ok is FALSE if any action
 * failed. */
JsonArray *molt_policy_run (virConnectPtr conn, GPtrArray *policies, gint64 now,
                            const MoltPolicyRunOptions *options, gboolean *all_ok, GError **error);

G_END_DECLS
