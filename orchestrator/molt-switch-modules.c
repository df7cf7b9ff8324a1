/* A driver-set switch: see molt-switch-modules.h. */
#include "molt-agent-client.h"
#include "molt-domain-lock.h"
#include "molt-guest-command.h"
#include "molt-host-error.h"
#include "molt-libvirt.h"
#include "molt-protocol-error.h"
#include "molt-reply.h"
#include "molt-switch-modules-fallback.h"
#include "molt-switch-modules.h"

/* The agent thaws by itself if the host vanishes for this long. */
#define MOLT_MODULES_AUTO_THAW_S 120
/* modules-reload unloads and loads in the guest: seconds, not more. */
#define MOLT_MODULES_RELOAD_TIMEOUT_MS 120000

static void
progress (const MoltSwitchModulesOptions *o, const gchar *line)
{
  if (o->progress != NULL)
    o->progress (line, NULL);
}

static void
add_step (JsonObject *report, const gchar *name, gint64 start)
{
  JsonArray *steps = json_object_get_array_member (report, "steps");
  JsonObject *step = json_object_new ();

  json_object_set_string_member (step, "step", name);
  json_object_set_double_member (step, "seconds",
                                 (gdouble) ((g_get_monotonic_time () - start) / 1000) / 1000);
  json_array_add_object_element (steps, step);
}

/* The preflight's decision: FALSE with the reason when the set cannot be
 * installed, or not by the path asked for; *kexec when it takes the
 * same-kernel kexec path. */
static gboolean
decide (const MoltSwitchModulesOptions *o, JsonObject *inspect, JsonObject *report, gboolean *kexec,
        GError **error)
{
  JsonArray *problems = NULL, *modules = NULL;
  g_autoptr (GString) why = g_string_new (NULL);
  const gchar *reason;

  if (!molt_reply_get_array (inspect, "modules-inspect", "problems", 0, &problems, error)
      || !molt_reply_get_array (inspect, "modules-inspect", "modules", 0, &modules, error))
    return FALSE;
  for (guint i = 0; i < json_array_get_length (problems); i++)
    {
      JsonNode *node = json_array_get_element (problems, i);
      if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
        g_string_append_printf (why, "%s%s", why->len > 0 ? "; " : "", json_node_get_string (node));
    }
  if (why->len > 0)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "preflight: the driver set cannot be installed: %s; nothing was changed",
                   why->str);
      return FALSE;
    }
  for (guint i = 0; i < json_array_get_length (modules); i++)
    {
      JsonObject *module = molt_reply_array_object (modules, "modules-inspect", i, error);
      const gchar *busy = NULL;

      if (module == NULL
          || !molt_reply_get_string (module, "modules-inspect", "busy", MOLT_REPLY_OPTIONAL, &busy,
                                     error))
        return FALSE;
      if (busy != NULL)
        g_string_append_printf (why, "%s%s", why->len > 0 ? "; " : "", busy);
    }
  if (why->len > 0 && o->path == MOLT_SWITCH_MODULES_LIVE)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "preflight: no live reload: %s (the same-kernel kexec path can replace it: "
                   "switch without --live); nothing was changed",
                   why->str);
      return FALSE;
    }
  *kexec = o->path == MOLT_SWITCH_MODULES_KEXEC || why->len > 0;
  if (!*kexec)
    reason = "every module to replace can be unloaded: the jobs wait frozen while the modules "
             "are swapped, no kexec";
  else if (o->path == MOLT_SWITCH_MODULES_KEXEC)
    reason = "asked for (--kexec): the running kernel boots again with the new modules in its "
             "initramfs, the jobs checkpointed and restored";
  else
    {
      g_string_prepend (why, "no live reload: ");
      g_string_append (why, ": the running kernel boots again with the new modules in its "
                            "initramfs, the jobs checkpointed and restored");
      reason = why->str;
    }
  json_object_set_string_member (report, "path", *kexec ? "kexec" : "live");
  json_object_set_string_member (report, "reason", reason);
  return TRUE;
}

/* The set as the preflight saw it: the modules loaded before the switch,
 * and each one's view by name. */
typedef struct
{
  const gchar *release;
  GStrv loaded;
  JsonObject *before; /* name -> modules-inspect's object */
} SetBefore;

