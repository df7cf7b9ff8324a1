#include <stdlib.h>

#include <libvirt/virterror.h>

#include "molt-domain-lock.h"
#include "molt-guest-command.h"
#include "molt-hook.h"
#include "molt-host-error.h"
#include "molt-libvirt.h"
#include "molt-message.h"
#include "molt-policy-apply.h"
#include "molt-policy-plan.h"
#include "molt-quiesce.h"
#include "molt-snapshot-chain.h"
#include "molt-snapshot-external.h"
#include "molt-snapshot.h"

GPtrArray *
molt_policy_gather (virConnectPtr conn, GError **error)
{
  virDomainPtr *doms = NULL;
  GPtrArray *states;
  int n = virConnectListAllDomains (conn, &doms, 0);

  if (n < 0)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED, "cannot list domains: %s",
                   virGetLastErrorMessage ());
      return NULL;
    }
  states = g_ptr_array_new_with_free_func ((GDestroyNotify) molt_domain_state_free);
  for (int i = 0; i < n; i++)
    {
      MoltDomainState *state = molt_domain_state_new (virDomainGetName (doms[i]));
      g_autoptr (GPtrArray) snaps = molt_snapshot_list (doms[i], NULL);

      for (guint s = 0; snaps != NULL && s < snaps->len; s++)
        {
          MoltSnapshotInfo *info = g_ptr_array_index (snaps, s);
          molt_domain_state_add (state, info->name, info->description);
        }
      g_ptr_array_add (states, state);
      virDomainFree (doms[i]);
    }
  free (doms);
  return states;
}

/* quiesce in the result: frozen, failed (the snapshot went on, or not,
 * as the policy says), off, or not-running (nothing to freeze). */
static gboolean
take_snapshot (virDomainPtr dom, MoltPlanAction *a, const MoltPolicyRunOptions *o, JsonObject *r,
               gchar **message, GError **error)
{
  g_autofree gchar *description = molt_policy_snapshot_description (a->policy, a->created);
  g_autofree gchar *warning = NULL;
  g_autoptr (GError) thaw_error = NULL;
  g_autoptr (GError) quiesce_error = NULL;
  g_autofree gchar *why_external = NULL;
  MoltAgentClient *quiesced;
  gboolean running = virDomainIsActive (dom) == 1;
  gboolean external = a->policy->snapshot_type == MOLT_SNAPSHOT_TYPE_EXTERNAL
                      || (a->policy->snapshot_type == MOLT_SNAPSHOT_TYPE_AUTO
                          && molt_snapshot_needs_external (dom, &why_external));
  gboolean ok;

  quiesced
      = molt_quiesce_begin (dom, a->policy->quiesce, o->agent_timeout_s, &warning, &quiesce_error);
  json_object_set_string_member (r, "quiesce",
                                 a->policy->quiesce == MOLT_QUIESCE_OFF ? "off"
                                 : quiesced != NULL                     ? "frozen"
                                 : running                              ? "failed"
                                                                        : "not-running");
  json_object_set_string_member (r, "type", external ? "external" : "internal");
  if (why_external != NULL)
    json_object_set_string_member (r, "type-reason", why_external);
  if (quiesced == NULL && a->policy->quiesce == MOLT_QUIESCE_REQUIRED && running)
    {
      g_propagate_error (error, g_steal_pointer (&quiesce_error));
      return FALSE;
    }
  ok = external
           ? molt_snapshot_chain_create (dom, a->snapshot, description, a->policy->memory, error)
           : molt_snapshot_create_full (dom, a->snapshot, description, a->policy->memory, error);
  /* Thaw in every path. */
  if (!molt_quiesce_end (quiesced, &thaw_error))
    warning = g_strdup_printf ("thaw failed (the agent thaws by itself): %s", thaw_error->message);
  if (ok)
    *message = g_strdup (warning != NULL    ? warning
                         : quiesced != NULL ? "quiesced: jobs and filesystems frozen"
                                            : "taken");
  return ok;
}

/* One hook, recorded in the result's hooks array. */
static gboolean
run_hook (MoltPlanAction *a, const gchar *which, const gchar *command, const gchar *result,
          JsonObject *r, GError **error)
{
  g_autofree gchar *env_domain = g_strconcat ("MOLT_DOMAIN=", a->domain, NULL);
  g_autofree gchar *env_policy = g_strconcat ("MOLT_POLICY=", a->policy->name, NULL);
  g_autofree gchar *env_snapshot = g_strconcat ("MOLT_SNAPSHOT=", a->snapshot, NULL);
  g_autofree gchar *env_hook = g_strconcat ("MOLT_HOOK=", which, NULL);
  g_autofree gchar *env_result = g_strconcat ("MOLT_RESULT=", result, NULL);
  const gchar *env[] = {
    env_domain, env_policy, env_snapshot, env_hook, result != NULL ? env_result : NULL, NULL
  };
  g_autoptr (JsonObject) rec = json_object_new ();
  g_autofree gchar *output = NULL;
  gint64 started = g_get_monotonic_time ();
  gboolean ok = molt_hook_run (which, command, a->policy->hook_timeout_s, env, &output, error);
  JsonArray *hooks = json_object_get_array_member (r, "hooks");

  json_object_set_string_member (rec, "hook", which);
  json_object_set_string_member (rec, "status", ok ? "ok" : "failed");
  json_object_set_double_member (rec, "seconds",
                                 (gdouble) ((g_get_monotonic_time () - started) / 1000) / 1000);
  json_object_set_string_member (rec, "output", output);
  if (!ok)
    json_object_set_string_member (rec, "error", (*error)->message);
  json_array_add_object_element (hooks, g_steal_pointer (&rec));
  return ok;
}

