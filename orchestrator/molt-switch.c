#include <unistd.h>

#include <gio/gio.h>
#include <libvirt/virterror.h>

#include "molt-agent-client.h"
#include "molt-domain-kernel.h"
#include "molt-domain-lock.h"
#include "molt-host-error.h"
#include "molt-journal.h"
#include "molt-libvirt.h"
#include "molt-snapshot.h"
#include "molt-switch.h"

/* How often to knock while the new kernel boots. */
#define MOLT_BOOT_POLL_S 3

typedef struct
{
  const MoltSwitchOptions *o;
  JsonObject *report;
  JsonArray *steps;
  virConnectPtr conn;
  virDomainPtr dom;
  MoltJournal *journal;
  gchar *inactive_xml; /* a persistent domain's definition before a reboot switch */
  gint64 start;
  gint64 step_start;
  const gchar *step;
} MoltSwitch;

static void progress (MoltSwitch *sw, const gchar *format, ...) G_GNUC_PRINTF (2, 3);

static void
progress (MoltSwitch *sw, const gchar *format, ...)
{
  g_autofree gchar *text = NULL;
  va_list args;

  if (sw->o->quiet)
    return;
  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("[%6.1fs] %s\n", (g_get_monotonic_time () - sw->start) / 1e6, text);
}

static void
end_step (MoltSwitch *sw)
{
  g_autoptr (JsonObject) entry = NULL;
  gdouble seconds;

  if (sw->step == NULL)
    return;
  seconds = (g_get_monotonic_time () - sw->step_start) / 1e6;
  entry = json_object_new ();
  json_object_set_string_member (entry, "step", sw->step);
  json_object_set_double_member (entry, "seconds", seconds);
  json_array_add_object_element (sw->steps, g_steal_pointer (&entry));
  progress (sw, "%s: done in %.1fs", sw->step, seconds);
  sw->step = NULL;
}

static gboolean
begin_step (MoltSwitch *sw, const gchar *step, const gchar *what, GError **error)
{
  end_step (sw);
  sw->step = step;
  sw->step_start = g_get_monotonic_time ();
  progress (sw, "%s: %s", step, what);
  return sw->journal == NULL || molt_journal_begin_step (sw->journal, step, error);
}

static MoltAgentClient *
open_agent (MoltSwitch *sw, guint timeout_s, GError **error)
{
  g_autoptr (MoltAgentClient) client = NULL;
  MoltTransport *transport = molt_libvirt_open_agent (sw->dom, error);

  if (transport == NULL)
    return NULL;
  client = molt_agent_client_new (transport);
  molt_agent_client_set_timeout (client, timeout_s * 1000);
  if (!molt_agent_client_sync (client, error))
    return NULL;
  return g_steal_pointer (&client);
}

/* The guest is untrusted: a reply of the wrong shape is a protocol error. */
static JsonNode *
call_expecting (MoltAgentClient *client, const gchar *execute, JsonObject *args, JsonNodeType type,
                GError **error)
{
  JsonNode *node = molt_agent_client_call (client, execute, args, error);

  if (node != NULL && JSON_NODE_TYPE (node) != type)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_AGENT_PROTOCOL,
                   "the agent's reply to '%s' is not %s", execute,
                   type == JSON_NODE_OBJECT ? "an object" : "a list");
      g_clear_pointer (&node, json_node_unref);
    }
  return node;
}

static JsonObject *
call_object (MoltAgentClient *client, const gchar *execute, JsonObject *args, GError **error)
{
  g_autoptr (JsonNode) node = call_expecting (client, execute, args, JSON_NODE_OBJECT, error);
  return node != NULL ? json_object_ref (json_node_get_object (node)) : NULL;
}

static JsonArray *
call_array (MoltAgentClient *client, const gchar *execute, JsonObject *args, GError **error)
{
  g_autoptr (JsonNode) node = call_expecting (client, execute, args, JSON_NODE_ARRAY, error);
  return node != NULL ? json_array_ref (json_node_get_array (node)) : NULL;
}

static const gchar *
str (JsonObject *obj, const gchar *member)
{
  return json_object_get_string_member_with_default (obj, member, "");
}