static void
set_before_clear (SetBefore *b)
{
  g_clear_pointer (&b->loaded, g_strfreev);
  g_clear_pointer (&b->before, json_object_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (SetBefore, set_before_clear)

static gboolean
set_before_read (JsonObject *inspect, SetBefore *b, GError **error)
{
  g_autoptr (GStrvBuilder) loaded = g_strv_builder_new ();
  JsonArray *inspected = NULL;

  if (!molt_reply_get_string (inspect, "modules-inspect", "release", 0, &b->release, error)
      || !molt_reply_get_array (inspect, "modules-inspect", "modules", 0, &inspected, error))
    return FALSE;
  b->before = json_object_new ();
  for (guint i = 0; i < json_array_get_length (inspected); i++)
    {
      JsonObject *m = molt_reply_array_object (inspected, "modules-inspect", i, error);
      const gchar *name = NULL;
      gboolean was_loaded = FALSE;

      if (m == NULL || !molt_reply_get_string (m, "modules-inspect", "name", 0, &name, error)
          || !molt_reply_get_bool (m, "modules-inspect", "loaded", 0, &was_loaded, error))
        return FALSE;
      json_object_set_object_member (b->before, name, json_object_ref (m));
      if (was_loaded)
        g_strv_builder_add (loaded, name);
    }
  b->loaded = g_strv_builder_end (loaded);
  return TRUE;
}

/* The agent could not load an old module again (INCOMPLETE: its error's
 * class was RollbackIncomplete): the next layer boots the running kernel
 * again with the disk's initramfs, the jobs carried by CRIU. Any other
 * failure (the agent gone, a reply that makes no sense), or no kexec
 * configured, stands: exit 5. */
static MoltSwitchResult
fall_back (const MoltSwitchModulesOptions *o, MoltAgentClient **client, MoltDomainLock **lock,
           const SetBefore *b, gboolean incomplete, JsonObject *report, GError **error)
{
  g_autoptr (JsonObject) sub = json_object_new ();
  g_autoptr (GError) cause = g_steal_pointer (error);
  MoltSwitchResult result;

  if (o->kexec == NULL || !incomplete)
    {
      g_propagate_error (error, g_steal_pointer (&cause));
      return MOLT_SWITCH_BROKEN;
    }
  progress (o, "rollback: an old module did not load again; booting the running kernel again "
               "with the disk's initramfs (the jobs checkpointed by CRIU)");
  /* The switch takes the domain's lock and the agent's channel itself. */
  g_clear_pointer (client, molt_agent_client_free);
  g_clear_pointer (lock, molt_domain_lock_release);
  result = molt_switch_modules_fall_back (o->kexec, b->release, (const gchar *const *) b->loaded,
                                          b->before, cause->message, sub, error);
  json_object_set_object_member (report, "fallback", g_steal_pointer (&sub));
  return result;
}

/* A held reload undone after its probe failed: the jobs frozen again
 * while the old modules come back. */
static MoltSwitchResult
revert_after_probe (const MoltSwitchModulesOptions *o, MoltAgentClient **clientp,
                    MoltDomainLock **lock, const SetBefore *b, GError *cause, JsonObject *report,
                    GError **error)
{
  MoltAgentClient *client = *clientp;
  g_autoptr (JsonObject) freeze_args = json_object_new ();
  g_autoptr (JsonNode) frozen = NULL, reverted = NULL, thawed = NULL;
  g_autoptr (GError) revert_error = NULL, thaw_error = NULL;
  const gchar *how = NULL;

  progress (o, "rollback: freezing the jobs and loading the old modules again");
  json_object_set_int_member (freeze_args, "timeout", MOLT_MODULES_AUTO_THAW_S);
  /* A failed freeze does not stop the revert: the module's users are not
   * jobs (it could be unloaded), the freeze only keeps them still. */
  frozen = molt_agent_client_call (client, "freeze", freeze_args, NULL);
  molt_agent_client_set_timeout (client, MOLT_MODULES_RELOAD_TIMEOUT_MS);
  reverted = molt_agent_client_call (client, "modules-reload-revert", NULL, &revert_error);
  molt_agent_client_set_timeout (client, o->agent_timeout_s * 1000);
  thawed = molt_agent_client_call (client, "thaw", NULL, &thaw_error);
  if (revert_error != NULL)
    {
      gboolean incomplete = g_error_matches (revert_error, MOLT_PROTOCOL_ERROR,
                                             MOLT_PROTOCOL_ERROR_ROLLBACK_INCOMPLETE);

      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "probe: %s; the revert failed: %s", cause->message, revert_error->message);
      g_error_free (cause);
      if (thaw_error != NULL)
        return MOLT_SWITCH_BROKEN;
      return fall_back (o, clientp, lock, b, incomplete, report, error);
    }
  if (reverted != NULL && JSON_NODE_HOLDS_OBJECT (reverted))
    how = json_object_get_string_member_with_default (json_node_get_object (reverted), "how", NULL);
  g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED, "probe: %s; %s%s%s", cause->message,
               how != NULL ? how : "rolled back: the old modules are loaded again",
               thaw_error != NULL ? "; the thaw failed (the agent thaws by itself): " : "",
               thaw_error != NULL ? thaw_error->message : "");
  g_error_free (cause);
  return thaw_error != NULL ? MOLT_SWITCH_BROKEN : MOLT_SWITCH_ROLLED_BACK;
}