/* The policy's command in the guest (before the freeze: a database
 * flushes what it holds), recorded in the hooks array like the host's. */
static gboolean
run_guest_hook (virDomainPtr dom, MoltPlanAction *a, JsonObject *r, GError **error)
{
  g_autofree gchar *env_domain = g_strconcat ("MOLT_DOMAIN=", a->domain, NULL);
  g_autofree gchar *env_policy = g_strconcat ("MOLT_POLICY=", a->policy->name, NULL);
  g_autofree gchar *env_snapshot = g_strconcat ("MOLT_SNAPSHOT=", a->snapshot, NULL);
  /* The agent's job names are 1-64 characters, policy names too. */
  g_autofree gchar *job_long = g_strconcat ("pre-snapshot-", a->policy->name, NULL);
  g_autofree gchar *job = g_strndup (job_long, 64);
  const gchar *env[]
      = { env_domain, env_policy, env_snapshot, "MOLT_HOOK=guest-pre-snapshot", NULL };
  g_autoptr (JsonObject) rec = json_object_new ();
  g_autofree gchar *output = NULL, *shown = NULL;
  gint64 started = g_get_monotonic_time ();
  gboolean ok = molt_guest_command_run (dom, job, a->policy->guest_pre_snapshot, env,
                                        a->policy->hook_timeout_s, &output, error);

  if (!ok)
    {
      g_autofree gchar *command = molt_text_excerpt (a->policy->guest_pre_snapshot, 80);
      g_prefix_error (error, "guest-pre-snapshot '%s' in the guest: ", command);
    }
  shown = molt_text_excerpt (output != NULL ? output : "", MOLT_GUEST_COMMAND_OUTPUT_MAX);
  json_object_set_string_member (rec, "hook", "guest-pre-snapshot");
  json_object_set_string_member (rec, "status", ok ? "ok" : "failed");
  json_object_set_double_member (rec, "seconds",
                                 (gdouble) ((g_get_monotonic_time () - started) / 1000) / 1000);
  json_object_set_string_member (rec, "output", shown);
  if (!ok)
    json_object_set_string_member (rec, "error", (*error)->message);
  json_array_add_object_element (json_object_get_array_member (r, "hooks"), g_steal_pointer (&rec));
  return ok;
}

/* A pre hook (the host's or the guest's) failed: with on-failure = abort
 * no snapshot (FALSE, the error set), else a warning for the message. */
static gboolean
pre_hook_failed (const MoltPolicy *pol, GError *hook_error, GString *warnings, GError **error)
{
  if (pol->hook_failure_aborts)
    {
      g_propagate_prefixed_error (error, hook_error, "no snapshot taken (on-failure = abort): ");
      return FALSE;
    }
  g_string_append_printf (warnings, "; %s (on-failure = continue)", hook_error->message);
  g_error_free (hook_error);
  return TRUE;
}

/* The pre-snapshot hook, the snapshot (unless the hook failed and
 * on-failure = abort), then the post-snapshot hook in every case: a pre
 * hook that stopped something gets its chance to start it again. */
