/* What each `molt policy apply` did, kept so that `molt policy status`
 * can say when a policy last worked after the host rebooted: one JSON
 * object per line in STATE_DIR/policy-history.jsonl, append-only, the
 * older half dropped once the file passes MOLT_POLICY_HISTORY_MAX_BYTES.
 * docs/policies.md lists the members. */
#pragma once

#include <json-glib/json-glib.h>

#include "molt-policy-status.h"

G_BEGIN_DECLS

#define MOLT_POLICY_HISTORY_FILE      "policy-history.jsonl"
#define MOLT_POLICY_HISTORY_MAX_BYTES (1024 * 1024)

/* Appends one line per action of a run (the objects molt_policy_run
 * returns, stamped with `at`) and one line for the run itself. */
gboolean molt_policy_history_append (const gchar *state_dir, gint64 at, gdouble seconds,
                                     JsonArray *actions, GError **error);

typedef struct MoltPolicyHistory MoltPolicyHistory;

/* A missing file is an empty history; lines that do not parse are
 * skipped and counted. */
MoltPolicyHistory *molt_policy_history_load (const gchar *state_dir, GError **error);
void molt_policy_history_free (MoltPolicyHistory *history);
/* The latest run's action on the domain by the policy, a failed one if
 * any; at = 0 when none. */
MoltPolicyLastRun molt_policy_history_last_action (MoltPolicyHistory *history, const gchar *policy,
                                                   const gchar *domain);
/* The latest run line: its time (0: none), length and whether it failed. */
gint64 molt_policy_history_last_run (MoltPolicyHistory *history, gdouble *seconds, gboolean *ok);
guint molt_policy_history_skipped_lines (MoltPolicyHistory *history);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MoltPolicyHistory, molt_policy_history_free)

G_END_DECLS