/* The live path: freeze, modules-reload (which puts the old modules back
 * itself if a new one fails), thaw; with a probe, the reload is held until
 * the probe (run once the jobs run again: a probe is a short job, and the
 * modules' users are not jobs) passed, and reverted if it fails. */
/* The probe opens the domain's agent channel itself, which takes one
 * connection at a time: CLIENT is closed for it and opened again after. */
static gboolean
probe_on_own_channel (const MoltSwitchModulesOptions *o, virDomainPtr dom, MoltAgentClient **client,
                      const gchar *probe, GError **probe_error, GError **error)
{
  MoltTransport *transport;
  gboolean passed;

  g_clear_pointer (client, molt_agent_client_free);
  passed = molt_guest_command_run (dom, "molt-probe", probe, NULL, o->kexec->probe_timeout_s, NULL,
                                   probe_error);
  if ((transport = molt_libvirt_open_agent (dom, error)) == NULL)
    {
      g_prefix_error (error, "after the probe (%s): ", passed ? "passed" : (*probe_error)->message);
      return FALSE;
    }
  *client = molt_agent_client_new (transport);
  molt_agent_client_set_timeout (*client, o->agent_timeout_s * 1000);
  return TRUE;
}

static MoltSwitchResult
switch_live (const MoltSwitchModulesOptions *o, virDomainPtr dom, MoltAgentClient **clientp,
             MoltDomainLock **lock, const SetBefore *b, JsonObject *args, JsonObject *report,
             GError **error)
{
  MoltAgentClient *client = *clientp;
  g_autoptr (JsonObject) freeze_args = json_object_new ();
  g_autoptr (JsonObject) reload_args = json_object_new ();
  g_autoptr (JsonNode) frozen = NULL, reloaded = NULL, thawed = NULL, committed = NULL;
  g_autoptr (GError) reload_error = NULL, thaw_error = NULL;
  const gchar *probe = o->kexec != NULL ? o->kexec->probe : NULL;
  gint64 start = g_get_monotonic_time (), frozen_at;
  GError *probe_error = NULL;

  json_object_set_string_member (reload_args, "dir", json_object_get_string_member (args, "dir"));
  json_object_set_boolean_member (reload_args, "hold", probe != NULL);
  progress (o, "freeze: stopping the jobs");
  json_object_set_int_member (freeze_args, "timeout", MOLT_MODULES_AUTO_THAW_S);
  if ((frozen = molt_agent_client_call (client, "freeze", freeze_args, error)) == NULL)
    {
      g_autoptr (JsonNode) undo = molt_agent_client_call (client, "thaw", NULL, NULL);
      g_prefix_error (error, "freeze: ");
      return MOLT_SWITCH_NOTHING_DONE;
    }
  frozen_at = g_get_monotonic_time ();
  add_step (report, "freeze", start);

  progress (o, "reload: swapping the modules (the old ones come back if a new one fails)");
  start = g_get_monotonic_time ();
  molt_agent_client_set_timeout (client, MOLT_MODULES_RELOAD_TIMEOUT_MS);
  reloaded = molt_agent_client_call (client, "modules-reload", reload_args, &reload_error);
  molt_agent_client_set_timeout (client, o->agent_timeout_s * 1000);
  add_step (report, "reload", start);

  progress (o, "thaw: continuing the jobs");
  start = g_get_monotonic_time ();
  thawed = molt_agent_client_call (client, "thaw", NULL, &thaw_error);
  add_step (report, "thaw", start);
  json_object_set_double_member (report, "downtime-s",
                                 (gdouble) ((g_get_monotonic_time () - frozen_at) / 1000) / 1000);
  if (reloaded != NULL)
    json_object_set_member (report, "modules", json_node_ref (reloaded));
  if (reload_error != NULL)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&reload_error), "reload: ");
      if (thaw_error != NULL)
        {
          g_prefix_error (error, "thaw failed too (the agent thaws by itself within %d s: %s); ",
                          MOLT_MODULES_AUTO_THAW_S, thaw_error->message);
          return MOLT_SWITCH_BROKEN;
        }
      if (g_error_matches (*error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_ROLLED_BACK))
        return MOLT_SWITCH_ROLLED_BACK;
      return fall_back (
          o, clientp, lock, b,
          g_error_matches (*error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_ROLLBACK_INCOMPLETE),
          report, error);
    }
  if (thaw_error != NULL)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&thaw_error),
                                  "the modules were swapped, but the thaw failed (the agent "
                                  "thaws by itself within %d s): ",
                                  MOLT_MODULES_AUTO_THAW_S);
      return MOLT_SWITCH_BROKEN;
    }
  if (probe != NULL)
    {
      g_autofree gchar *line = g_strdup_printf ("probe: running '%s' in the guest", probe);
      progress (o, line);
      start = g_get_monotonic_time ();
      if (!probe_on_own_channel (o, dom, clientp, probe, &probe_error, error))
        {
          g_clear_error (&probe_error);
          return MOLT_SWITCH_BROKEN;
        }
      client = *clientp;
      add_step (report, "probe", start);
      if (probe_error != NULL)
        return revert_after_probe (o, clientp, lock, b, probe_error, report, error);
      if ((committed = molt_agent_client_call (client, "modules-reload-commit", NULL, error))
          == NULL)
        {
          g_prefix_error (error, "the modules were swapped and the probe passed, but the agent "
                                 "could not commit the reload (the old files stay moved aside): ");
          return MOLT_SWITCH_BROKEN;
        }
    }
  json_object_set_string_member (report, "result", "committed");
  return MOLT_SWITCH_COMMITTED;
}