static gboolean
do_create (virDomainPtr dom, MoltPlanAction *a, const MoltPolicyRunOptions *o, JsonObject *r,
           gchar **message, GError **error)
{
  const MoltPolicy *pol = a->policy;
  g_autoptr (GError) hook_error = NULL;
  g_autoptr (GString) warnings = g_string_new (NULL);
  const gchar *result;
  gboolean ok = TRUE;

  if (pol->pre_snapshot != NULL || pol->post_snapshot != NULL || pol->guest_pre_snapshot != NULL)
    json_object_set_array_member (r, "hooks", json_array_new ());
  if (pol->pre_snapshot != NULL
      && !run_hook (a, "pre-snapshot", pol->pre_snapshot, NULL, r, &hook_error))
    ok = pre_hook_failed (pol, g_steal_pointer (&hook_error), warnings, error);
  /* In the guest, after the host's: a shut-off guest has nothing to flush. */
  if (ok && pol->guest_pre_snapshot != NULL && virDomainIsActive (dom) == 1
      && !run_guest_hook (dom, a, r, &hook_error))
    ok = pre_hook_failed (pol, g_steal_pointer (&hook_error), warnings, error);
  if (ok)
    ok = take_snapshot (dom, a, o, r, message, error);
  result = ok ? "done" : json_object_has_member (r, "quiesce") ? "failed" : "aborted";
  if (pol->post_snapshot != NULL
      && !run_hook (a, "post-snapshot", pol->post_snapshot, result, r, &hook_error))
    {
      if (ok && pol->hook_failure_aborts)
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&hook_error),
                                      "the snapshot was taken, but: ");
          g_clear_pointer (message, g_free);
          ok = FALSE;
        }
      else if (ok)
        g_string_append_printf (warnings, "; %s (on-failure = continue)", hook_error->message);
      else
        {
          /* The snapshot's own failure first: it is what went wrong. */
          gchar *both = g_strdup_printf ("%s; and %s", (*error)->message, hook_error->message);
          g_free ((*error)->message);
          (*error)->message = both;
        }
    }
  if (ok && warnings->len > 0)
    {
      gchar *with = g_strconcat (*message, warnings->str, NULL);
      g_free (*message);
      *message = with;
    }
  return ok;
}

JsonArray *
molt_policy_run (virConnectPtr conn, GPtrArray *policies, gint64 now, const MoltPolicyRunOptions *o,
                 gboolean *all_ok, GError **error)
{
  g_autoptr (GPtrArray) states = molt_policy_gather (conn, error);
  g_autoptr (GPtrArray) plan = NULL;
  g_autoptr (GHashTable) not_created = NULL; /* "POLICY/DOMAIN" whose create failed */
  g_autoptr (MoltDomainLock) apply_lock = NULL;
  JsonArray *results;

  *all_ok = TRUE;
  if (states == NULL)
    return NULL;
  /* Two applies at once must not both create the same due snapshot. */
  if (o->apply)
    {
      apply_lock = molt_domain_lock_named (o->state_dir, ".policy-apply", "policy-apply", error);
      if (apply_lock == NULL)
        return NULL;
    }
  plan = molt_policy_plan (policies, states, now);
  not_created = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  results = json_array_new ();
  for (guint i = 0; i < plan->len; i++)
    {
      MoltPlanAction *a = g_ptr_array_index (plan, i);
      g_autoptr (JsonObject) r = json_object_new ();
      g_autoptr (GError) local_error = NULL;
      g_autoptr (MoltDomainLock) lock = NULL;
      g_autoptr (virDomain) dom = NULL;
      g_autofree gchar *message = NULL;
      const gchar *status = "planned";
      g_autofree gchar *pair = g_strconcat (a->policy->name, "/", a->domain, NULL);
      gboolean ok = TRUE;

      json_object_set_string_member (r, "action",
                                     a->kind == MOLT_PLAN_CREATE ? "create" : "delete");
      json_object_set_string_member (r, "domain", a->domain);
      json_object_set_string_member (r, "policy", a->policy->name);
      json_object_set_string_member (r, "snapshot", a->snapshot);
      json_object_set_int_member (r, "created", a->created);
      if (o->apply)
        {
          dom = virDomainLookupByName (conn, a->domain);
          if (dom != NULL)
            lock = molt_domain_lock_acquire (o->state_dir, dom, MOLT_LOCK_EXCLUSIVE, "policy-apply",
                                             &local_error);
          if (dom != NULL && lock == NULL)
            status = "skipped";
          else if (a->kind == MOLT_PLAN_DELETE && g_hash_table_contains (not_created, pair))
            {
              /* The plan prunes as if the new snapshot existed: without it,
               * every failing night would prune one more good snapshot. */
              status = "skipped";
              message = g_strdup ("kept: this run's new snapshot of the domain was not taken, "
                                  "and the retention counted it");
            }
          else if (dom == NULL)
            {
              status = "skipped";
              message = g_strdup ("the domain is gone");
            }
          else
            {
              ok = a->kind == MOLT_PLAN_CREATE ? do_create (dom, a, o, r, &message, &local_error)
                   : molt_snapshot_is_external (dom, a->snapshot)
                       ? molt_snapshot_chain_delete (dom, a->snapshot, &local_error)
                       : molt_snapshot_delete (dom, a->snapshot, &local_error);
              status = ok ? "done" : "failed";
            }
          if (a->kind == MOLT_PLAN_CREATE && !g_str_equal (status, "done"))
            g_hash_table_add (not_created, g_steal_pointer (&pair));
        }
      if (local_error != NULL)
        json_object_set_string_member (r, "message", local_error->message);
      else if (message != NULL)
        json_object_set_string_member (r, "message", message);
      else
        json_object_set_string_member (r, "message", a->reason);
      json_object_set_string_member (r, "status", status);
      *all_ok &= ok;
      json_array_add_object_element (results, g_steal_pointer (&r));
    }
  return results;
}