static gboolean
host_file_readable (const gchar *what, const gchar *path, GError **error)
{
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR) || access (path, R_OK) != 0)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "%s %s is missing or unreadable on the host (--method reboot takes host paths)",
                   what, path);
      return FALSE;
    }
  return TRUE;
}

/* After kexec: knock until an agent answers from a different boot. */
static MoltAgentClient *
wait_for_new_boot (MoltSwitch *sw, const gchar *old_boot_id, JsonObject **info_out, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + sw->o->boot_timeout_s * G_USEC_PER_SEC;
  g_autoptr (GError) last = NULL;

  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr (MoltAgentClient) client = NULL;
      g_autoptr (JsonObject) info = NULL;

      g_clear_error (&last);
      client = open_agent (sw, MOLT_BOOT_POLL_S, &last);
      if (client != NULL)
        info = call_object (client, "info", NULL, &last);
      if (info != NULL && g_strcmp0 (str (info, "boot-id"), old_boot_id) != 0)
        {
          molt_agent_client_set_timeout (client, sw->o->agent_timeout_s * 1000);
          *info_out = g_steal_pointer (&info);
          return g_steal_pointer (&client);
        }
      g_usleep (G_USEC_PER_SEC);
    }
  g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_AGENT_UNRESPONSIVE,
               "the new kernel did not bring the agent back within %u s (last: %s)",
               sw->o->boot_timeout_s, last != NULL ? last->message : "an agent of the old boot");
  return NULL;
}

/* Every job that was frozen must run again, with the same PID in its
 * namespace. Fills the report's per-job downtime. */
static gboolean
verify_jobs (MoltSwitch *sw, JsonArray *before, JsonArray *after, GError **error)
{
  g_autoptr (JsonArray) report_jobs = json_array_new ();

  for (guint i = 0; i < json_array_get_length (before); i++)
    {
      JsonObject *old = json_array_get_object_element (before, i);
      JsonObject *now = NULL;
      g_autoptr (JsonObject) entry = json_object_new ();
      gint64 frozen, resumed;

      if (old == NULL || g_strcmp0 (str (old, "state"), "frozen") != 0)
        continue;
      for (guint j = 0; j < json_array_get_length (after); j++)
        {
          JsonObject *cand = json_array_get_object_element (after, j);
          if (cand != NULL && g_strcmp0 (str (cand, "name"), str (old, "name")) == 0)
            now = cand;
        }
      if (now == NULL)
        {
          g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                       "job %s is missing after the switch", str (old, "name"));
          return FALSE;
        }
      if (g_strcmp0 (str (now, "state"), "running") != 0)
        {
          g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                       "job %s did not come back (state %s): %s", str (now, "name"),
                       str (now, "state"),
                       json_object_get_string_member_with_default (now, "restore-error",
                                                                   "no reason recorded"));
          return FALSE;
        }
      if (json_object_get_int_member_with_default (now, "ns-pid", -1)
          != json_object_get_int_member_with_default (old, "ns-pid", -2))
        {
          g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                       "job %s came back with another PID in its namespace", str (now, "name"));
          return FALSE;
        }
      if (g_strcmp0 (str (now, "ns-pids-at-checkpoint"), str (now, "ns-pids-at-restore")) != 0)
        {
          g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                       "job %s came back with other PIDs in its namespace (%s, was %s)",
                       str (now, "name"), str (now, "ns-pids-at-restore"),
                       str (now, "ns-pids-at-checkpoint"));
          return FALSE;
        }
      frozen = json_object_get_int_member_with_default (old, "frozen-at-us", 0);
      resumed = json_object_get_int_member_with_default (now, "resumed-at-us", 0);
      json_object_set_string_member (entry, "name", str (now, "name"));
      json_object_set_int_member (entry, "ns-pid", json_object_get_int_member (now, "ns-pid"));
      json_object_set_int_member (entry, "pid-before", json_object_get_int_member (old, "pid"));
      json_object_set_int_member (entry, "pid-after", json_object_get_int_member (now, "pid"));
      json_object_set_string_member (entry, "ns-pids", str (now, "ns-pids-at-restore"));
      json_object_set_double_member (entry, "downtime-s", (resumed - frozen) / 1e6);
      json_array_add_object_element (report_jobs, g_steal_pointer (&entry));
    }
  json_object_set_array_member (sw->report, "jobs", g_steal_pointer (&report_jobs));
  return TRUE;
}