/* What the kexec path's hooks need. */
typedef struct
{
  const gchar *dir;
  GStrv loaded;            /* the set's modules loaded before the switch */
  JsonObject *before;      /* name -> the preflight's view of it */
  gboolean from_initramfs; /* a module of the set came up from the initramfs */
} KexecHooks;

/* On the new boot, before the probe: every module runs its new build. */
static gboolean
verify_modules (MoltAgentClient *client, JsonObject *report, gpointer data, GError **error)
{
  static const gchar *const carried[][2] = {
    { "loaded-version", "old-version" },
    { "loaded-srcversion", "old-srcversion" },
    { "loaded-build-id", "old-build-id" },
  };
  KexecHooks *hooks = data;
  g_autoptr (JsonObject) args = json_object_new ();
  g_autoptr (JsonNode) node = NULL;
  JsonObject *settled;
  JsonArray *modules = NULL;
  gboolean from_initramfs = FALSE;
  JsonArray *loaded = json_array_new ();

  for (guint i = 0; hooks->loaded[i] != NULL; i++)
    json_array_add_string_element (loaded, hooks->loaded[i]);
  json_object_set_string_member (args, "dir", hooks->dir);
  json_object_set_array_member (args, "loaded", loaded);
  if ((node = molt_agent_client_call (client, "modules-settle", args, error)) == NULL
      || (settled = molt_reply_as_object (node, "modules-settle", error)) == NULL
      || !molt_reply_get_array (settled, "modules-settle", "modules", 0, &modules, error)
      || !molt_reply_get_bool (settled, "modules-settle", "from-initramfs", 0, &from_initramfs,
                               error))
    {
      g_prefix_error (error, "the driver set on the new boot: ");
      return FALSE;
    }
  hooks->from_initramfs = from_initramfs;
  /* The report's modules: the preflight's old versions beside the new. */
  for (guint i = 0; i < json_array_get_length (modules); i++)
    {
      JsonObject *m = molt_reply_array_object (modules, "modules-settle", i, error);
      const gchar *name = NULL;
      JsonObject *old;

      if (m == NULL || !molt_reply_get_string (m, "modules-settle", "name", 0, &name, error))
        return FALSE;
      old = json_object_has_member (hooks->before, name)
                ? json_object_get_object_member (hooks->before, name)
                : NULL;
      for (guint f = 0; old != NULL && f < G_N_ELEMENTS (carried); f++)
        {
          const gchar *value = NULL;
          if (!molt_reply_get_string (old, "modules-inspect", carried[f][0], MOLT_REPLY_OPTIONAL,
                                      &value, error))
            return FALSE;
          if (value != NULL)
            json_object_set_string_member (m, carried[f][1], value);
        }
    }
  json_object_set_array_member (report, "modules", json_array_ref (modules));
  return TRUE;
}

