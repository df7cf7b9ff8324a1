/* `molt policy status` and the metrics file: each policy's state for each
 * domain it covers, from libvirt's snapshots and the run history. */
#pragma once

#include <json-glib/json-glib.h>

#include "molt-policy-history.h"
#include "molt-policy-status.h"

G_BEGIN_DECLS

/* states: MoltDomainState (molt_policy_gather); only_domains: NULL for
 * every domain. Returns MoltPolicyStatus, by policy then domain. */
GPtrArray *molt_policy_statuses (GPtrArray *policies, GPtrArray *states, MoltPolicyHistory *history,
                                 const gchar *const *only_domains, gint64 now);
JsonObject *molt_policy_status_to_json (const MoltPolicyStatus *status);

/* The Prometheus text file (node_exporter's textfile collector) for the
 * statuses whose policy names path, and this run's actions; written to a
 * temporary file in the same directory and renamed over path. */
gboolean molt_policy_metrics_write (const gchar *path, GPtrArray *statuses, JsonArray *actions,
                                    gint64 at, gdouble seconds, GError **error);

G_END_DECLS