/* Back to the snapshot: the old kernel, the jobs frozen as they were; then
 * continue them. */
static gboolean
rollback (MoltSwitch *sw, const gchar *snapshot, GError **error)
{
  g_autoptr (MoltAgentClient) client = NULL;
  g_autoptr (JsonObject) thawed = NULL;
  gint64 deadline;
  g_autoptr (GError) last = NULL;

  begin_step (sw, "rollback", "reverting to the snapshot", NULL);
  if (!molt_snapshot_revert (sw->dom, snapshot, error))
    return FALSE;
  if (sw->inactive_xml != NULL)
    {
      /* The persistent definition goes back to the old kernel too. */
      virDomainPtr defined = virDomainDefineXML (sw->conn, sw->inactive_xml);
      if (defined == NULL)
        progress (sw, "warning: cannot restore the domain's definition: %s",
                  virGetLastErrorMessage ());
      else
        virDomainFree (defined);
    }
  deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (client == NULL && g_get_monotonic_time () < deadline)
    {
      g_clear_error (&last);
      client = open_agent (sw, MOLT_BOOT_POLL_S, &last);
      if (client == NULL)
        g_usleep (G_USEC_PER_SEC);
    }
  if (client == NULL)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&last),
                                  "reverted, but the agent does not answer to thaw the jobs: ");
      return FALSE;
    }
  molt_agent_client_set_timeout (client, sw->o->agent_timeout_s * 1000);
  thawed = call_object (client, "thaw", NULL, error);
  if (thawed == NULL)
    return FALSE;
  if (!sw->o->keep_snapshot)
    molt_snapshot_delete (sw->dom, snapshot, NULL);
  end_step (sw);
  return TRUE;
}

static MoltSwitchResult
fail_after_snapshot (MoltSwitch *sw, const gchar *snapshot, GError *cause, GError **error)
{
  g_autoptr (GError) rb_error = NULL;
  g_autofree gchar *failed_step = g_strdup (sw->step);
  MoltSwitchResult result;

  json_object_set_string_member (sw->report, "failed-step", failed_step);
  json_object_set_string_member (sw->report, "error", cause->message);
  progress (sw, "%s failed: %s", failed_step, cause->message);
  sw->step = NULL;
  if (rollback (sw, snapshot, &rb_error))
    {
      result = MOLT_SWITCH_ROLLED_BACK;
      g_set_error (error, cause->domain, cause->code,
                   "switch failed at step '%s': %s. Rolled back to snapshot %s: the jobs run "
                   "on the old kernel as before",
                   failed_step, cause->message, snapshot);
    }
  else
    {
      result = MOLT_SWITCH_BROKEN;
      json_object_set_string_member (sw->report, "rollback-error", rb_error->message);
      g_set_error (error, cause->domain, cause->code,
                   "switch failed at step '%s': %s. The rollback failed too: %s. Snapshot %s "
                   "is kept; 'molt rollback %s' retries",
                   failed_step, cause->message, rb_error->message, snapshot, sw->o->domain);
    }
  g_error_free (cause);
  if (sw->journal != NULL)
    {
      molt_journal_set_string (sw->journal, "state",
                               result == MOLT_SWITCH_ROLLED_BACK ? "rolled-back" : "failed");
      molt_journal_save (sw->journal, NULL);
    }
  return result;
}