/* At the commit: the files where the next cold boot finds them. */
static gboolean
install_modules (MoltAgentClient *client, JsonObject *report, gpointer data, GError **error)
{
  KexecHooks *hooks = data;
  g_autoptr (JsonObject) args = json_object_new ();
  g_autoptr (JsonNode) node = NULL;

  json_object_set_string_member (args, "dir", hooks->dir);
  json_object_set_boolean_member (args, "initramfs", hooks->from_initramfs);
  molt_agent_client_set_timeout (client, MOLT_MODULES_RELOAD_TIMEOUT_MS);
  if ((node = molt_agent_client_call (client, "modules-install", args, error)) == NULL)
    {
      g_prefix_error (error, "the driver set runs, but installing it for the next boot failed "
                             "(switch again to retry): ");
      return FALSE;
    }
  json_object_set_member (report, "installed", json_node_ref (node));
  return TRUE;
}

/* A switch that left the guest's boot as it was: its combined initramfs
 * goes from /run (a kexec or a restart clears it otherwise). Best effort. */
static void
discard_initrd (virDomainPtr dom, JsonObject *args)
{
  g_autoptr (JsonObject) discard = json_object_new ();
  g_autoptr (MoltAgentClient) client = NULL;
  g_autoptr (JsonNode) done = NULL;
  g_autoptr (GError) error = NULL;
  MoltTransport *transport = molt_libvirt_open_agent (dom, &error);

  if (transport == NULL)
    return;
  client = molt_agent_client_new (transport);
  json_object_set_string_member (discard, "dir", json_object_get_string_member (args, "dir"));
  json_object_set_boolean_member (discard, "discard", TRUE);
  done = molt_agent_client_call (client, "modules-initrd", discard, &error);
}

/* The same-kernel kexec path: the combined initramfs written by the agent
 * while the jobs run, then the ordinary switch to the running kernel. */