/* --probe: a command in the guest (as a short job) that must exit 0. */
static gboolean
run_probe (MoltSwitch *sw, MoltAgentClient *client, GError **error)
{
  g_autoptr (JsonObject) args = json_object_new ();
  g_autoptr (JsonArray) argv = json_array_new ();
  g_autoptr (JsonObject) started = NULL;
  g_autofree gchar *name = g_strdup_printf ("molt-probe-%" G_GINT64_FORMAT, g_get_real_time ());
  gint64 deadline = g_get_monotonic_time () + sw->o->probe_timeout_s * G_USEC_PER_SEC;

  json_array_add_string_element (argv, "sh");
  json_array_add_string_element (argv, "-c");
  json_array_add_string_element (argv, sw->o->probe);
  json_object_set_string_member (args, "name", name);
  json_object_set_array_member (args, "argv", g_steal_pointer (&argv));
  started = call_object (client, "job-start", args, error);
  if (started == NULL)
    return FALSE;
  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr (JsonArray) jobs = call_array (client, "job-list", NULL, error);
      if (jobs == NULL)
        return FALSE;
      for (guint i = 0; i < json_array_get_length (jobs); i++)
        {
          JsonObject *job = json_array_get_object_element (jobs, i);
          gint64 status;
          if (job == NULL || g_strcmp0 (str (job, "name"), name) != 0
              || g_strcmp0 (str (job, "state"), "exited") != 0)
            continue;
          status = json_object_get_int_member_with_default (job, "exit-status", -1);
          if (status == 0)
            return TRUE;
          {
            g_autoptr (JsonObject) log_args = json_object_new ();
            g_autoptr (JsonObject) log = NULL;
            json_object_set_string_member (log_args, "name", name);
            json_object_set_int_member (log_args, "bytes", 512);
            log = call_object (client, "job-log", log_args, NULL);
            g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                         "the probe '%s' failed (wait status %" G_GINT64_FORMAT "): %s",
                         sw->o->probe, status,
                         log != NULL ? g_strstrip ((gchar *) str (log, "tail")) : "");
            return FALSE;
          }
        }
      g_usleep (G_USEC_PER_SEC / 2);
    }
  g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
               "the probe '%s' did not finish within %u s", sw->o->probe, sw->o->probe_timeout_s);
  return FALSE;
}

/* From the kernel switch on: wait for the new boot, verify, commit; or roll
 * back. Shared by a switch and by --resume. */
static MoltSwitchResult
finish_switch (MoltSwitch *sw, const gchar *snapshot, const gchar *old_boot, JsonArray *jobs_before,
               GError **error)
{
  g_autoptr (MoltAgentClient) client = NULL;
  g_autoptr (JsonObject) new_info = NULL;
  g_autoptr (JsonArray) jobs_after = NULL;
  GError *cause = NULL;

  /* ---- restore: the guest restores at boot; wait for it ---- */
  begin_step (sw, "restore", "waiting for the new kernel and the restored jobs", NULL);
  client = wait_for_new_boot (sw, old_boot, &new_info, &cause);
  if (client == NULL)
    return fail_after_snapshot (sw, snapshot, cause, error);
  json_object_set_string_member (sw->report, "new-kernel-release",
                                 str (new_info, "kernel-release"));

  /* ---- verify ---- */
  begin_step (sw, "verify", "checking every job runs again", NULL);
  jobs_after = call_array (client, "job-list", NULL, &cause);
  if (jobs_after == NULL || !verify_jobs (sw, jobs_before, jobs_after, &cause)
      || (sw->o->probe != NULL && !run_probe (sw, client, &cause)))
    return fail_after_snapshot (sw, snapshot, cause, error);

  /* ---- commit ---- */
  begin_step (sw, "commit", sw->o->keep_snapshot ? "keeping the snapshot" : "deleting the snapshot",
              NULL);
  if (!sw->o->keep_snapshot && !molt_snapshot_delete (sw->dom, snapshot, &cause))
    {
      progress (sw, "warning: %s", cause->message);
      g_clear_error (&cause);
    }
  end_step (sw);
  molt_journal_set_string (sw->journal, "state", "committed");
  molt_journal_save (sw->journal, NULL);
  json_object_set_string_member (sw->report, "result", "committed");
  json_object_set_double_member (sw->report, "total-s",
                                 (g_get_monotonic_time () - sw->start) / 1e6);
  return MOLT_SWITCH_COMMITTED;
}