static MoltSwitchResult
switch_kexec (const MoltSwitchModulesOptions *o, virDomainPtr dom, MoltAgentClient **client,
              MoltDomainLock **lock, const SetBefore *b, JsonObject *args, JsonObject *report,
              GError **error)
{
  g_autoptr (JsonNode) node = NULL;
  g_autoptr (JsonArray) own_steps = json_array_ref (json_object_get_array_member (report, "steps"));
  JsonObject *built;
  const gchar *kernel = NULL, *initrd = NULL;
  KexecHooks hooks = { .dir = o->dir, .loaded = b->loaded, .before = b->before };
  MoltSwitchOptions ko = *o->kexec;
  MoltSwitchResult result;
  JsonArray *jobs, *steps;
  gdouble downtime = 0;
  gint64 start = g_get_monotonic_time ();

  progress (o, "prepare: writing the initramfs with the new modules (/run in the guest)");
  molt_agent_client_set_timeout (*client, MOLT_MODULES_RELOAD_TIMEOUT_MS);
  if ((node = molt_agent_client_call (*client, "modules-initrd", args, error)) == NULL
      || (built = molt_reply_as_object (node, "modules-initrd", error)) == NULL
      || !molt_reply_get_string (built, "modules-initrd", "kernel", 0, &kernel, error)
      || !molt_reply_get_string (built, "modules-initrd", "initrd", 0, &initrd, error))
    {
      g_prefix_error (error, "prepare: ");
      return MOLT_SWITCH_NOTHING_DONE;
    }
  add_step (report, "initramfs", start);
  json_object_set_member (report, "initramfs", json_node_ref (node));
  /* The switch takes the domain's lock itself. */
  g_clear_pointer (client, molt_agent_client_free);
  g_clear_pointer (lock, molt_domain_lock_release);

  ko.kernel = kernel;
  ko.initrd = initrd;
  ko.append = NULL;
  ko.method = MOLT_SWITCH_METHOD_KEXEC;
  ko.verify_hook = verify_modules;
  ko.commit_hook = install_modules;
  ko.hook_data = &hooks;
  ko.dry_run = FALSE;
  result = molt_switch_run (&ko, report, error);
  if (result == MOLT_SWITCH_NOTHING_DONE)
    discard_initrd (dom, args);

  /* The switch's steps after this path's own; its downtime, the longest
   * job's. */
  steps = json_object_get_array_member (report, "steps");
  {
    JsonArray *all = json_array_new ();
    for (guint i = 0; i < json_array_get_length (own_steps); i++)
      json_array_add_element (all, json_array_dup_element (own_steps, i));
    for (guint i = 0; steps != NULL && i < json_array_get_length (steps); i++)
      json_array_add_element (all, json_array_dup_element (steps, i));
    json_object_set_array_member (report, "steps", all);
  }
  jobs = json_object_has_member (report, "jobs") ? json_object_get_array_member (report, "jobs")
                                                 : NULL;
  for (guint i = 0; jobs != NULL && i < json_array_get_length (jobs); i++)
    downtime = MAX (downtime, json_object_get_double_member_with_default (
                                  json_array_get_object_element (jobs, i), "downtime-s", 0));
  if (jobs != NULL)
    json_object_set_double_member (report, "downtime-s", downtime);
  json_object_set_string_member (report, "path", "kexec");
  return result;
}

MoltSwitchResult
molt_switch_modules (const MoltSwitchModulesOptions *o, JsonObject *report, GError **error)
{
  g_autoptr (virConnect) conn = NULL;
  g_autoptr (virDomain) dom = NULL;
  g_autoptr (MoltDomainLock) lock = NULL;
  g_autoptr (MoltAgentClient) client = NULL;
  g_autoptr (JsonObject) args = json_object_new ();
  g_autoptr (JsonNode) inspect_node = NULL;
  JsonObject *inspect;
  g_auto (SetBefore) b = { 0 };
  MoltTransport *transport;
  gint64 start = g_get_monotonic_time ();
  gboolean kexec = FALSE;

  json_object_set_string_member (report, "domain", o->domain);
  json_object_set_string_member (report, "modules-dir", o->dir);
  json_object_set_array_member (report, "steps", json_array_new ());
  progress (o, "preflight: checking the driver set against the running kernel");
  if ((conn = molt_libvirt_connect (o->uri, error)) == NULL
      || (dom = molt_libvirt_lookup_domain (conn, o->domain, error)) == NULL
      || (lock = molt_domain_lock_acquire (o->state_dir, dom, MOLT_LOCK_EXCLUSIVE, "switch", error))
             == NULL
      || (transport = molt_libvirt_open_agent (dom, error)) == NULL)
    return MOLT_SWITCH_NOTHING_DONE;
  client = molt_agent_client_new (transport);
  molt_agent_client_set_timeout (client, o->agent_timeout_s * 1000);
  json_object_set_string_member (args, "dir", o->dir);
  if ((inspect_node = molt_agent_client_call (client, "modules-inspect", args, error)) == NULL
      || (inspect = molt_reply_as_object (inspect_node, "modules-inspect", error)) == NULL)
    {
      g_prefix_error (error, "preflight: ");
      return MOLT_SWITCH_NOTHING_DONE;
    }
  json_object_set_member (report, "before", json_node_ref (inspect_node));
  if (!decide (o, inspect, report, &kexec, error) || !set_before_read (inspect, &b, error))
    return MOLT_SWITCH_NOTHING_DONE;
  add_step (report, "preflight", start);
  if (kexec && o->kexec == NULL)
    {
      g_set_error_literal (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                           "preflight: the kexec path needs the switch's options");
      return MOLT_SWITCH_NOTHING_DONE;
    }
  if (o->dry_run)
    return MOLT_SWITCH_DRY_RUN;
  if (kexec)
    return switch_kexec (o, dom, &client, &lock, &b, args, report, error);
  return switch_live (o, dom, &client, &lock, &b, args, report, error);
}