MoltSwitchResult
molt_switch_run (const MoltSwitchOptions *o, JsonObject *report, GError **error)
{
  MoltSwitch sw = { .o = o, .report = report, .start = g_get_monotonic_time () };
  g_autoptr (virConnect) conn = NULL;
  g_autoptr (virDomain) dom = NULL;
  g_autoptr (MoltAgentClient) client = NULL;
  g_autoptr (MoltDomainLock) lock = NULL;
  g_autoptr (MoltJournal) journal = NULL;
  g_autoptr (JsonObject) info = NULL;
  g_autoptr (JsonObject) preflight_args = json_object_new ();
  g_autoptr (JsonObject) preflight = NULL;
  g_autoptr (JsonObject) kexec_args = json_object_new ();
  g_autoptr (JsonObject) checkpoint_args = json_object_new ();
  g_autoptr (JsonArray) jobs_before = NULL;
  g_autoptr (JsonArray) dumped = NULL;
  g_autoptr (JsonObject) frozen = NULL;
  g_autoptr (JsonObject) kexec = NULL;
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree gchar *stamp = g_date_time_format (now, "%Y%m%dT%H%M%SZ");
  g_autofree gchar *snapshot = g_strconcat ("molt-switch-", stamp, NULL);
  g_autofree gchar *old_boot = NULL;
  g_autofree gchar *inactive_xml = NULL;
  GError *cause = NULL;
  JsonObject *criu;

  sw.steps = json_array_new ();
  json_object_set_array_member (report, "steps", sw.steps);
  json_object_set_string_member (report, "domain", o->domain);
  json_object_set_string_member (report, "method",
                                 o->method == MOLT_SWITCH_METHOD_KEXEC ? "kexec" : "reboot");
  json_object_set_string_member (report, "kernel", o->kernel);

  /* ---- preflight: nothing changes until it passes ---- */
  begin_step (&sw, "preflight", "checking the domain, the agent, CRIU and the new kernel", NULL);
  conn = molt_libvirt_connect (o->uri, error);
  if (conn == NULL || (dom = molt_libvirt_lookup_domain (conn, o->domain, error)) == NULL)
    return MOLT_SWITCH_NOTHING_DONE;
  sw.conn = conn;
  sw.dom = dom;
  client = open_agent (&sw, o->agent_timeout_s, error);
  if (client == NULL || (info = call_object (client, "info", NULL, error)) == NULL)
    return MOLT_SWITCH_NOTHING_DONE;
  old_boot = g_strdup (str (info, "boot-id"));
  json_object_set_string_member (report, "old-kernel-release", str (info, "kernel-release"));
  criu = json_object_get_object_member (info, "criu");
  if (criu == NULL || !json_object_get_boolean_member_with_default (criu, "works", FALSE))
    {
      g_set_error (
          error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
          "CRIU does not work in the guest (%s); nothing was changed",
          criu != NULL ? json_object_get_string_member_with_default (
              criu, "error", json_object_get_string_member_with_default (criu, "state", "?"))
                       : "not reported");
      return MOLT_SWITCH_NOTHING_DONE;
    }
  if (o->method == MOLT_SWITCH_METHOD_KEXEC)
    {
      json_object_set_string_member (preflight_args, "kernel", o->kernel);
      if (o->initrd != NULL)
        json_object_set_string_member (preflight_args, "initrd", o->initrd);
    }
  else if (!host_file_readable ("kernel", o->kernel, error)
           || (o->initrd != NULL && !host_file_readable ("initrd", o->initrd, error)))
    return MOLT_SWITCH_NOTHING_DONE;
  preflight = call_object (client, "switch-preflight", preflight_args, error);
  if (preflight == NULL || (jobs_before = call_array (client, "job-list", NULL, error)) == NULL)
    {
      g_prefix_error (error, "preflight: ");
      return MOLT_SWITCH_NOTHING_DONE;
    }
  if (o->dry_run)
    {
      end_step (&sw);
      json_object_set_string_member (report, "result", "dry-run");
      json_object_set_member (report, "jobs-now",
                              json_node_init_array (json_node_alloc (), jobs_before));
      return MOLT_SWITCH_DRY_RUN;
    }
  lock = molt_domain_lock_acquire (o->state_dir, o->domain, "switch", error);
  if (lock == NULL)
    return MOLT_SWITCH_NOTHING_DONE;
  if (o->method == MOLT_SWITCH_METHOD_REBOOT && virDomainIsPersistent (dom) == 1)
    inactive_xml = sw.inactive_xml = virDomainGetXMLDesc (dom, VIR_DOMAIN_XML_INACTIVE);
  journal = molt_journal_new (o->state_dir, o->domain);
  molt_journal_set_string (journal, "operation", "switch");
  molt_journal_set_string (journal, "state", "in-progress");
  molt_journal_set_string (journal, "kernel", o->kernel);
  molt_journal_set_string (journal, "snapshot", snapshot);
  sw.journal = journal;
  if (!molt_journal_save (journal, error))
    return MOLT_SWITCH_NOTHING_DONE;

  /* ---- freeze ---- */
  if (!begin_step (&sw, "freeze", "stopping the jobs", error)
      || (frozen = call_object (client, "freeze", NULL, error)) == NULL)
    return MOLT_SWITCH_NOTHING_DONE;
  g_clear_pointer (&jobs_before, json_array_unref);
  jobs_before = call_array (client, "job-list", NULL, error);
  /* What --resume needs to finish the switch without us. */
  molt_journal_set_string (journal, "old-boot-id", old_boot);
  if (jobs_before != NULL)
    molt_journal_set_array (journal, "jobs-before", jobs_before);

  /* ---- snapshot: the rollback point ---- */
  if (jobs_before == NULL || !begin_step (&sw, "snapshot", snapshot, error)
      || !molt_snapshot_create (dom, snapshot, "molt switch rollback point (jobs frozen)", error))
    {
      call_object (client, "thaw", NULL, NULL);
      return MOLT_SWITCH_NOTHING_DONE;
    }
  json_object_set_string_member (report, "snapshot", snapshot);

  /* ---- checkpoint ---- */
  begin_step (&sw, "checkpoint", "dumping the jobs with CRIU", NULL);
  json_object_set_string_member (checkpoint_args, "tag", stamp);
  /* Test-only (docs/testing.md): the agent refuses it unless started for tests. */
  if (g_getenv ("MOLT_TEST_FAULT") != NULL)
    json_object_set_string_member (checkpoint_args, "test-fault", g_getenv ("MOLT_TEST_FAULT"));
  molt_agent_client_set_timeout (client, o->checkpoint_timeout_s * 1000);
  dumped = call_array (client, "checkpoint", checkpoint_args, &cause);
  if (dumped == NULL)
    return fail_after_snapshot (&sw, snapshot, cause, error);
  molt_agent_client_set_timeout (client, o->agent_timeout_s * 1000);

  /* ---- switch ---- */
  if (o->method == MOLT_SWITCH_METHOD_KEXEC)
    {
      begin_step (&sw, "switch", "loading and executing the new kernel (kexec)", NULL);
      json_object_set_string_member (kexec_args, "kernel", o->kernel);
      if (o->initrd != NULL)
        json_object_set_string_member (kexec_args, "initrd", o->initrd);
      if (o->append != NULL)
        json_object_set_string_member (kexec_args, "append", o->append);
      kexec = call_object (client, "kexec", kexec_args, &cause);
      if (kexec == NULL)
        return fail_after_snapshot (&sw, snapshot, cause, error);
    }
  else
    {
      begin_step (&sw, "switch", "restarting the domain with the new direct-boot kernel", NULL);
      g_clear_pointer (&client, molt_agent_client_free);
      if (!molt_domain_restart_with_kernel (&dom, o->kernel, o->initrd, o->append, snapshot,
                                            &cause))
        {
          sw.dom = dom;
          return fail_after_snapshot (&sw, snapshot, cause, error);
        }
      sw.dom = dom;
    }
  g_clear_pointer (&client, molt_agent_client_free);

  return finish_switch (&sw, snapshot, old_boot, jobs_before, error);
}

MoltSwitchResult
molt_switch_rollback (const MoltSwitchOptions *o, JsonObject *report, GError **error)
{
  MoltSwitch sw = { .o = o, .report = report, .start = g_get_monotonic_time () };
  g_autoptr (virConnect) conn = NULL;
  g_autoptr (virDomain) dom = NULL;
  g_autoptr (MoltDomainLock) lock = NULL;
  g_autoptr (MoltJournal) journal = molt_journal_new (o->state_dir, o->domain);
  const gchar *snapshot, *state;

  sw.steps = json_array_new ();
  json_object_set_array_member (report, "steps", sw.steps);
  json_object_set_string_member (report, "domain", o->domain);
  if (!molt_journal_load (journal, error))
    {
      g_prefix_error (error, "no switch to roll back for '%s': ", o->domain);
      return MOLT_SWITCH_NOTHING_DONE;
    }
  state = molt_journal_get_string (journal, "state");
  snapshot = molt_journal_get_string (journal, "snapshot");
  if (g_strcmp0 (state, "in-progress") != 0 && g_strcmp0 (state, "failed") != 0)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "the last switch of '%s' is %s; there is nothing to roll back", o->domain,
                   state != NULL ? state : "unknown");
      return MOLT_SWITCH_NOTHING_DONE;
    }
  lock = molt_domain_lock_acquire (o->state_dir, o->domain, "rollback", error);
  conn = lock != NULL ? molt_libvirt_connect (o->uri, error) : NULL;
  if (conn == NULL || (dom = molt_libvirt_lookup_domain (conn, o->domain, error)) == NULL)
    return MOLT_SWITCH_NOTHING_DONE;
  sw.conn = conn;
  sw.dom = dom;
  sw.journal = journal;
  if (snapshot == NULL || !molt_snapshot_exists (dom, snapshot))
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "the journal names snapshot %s, which domain '%s' does not have: the "
                   "switch stopped before its snapshot, so nothing needs reverting",
                   snapshot != NULL ? snapshot : "(none)", o->domain);
      return MOLT_SWITCH_NOTHING_DONE;
    }
  json_object_set_string_member (report, "snapshot", snapshot);
  if (!rollback (&sw, snapshot, error))
    return MOLT_SWITCH_BROKEN;
  molt_journal_set_string (journal, "state", "rolled-back");
  molt_journal_save (journal, NULL);
  json_object_set_string_member (report, "result", "rolled-back");
  return MOLT_SWITCH_ROLLED_BACK;
}

MoltSwitchResult
molt_switch_resume (const MoltSwitchOptions *o, JsonObject *report, GError **error)
{
  MoltSwitch sw = { .o = o, .report = report, .start = g_get_monotonic_time () };
  g_autoptr (virConnect) conn = NULL;
  g_autoptr (virDomain) dom = NULL;
  g_autoptr (MoltDomainLock) lock = NULL;
  g_autoptr (MoltJournal) journal = molt_journal_new (o->state_dir, o->domain);
  const gchar *snapshot, *state, *step, *old_boot;
  JsonArray *jobs_before;

  sw.steps = json_array_new ();
  json_object_set_array_member (report, "steps", sw.steps);
  json_object_set_string_member (report, "domain", o->domain);
  if (!molt_journal_load (journal, error))
    {
      g_prefix_error (error, "no switch to resume for '%s': ", o->domain);
      return MOLT_SWITCH_NOTHING_DONE;
    }
  state = molt_journal_get_string (journal, "state");
  step = molt_journal_get_last_step (journal);
  if (g_strcmp0 (state, "in-progress") != 0)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "the last switch of '%s' is %s; there is nothing to resume", o->domain,
                   state != NULL ? state : "unknown");
      return MOLT_SWITCH_NOTHING_DONE;
    }
  /* Before the kernel switch began, the safe way forward is back. */
  if (g_strcmp0 (step, "switch") != 0 && g_strcmp0 (step, "restore") != 0
      && g_strcmp0 (step, "verify") != 0 && g_strcmp0 (step, "commit") != 0)
    {
      json_object_set_string_member (report, "resumed-from", step != NULL ? step : "?");
      return molt_switch_rollback (o, report, error);
    }
  lock = molt_domain_lock_acquire (o->state_dir, o->domain, "resume", error);
  conn = lock != NULL ? molt_libvirt_connect (o->uri, error) : NULL;
  if (conn == NULL || (dom = molt_libvirt_lookup_domain (conn, o->domain, error)) == NULL)
    return MOLT_SWITCH_NOTHING_DONE;
  sw.conn = conn;
  sw.dom = dom;
  sw.journal = journal;
  snapshot = molt_journal_get_string (journal, "snapshot");
  old_boot = molt_journal_get_string (journal, "old-boot-id");
  jobs_before = molt_journal_get_array (journal, "jobs-before");
  if (snapshot == NULL || old_boot == NULL || jobs_before == NULL)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "the journal %s lacks what a resume needs", molt_journal_get_path (journal));
      return MOLT_SWITCH_NOTHING_DONE;
    }
  json_object_set_string_member (report, "resumed-from", step);
  json_object_set_string_member (report, "snapshot", snapshot);
  return finish_switch (&sw, snapshot, old_boot, jobs_before, error);
}
