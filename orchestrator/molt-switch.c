#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <libvirt/virterror.h>

#include "molt-agent-client.h"
#include "molt-domain-kernel.h"
#include "molt-domain-lock.h"
#include "molt-host-error.h"
#include "molt-journal.h"
#include "molt-kernel-history.h"
#include "molt-kernel-image.h"
#include "molt-libvirt.h"
#include "molt-protocol-error.h"
#include "molt-reply.h"
#include "molt-snapshot.h"
#include "molt-snapshot-external.h"
#include "molt-switch-jobs.h"
#include "molt-switch-sockets.h"
#include "molt-switch-step.h"
#include "molt-switch-private.h"
#include "molt-switch.h"
#include "molt-wire.h"

void
molt_switch_clear (MoltSwitch *sw)
{
  g_clear_pointer (&sw->jobs_before, json_array_unref);
  g_clear_pointer (&sw->inactive_xml, g_free);
  g_clear_pointer (&sw->old_boot, g_free);
  g_clear_pointer (&sw->old_release, g_free);
  g_clear_pointer (&sw->old_image, g_free);
  g_clear_pointer (&sw->old_initrd, g_free);
  g_clear_pointer (&sw->old_append, g_free);
  g_clear_pointer (&sw->live_xml, g_free);
  g_clear_pointer (&sw->expected_release, g_free);
  g_clear_pointer (&sw->snapshot, g_free);
  g_clear_pointer (&sw->snapshot_xml, g_free);
  g_clear_pointer (&sw->tag, g_free);
  g_clear_pointer (&sw->journal, molt_journal_free);
  g_clear_pointer (&sw->channel_lock, molt_domain_lock_release);
  g_clear_pointer (&sw->lock, molt_domain_lock_release);
  g_clear_pointer (&sw->uuid, g_free);
  g_clear_pointer (&sw->name, g_free);
  g_clear_pointer (&sw->dom, virDomainFree);
  g_clear_pointer (&sw->conn, virConnectClose);
}

void
molt_switch_init (MoltSwitch *sw, const MoltSwitchOptions *o, JsonObject *report)
{
  *sw = (MoltSwitch){ .o = o, .report = report, .start = g_get_monotonic_time () };
  sw->step = MOLT_SWITCH_STEP_LAST;
  sw->journaled_step = MOLT_SWITCH_STEP_LAST;
  sw->method = o->method;
  sw->steps = json_array_new ();
  json_object_set_array_member (report, "steps", sw->steps);
  json_object_set_string_member (report, "domain", o->domain);
}

void
molt_switch_progress (MoltSwitch *sw, const gchar *format, ...)
{
  g_autofree gchar *text = NULL;
  g_autofree gchar *line = NULL;
  va_list args;

  if (sw->o->progress == NULL)
    return;
  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  line = g_strdup_printf ("[%6.1fs] %s", (g_get_monotonic_time () - sw->start) / 1e6, text);
  sw->o->progress (line, sw->o->progress_data);
}

/* A warning goes to the progress lines and into the report. */
void
molt_switch_warn (MoltSwitch *sw, const gchar *what, const GError *cause)
{
  JsonArray *warnings;

  if (!json_object_has_member (sw->report, "warnings"))
    json_object_set_array_member (sw->report, "warnings", json_array_new ());
  warnings = json_object_get_array_member (sw->report, "warnings");
  json_array_add_string_element (warnings, cause->message);
  molt_switch_progress (sw, "warning: %s: %s", what, cause->message);
}

void
molt_switch_end_step (MoltSwitch *sw)
{
  g_autoptr (JsonObject) entry = NULL;
  gdouble seconds;

  if (sw->step == MOLT_SWITCH_STEP_LAST)
    return;
  seconds = (g_get_monotonic_time () - sw->step_start) / 1e6;
  entry = json_object_new ();
  json_object_set_string_member (entry, "step", molt_switch_step_to_string (sw->step));
  json_object_set_double_member (entry, "seconds", seconds);
  json_array_add_object_element (sw->steps, g_steal_pointer (&entry));
  molt_switch_progress (sw, "%s: done in %.1fs", molt_switch_step_to_string (sw->step), seconds);
  sw->step = MOLT_SWITCH_STEP_LAST;
}

/* Journals STEP before it starts: a failed write is an error, for the
 * caller to stop on before anything irreversible. */
static gboolean
begin_step (MoltSwitch *sw, MoltSwitchStep step, GError **error)
{
  molt_switch_end_step (sw);
  sw->step = step;
  sw->step_start = g_get_monotonic_time ();
  molt_switch_progress (sw, "%s: %s", molt_switch_step_to_string (step),
                        molt_switch_step_describe (step));
  if (!sw->journal_started)
    return TRUE;
  if (!molt_journal_begin_step (sw->journal, molt_switch_step_to_string (step), error))
    {
      g_prefix_error (error, "cannot journal step '%s': ", molt_switch_step_to_string (step));
      return FALSE;
    }
  return TRUE;
}

/* A step whose journal entry is a record, not a safeguard (the journal
 * already says enough for a resume): a failed write is a warning. */
void
molt_switch_begin_step_recorded (MoltSwitch *sw, MoltSwitchStep step)
{
  g_autoptr (GError) local_error = NULL;

  if (!begin_step (sw, step, &local_error))
    molt_switch_warn (sw, "journal", local_error);
}

/* The one preamble of run, resume and rollback: libvirt, the domain, its
 * lock (keyed by UUID, taken before anything is read), its journal. */
gboolean
molt_switch_open (MoltSwitch *sw, MoltLockMode mode, const gchar *operation, GError **error)
{
  sw->conn = molt_libvirt_connect (sw->o->uri, error);
  if (sw->conn == NULL)
    return FALSE;
  sw->dom = molt_libvirt_lookup_domain (sw->conn, sw->o->domain, error);
  if (sw->dom == NULL || (sw->uuid = molt_domain_uuid (sw->dom, error)) == NULL)
    return FALSE;
  sw->name = g_strdup (virDomainGetName (sw->dom));
  sw->lock = molt_domain_lock_acquire (sw->o->state_dir, sw->dom, mode, operation, error);
  if (sw->lock == NULL)
    return FALSE;
  if (mode == MOLT_LOCK_SHARED)
    {
      sw->channel_lock = molt_domain_lock_channel (sw->o->state_dir, sw->dom,
                                                   sw->o->agent_timeout_s * 1000, error);
      if (sw->channel_lock == NULL)
        return FALSE;
    }
  sw->journal = molt_journal_new (sw->o->state_dir, sw->uuid, sw->name);
  json_object_set_string_member (sw->report, "domain", sw->name);
  json_object_set_string_member (sw->report, "uuid", sw->uuid);
  return TRUE;
}

/* For resume and rollback: what the journal says the way back needs. */
gboolean
molt_switch_load (MoltSwitch *sw, const gchar *operation, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  MoltJournalState state;
  JsonArray *jobs;

  if (!molt_journal_load (sw->journal, &local_error))
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED, "no switch of %s to %s: %s",
                   sw->name, operation, local_error->message);
      return FALSE;
    }
  state = molt_journal_get_state (sw->journal);
  if (!molt_journal_state_is_unresolved (state))
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "the last switch of %s is %s; there is nothing to %s", sw->name,
                   molt_journal_state_to_string (state), operation);
      return FALSE;
    }
  sw->snapshot = g_strdup (molt_journal_get_string (sw->journal, "snapshot"));
  sw->snapshot_xml = g_strdup (molt_journal_get_string (sw->journal, "snapshot-xml"));
  sw->tag = g_strdup (molt_journal_get_string (sw->journal, "tag"));
  sw->old_boot = g_strdup (molt_journal_get_string (sw->journal, "old-boot-id"));
  sw->old_release = g_strdup (molt_journal_get_string (sw->journal, "old-release"));
  sw->old_image = g_strdup (molt_journal_get_string (sw->journal, "old-image"));
  sw->old_initrd = g_strdup (molt_journal_get_string (sw->journal, "old-initrd"));
  sw->old_append = g_strdup (molt_journal_get_string (sw->journal, "old-append"));
  sw->live_xml = g_strdup (molt_journal_get_string (sw->journal, "live-xml"));
  sw->method = g_strcmp0 (molt_journal_get_string (sw->journal, "method"), "reboot") == 0
                   ? MOLT_SWITCH_METHOD_REBOOT
                   : MOLT_SWITCH_METHOD_KEXEC;
  sw->expected_release = g_strdup (molt_journal_get_string (sw->journal, "expected-release"));
  sw->inactive_xml = g_strdup (molt_journal_get_string (sw->journal, "inactive-xml"));
  jobs = molt_journal_get_array (sw->journal, "jobs-before");
  sw->jobs_before = jobs != NULL ? json_array_ref (jobs) : NULL;
  /* Where the interrupted switch was: the way back depends on whether its
   * kexec may have taken. */
  sw->journaled_step
      = molt_switch_step_from_string (molt_journal_get_last_step (sw->journal, NULL));
  sw->journal_started = TRUE;
  return TRUE;
}

/* libvirtd may restart during a switch (an upgrade, a crash) and take the
 * connection with it; the domain runs on. Reconnect, and find the domain
 * again by its UUID. */
gboolean
molt_switch_ensure_connected (MoltSwitch *sw, GError **error)
{
  virConnectPtr conn;
  virDomainPtr dom;

  gint64 deadline = g_get_monotonic_time () + MOLT_RECONNECT_WAIT_S * G_USEC_PER_SEC;
  g_autoptr (GError) last = NULL;

  if (virConnectIsAlive (sw->conn) == 1)
    return TRUE;
  /* A restarting libvirtd takes a few seconds to accept connections. */
  while ((conn = molt_libvirt_connect (sw->o->uri, &last)) == NULL
         && g_get_monotonic_time () < deadline)
    {
      g_clear_error (&last);
      g_usleep (G_USEC_PER_SEC);
    }
  if (conn == NULL)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&last),
                                  "the connection to libvirt was lost and did not come back "
                                  "within %d s: ",
                                  MOLT_RECONNECT_WAIT_S);
      return FALSE;
    }
  dom = virDomainLookupByUUIDString (conn, sw->uuid);
  if (dom == NULL)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_DOMAIN_NOT_FOUND,
                   "reconnected to libvirt, but domain %s (%s) is gone: %s", sw->name, sw->uuid,
                   virGetLastErrorMessage ());
      virConnectClose (conn);
      return FALSE;
    }
  virDomainFree (sw->dom);
  virConnectClose (sw->conn);
  sw->conn = conn;
  sw->dom = dom;
  molt_switch_progress (sw, "reconnected to libvirt (the connection was lost)");
  return TRUE;
}

static MoltAgentClient *
open_agent (MoltSwitch *sw, guint timeout_s, GError **error)
{
  g_autoptr (MoltAgentClient) client = NULL;
  MoltTransport *transport;

  if (!molt_switch_ensure_connected (sw, error))
    return NULL;
  transport = sw->o->open_agent != NULL ? sw->o->open_agent (sw->dom, sw->o->open_agent_data, error)
                                        : molt_libvirt_open_agent (sw->dom, error);
  if (transport == NULL)
    return NULL;
  client = molt_agent_client_new (transport);
  molt_agent_client_set_timeout (client, timeout_s * 1000);
  if (!molt_agent_client_sync (client, error))
    return NULL;
  return g_steal_pointer (&client);
}

JsonObject *
molt_switch_call_object (MoltAgentClient *client, const gchar *execute, JsonObject *args,
                         GError **error)
{
  g_autoptr (JsonNode) node = molt_agent_client_call (client, execute, args, error);
  JsonObject *obj = node != NULL ? molt_reply_as_object (node, execute, error) : NULL;
  return obj != NULL ? json_object_ref (obj) : NULL;
}

JsonArray *
molt_switch_call_job_list (MoltAgentClient *client, GError **error)
{
  g_autoptr (JsonNode) node = molt_agent_client_call (client, "job-list", NULL, error);
  JsonArray *jobs = node != NULL ? molt_reply_as_array (node, "job-list", error) : NULL;

  if (jobs == NULL || !molt_switch_jobs_check_list (jobs, "job-list", error))
    return NULL;
  return json_array_ref (jobs);
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

/* After kexec: knock until an agent answers from a boot other than
 * not_boot (the one the kernel was switched from). The old kernel, booted
 * by a rollback, gets at least MOLT_OLD_KERNEL_BOOT_FLOOR_S whatever
 * --boot-timeout says: it is known to boot, and giving up on it early
 * turns a rollback into a broken switch (a UEFI guest's firmware, GRUB and
 * systemd take over a minute under TCG on a loaded host). */
MoltAgentClient *
molt_switch_wait_for_boot_other_than (MoltSwitch *sw, const gchar *not_boot, gboolean old_kernel,
                                      JsonObject **info_out, GError **error)
{
  guint wait_s = old_kernel ? MAX (sw->o->boot_timeout_s, MOLT_OLD_KERNEL_BOOT_FLOOR_S)
                            : sw->o->boot_timeout_s;
  gint64 deadline = g_get_monotonic_time () + wait_s * G_USEC_PER_SEC;
  g_autoptr (GError) last = NULL;

  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr (MoltAgentClient) client = NULL;
      g_autoptr (JsonObject) info = NULL;
      const gchar *boot_id = NULL;

      g_clear_error (&last);
      client = open_agent (sw, MOLT_BOOT_POLL_S, &last);
      if (client != NULL)
        info = molt_switch_call_object (client, "info", NULL, &last);
      if (info != NULL && molt_reply_get_string (info, "info", "boot-id", 0, &boot_id, &last)
          && g_strcmp0 (boot_id, not_boot) != 0)
        {
          molt_agent_client_set_timeout (client, sw->o->agent_timeout_s * 1000);
          *info_out = g_steal_pointer (&info);
          return g_steal_pointer (&client);
        }
      g_usleep (G_USEC_PER_SEC);
    }
  g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_AGENT_UNRESPONSIVE,
               "the %s kernel did not bring the agent back within %u s (last: %s)",
               old_kernel ? "old" : "new", wait_s,
               last != NULL ? last->message : "an agent of the old boot");
  return NULL;
}

/* The agent of the reverted (or never switched) guest. */
MoltAgentClient *
molt_switch_wait_for_agent (MoltSwitch *sw, guint wait_s, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + wait_s * G_USEC_PER_SEC;
  g_autoptr (GError) last = NULL;

  for (;;)
    {
      MoltAgentClient *client;

      g_clear_error (&last);
      client = open_agent (sw, MOLT_BOOT_POLL_S, &last);
      if (client != NULL)
        {
          molt_agent_client_set_timeout (client, sw->o->agent_timeout_s * 1000);
          return client;
        }
      if (g_get_monotonic_time () >= deadline)
        break;
      g_usleep (G_USEC_PER_SEC);
    }
  g_propagate_error (error, g_steal_pointer (&last));
  return NULL;
}

/* The checkpoint images hold the jobs' memory: once the switch is
 * committed or rolled back nothing needs them (unless kept on request). */
static gboolean
run_probe (MoltSwitch *sw, MoltAgentClient *client, GError **error)
{
  g_autoptr (JsonObject) args = json_object_new ();
  g_autoptr (JsonArray) argv = json_array_new ();
  g_autoptr (JsonObject) started = NULL;
  g_autofree gchar *name = g_strdup_printf ("molt-probe-%" G_GINT64_FORMAT, g_get_real_time ());
  gint64 deadline = g_get_monotonic_time () + sw->o->probe_timeout_s * G_USEC_PER_SEC;
  gboolean status_pending = FALSE;

  json_array_add_string_element (argv, "sh");
  json_array_add_string_element (argv, "-c");
  json_array_add_string_element (argv, sw->o->probe);
  json_object_set_string_member (args, "name", name);
  json_object_set_array_member (args, "argv", g_steal_pointer (&argv));
  started = molt_switch_call_object (client, "job-start", args, error);
  if (started == NULL)
    return FALSE;
  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr (JsonNode) node = molt_agent_client_call (client, "job-list", NULL, error);
      JsonArray *jobs = node != NULL ? molt_reply_as_array (node, "job-list", error) : NULL;

      if (jobs == NULL)
        return FALSE;
      for (guint i = 0; i < json_array_get_length (jobs); i++)
        {
          JsonObject *job = molt_reply_array_object (jobs, "job-list", i, error);
          const gchar *job_name = NULL, *state = NULL, *tail = "";
          gint64 status = -1;
          g_autoptr (JsonObject) log_args = NULL;
          g_autoptr (JsonObject) log = NULL;
          g_autofree gchar *tail_copy = NULL;

          if (job == NULL || !molt_reply_get_string (job, "job-list", "name", 0, &job_name, error)
              || !molt_reply_get_string (job, "job-list", "state", 0, &state, error))
            return FALSE;
          if (!g_str_equal (job_name, name) || g_str_equal (state, "running"))
            continue;
          if (!molt_reply_get_int (job, "job-list", "exit-status", MOLT_WAIT_STATUS_MIN,
                                   MOLT_WAIT_STATUS_MAX, MOLT_REPLY_OPTIONAL, &status, error))
            return FALSE;
          /* Seen gone before the agent reaped it: its status comes next. */
          if (!json_object_has_member (job, "exit-status"))
            {
              status_pending = TRUE;
              continue;
            }
          if (status == 0)
            return TRUE;
          log_args = json_object_new ();
          json_object_set_string_member (log_args, "name", name);
          json_object_set_int_member (log_args, "bytes", 512);
          /* The output is a courtesy: a log that cannot be read leaves it out. */
          log = molt_switch_call_object (client, "job-log", log_args, NULL);
          if (log != NULL)
            molt_reply_get_string (log, "job-log", "tail", MOLT_REPLY_OPTIONAL, &tail, NULL);
          tail_copy = g_strstrip (g_strdup (tail));
          g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                       "the probe '%s' failed (wait status %" G_GINT64_FORMAT ")%s%s", sw->o->probe,
                       status, *tail_copy != '\0' ? ": " : "", tail_copy);
          return FALSE;
        }
      g_usleep (G_USEC_PER_SEC / 2);
    }
  g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
               status_pending ? "the probe '%s' ended, but the agent did not report how within %u s"
                              : "the probe '%s' did not finish within %u s",
               sw->o->probe, sw->o->probe_timeout_s);
  return FALSE;
}

/* What the host saw of the jobs' downtime: from the freeze's reply to now,
 * an upper bound; 0 when unknown (a resumed switch). */
static gdouble
host_downtime_s (MoltSwitch *sw)
{
  return sw->frozen_host_us > 0 ? (g_get_monotonic_time () - sw->frozen_host_us) / 1e6 : 0;
}

/* From the kernel switch on: wait for the new boot, verify, commit; or roll
 * back. Shared by a switch and by --resume. */
MoltSwitchResult
molt_switch_finish (MoltSwitch *sw, GError **error)
{
  g_autoptr (MoltAgentClient) client = NULL;
  g_autoptr (JsonObject) new_info = NULL;
  g_autoptr (JsonArray) jobs_after = NULL;
  g_autoptr (JsonArray) report_jobs = json_array_new ();
  g_autoptr (GError) journal_error = NULL;
  const gchar *release = NULL;
  GError *cause = NULL;

  molt_switch_begin_step_recorded (sw, MOLT_SWITCH_STEP_RESTORE);
  client = molt_switch_wait_for_boot_other_than (sw, sw->old_boot, FALSE, &new_info, &cause);
  if (client == NULL
      || !molt_reply_get_string (new_info, "info", "kernel-release", 0, &release, &cause))
    return molt_switch_fail_and_roll_back (sw, cause, error);
  json_object_set_string_member (sw->report, "new-kernel-release", release);
  /* A new kernel that panicked and rebooted into the old one would bring
   * the jobs back too: that is not the switch that was asked for. */
  if (sw->expected_release != NULL && !g_str_equal (release, sw->expected_release))
    {
      cause = g_error_new (MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                           "the guest came back running %s, not the new kernel %s (did the new "
                           "kernel fail and the guest boot another?)",
                           release, sw->expected_release);
      return molt_switch_fail_and_roll_back (sw, cause, error);
    }

  molt_switch_begin_step_recorded (sw, MOLT_SWITCH_STEP_VERIFY);
  jobs_after = molt_switch_call_job_list (client, &cause);
  if (jobs_after == NULL
      || !molt_switch_jobs_verify_switch (sw->jobs_before, jobs_after, host_downtime_s (sw),
                                          report_jobs, &cause)
      || (sw->o->verify_hook != NULL
          && !sw->o->verify_hook (client, sw->report, sw->o->hook_data, &cause))
      || (sw->o->probe != NULL && !run_probe (sw, client, &cause)))
    return molt_switch_fail_and_roll_back (sw, cause, error);
  /* Jobs restored held (a probe was due) run from here on. */
  if (molt_switch_jobs_count_state (jobs_after, "frozen") > 0)
    {
      g_autoptr (JsonObject) thawed = molt_switch_call_object (client, "thaw", NULL, &cause);
      g_clear_pointer (&jobs_after, json_array_unref);
      g_clear_pointer (&report_jobs, json_array_unref);
      report_jobs = json_array_new ();
      if (thawed == NULL || (jobs_after = molt_switch_call_job_list (client, &cause)) == NULL
          || !molt_switch_jobs_verify_switch (sw->jobs_before, jobs_after, host_downtime_s (sw),
                                              report_jobs, &cause))
        return molt_switch_fail_and_roll_back (sw, cause, error);
    }
  json_object_set_array_member (sw->report, "jobs", g_steal_pointer (&report_jobs));

  /* Committed in the journal before the snapshot goes: a journal that
   * still said in-progress would let 'molt rollback' revert a good switch. */
  molt_switch_begin_step_recorded (sw, MOLT_SWITCH_STEP_COMMIT);
  if (!molt_journal_set_state (sw->journal, MOLT_JOURNAL_COMMITTED, &journal_error))
    {
      g_prefix_error (&journal_error,
                      "the switch succeeded but the journal cannot record it%s%s%s; do not run "
                      "'molt rollback'; once the state directory is writable, 'molt switch "
                      "--resume %s' records the commit: ",
                      sw->snapshot != NULL ? ", so snapshot " : "",
                      sw->snapshot != NULL ? sw->snapshot : "",
                      sw->snapshot != NULL ? " is kept" : "", sw->name);
      molt_switch_warn (sw, "commit", journal_error);
    }
  else if (sw->snapshot != NULL && !sw->o->keep_snapshot
           && (!molt_switch_ensure_connected (sw, &cause)
               || !molt_switch_drop_snapshot (sw, &cause)))
    {
      molt_switch_warn (sw, "commit", cause);
      g_clear_error (&cause);
    }
  /* What --snapshot auto goes by: this kernel ran here. */
  if (!molt_kernel_history_add (sw->o->state_dir, sw->uuid, release, &cause))
    {
      g_prefix_error (&cause, "cannot record kernel %s as tried on this domain: ", release);
      molt_switch_warn (sw, "commit", cause);
      g_clear_error (&cause);
    }
  if (sw->o->commit_hook != NULL
      && !sw->o->commit_hook (client, sw->report, sw->o->hook_data, &cause))
    {
      molt_switch_warn (sw, "commit", cause);
      g_clear_error (&cause);
    }
  molt_switch_unpin_boot_entry (sw, client);
  molt_switch_drop_images (sw, client);
  molt_switch_end_step (sw);
  json_object_set_string_member (sw->report, "result", "committed");
  json_object_set_double_member (sw->report, "total-s",
                                 (g_get_monotonic_time () - sw->start) / 1e6);
  return MOLT_SWITCH_COMMITTED;
}

/* A new switch does not start over an earlier one that is unresolved: its
 * rollback point would be forgotten. */
static gboolean
check_no_unresolved (MoltSwitch *sw, GError **error)
{
  g_autoptr (MoltJournal) earlier = NULL;
  g_autoptr (GError) local_error = NULL;
  MoltJournalState state;
  const gchar *step;

  earlier = molt_journal_new (sw->o->state_dir, sw->uuid, sw->name);
  if (!molt_journal_load (earlier, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return TRUE;
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                  "cannot read the journal of the last switch: ");
      return FALSE;
    }
  state = molt_journal_get_state (earlier);
  if (!molt_journal_state_is_unresolved (state))
    return TRUE;
  step = molt_journal_get_last_step (earlier, NULL);
  g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
               "the last switch of %s is unresolved (%s at step %s); run 'molt switch --resume "
               "%s' to finish it or 'molt rollback %s' to undo it first",
               sw->name, molt_journal_state_to_string (state), step != NULL ? step : "?", sw->name,
               sw->name);
  return FALSE;
}

/* The release the new kernel will report: read from the image, by the
 * agent for a kexec (the path is in the guest), here for a reboot. An
 * image it cannot be read from is a warning, and the check is skipped. */
static gboolean
expect_release (MoltSwitch *sw, JsonObject *preflight, GError **error)
{
  g_autoptr (GError) unknown = NULL;
  const gchar *release = NULL, *why = NULL;

  if (sw->o->method == MOLT_SWITCH_METHOD_REBOOT)
    sw->expected_release = molt_kernel_image_release (sw->o->kernel, &unknown);
  else if (!molt_reply_get_string (preflight, "switch-preflight", "release", MOLT_REPLY_OPTIONAL,
                                   &release, error)
           || !molt_reply_get_string (preflight, "switch-preflight", "release-error",
                                      MOLT_REPLY_OPTIONAL, &why, error))
    return FALSE;
  else if (release != NULL)
    sw->expected_release = g_strdup (release);
  else
    unknown = g_error_new (MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED, "%s",
                           why != NULL ? why : "the agent did not say");
  if (sw->expected_release != NULL)
    json_object_set_string_member (sw->report, "expected-kernel-release", sw->expected_release);
  else
    {
      g_prefix_error (&unknown, "cannot tell which release the new kernel reports, so it is "
                                "not checked after the switch: ");
      molt_switch_warn (sw, "preflight", unknown);
    }
  return TRUE;
}

/* The agent checks CRIU once after it starts, which takes seconds on a
 * slow guest: a preflight right after a boot waits for the answer rather
 * than refusing while it says "checking". */
static JsonObject *
info_with_criu_checked (MoltAgentClient *client, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + MOLT_CRIU_CHECK_WAIT_S * G_USEC_PER_SEC;

  for (;;)
    {
      g_autoptr (JsonObject) info = molt_switch_call_object (client, "info", NULL, error);
      JsonObject *criu = NULL;
      const gchar *state = NULL;

      if (info == NULL)
        return NULL;
      if (!molt_reply_get_object (info, "info", "criu", 0, &criu, NULL)
          || !molt_reply_get_string (criu, "info.criu", "state", MOLT_REPLY_OPTIONAL, &state, NULL)
          || g_strcmp0 (state, "checking") != 0 || g_get_monotonic_time () >= deadline)
        return g_steal_pointer (&info);
      g_usleep (G_USEC_PER_SEC);
    }
}

/* How the guest could load the running kernel again (a switch back). An
 * older agent does not say: the way back is then a restart. */
static gboolean
read_running_kernel (MoltSwitch *sw, JsonObject *preflight, GError **error)
{
  JsonObject *running = NULL;
  const gchar *image = NULL, *initrd = NULL, *append = NULL;

  if (!molt_reply_get_object (preflight, "switch-preflight", "running-kernel", MOLT_REPLY_OPTIONAL,
                              &running, error))
    return FALSE;
  if (running == NULL)
    return TRUE;
  if (!molt_reply_get_string (running, "switch-preflight.running-kernel", "image",
                              MOLT_REPLY_OPTIONAL, &image, error)
      || !molt_reply_get_string (running, "switch-preflight.running-kernel", "initrd",
                                 MOLT_REPLY_OPTIONAL, &initrd, error)
      || !molt_reply_get_string (running, "switch-preflight.running-kernel", "append",
                                 MOLT_REPLY_OPTIONAL, &append, error))
    return FALSE;
  sw->old_image = g_strdup (image);
  sw->old_initrd = g_strdup (initrd);
  sw->old_append = g_strdup (append);
  return TRUE;
}

/* Whether the domain has an interface on QEMU's user-mode network, whose
 * connections live in the QEMU process. */
static gboolean
has_user_network (MoltSwitch *sw)
{
  g_autofree gchar *xml = virDomainGetXMLDesc (sw->dom, 0);

  return xml != NULL && strstr (xml, "<interface type='user'") != NULL;
}

/* The jobs' sockets into the report; a restart over established TCP of a
 * user-mode network is refused unless --tcp close. */
static gboolean
check_sockets (MoltSwitch *sw, JsonObject *preflight, GError **error)
{
  g_autoptr (JsonArray) sockets = molt_switch_sockets_read (preflight, error);

  if (sockets == NULL)
    return FALSE;
  json_object_set_array_member (sw->report, "sockets", json_array_ref (sockets));
  json_object_set_string_member (sw->report, "tcp", sw->o->tcp_close ? "close" : "keep");
  if (sw->o->method == MOLT_SWITCH_METHOD_REBOOT && !sw->o->tcp_close && has_user_network (sw))
    return molt_switch_sockets_check_restart (sockets, error);
  return TRUE;
}

/* Preflight: nothing changes until it passes. Fills the old boot and the
 * job list. */
static gboolean
preflight (MoltSwitch *sw, MoltAgentClient *client, GError **error)
{
  const MoltSwitchOptions *o = sw->o;
  g_autoptr (JsonObject) info = NULL;
  g_autoptr (JsonObject) args = json_object_new ();
  g_autoptr (JsonObject) checked = NULL;
  JsonObject *criu = NULL;
  const gchar *boot_id = NULL, *release = NULL, *criu_error = NULL, *criu_state = "unknown";
  gboolean works = FALSE;

  if (!check_no_unresolved (sw, error))
    return FALSE;
  info = info_with_criu_checked (client, error);
  if (info == NULL || !molt_reply_get_string (info, "info", "boot-id", 0, &boot_id, error)
      || !molt_reply_get_string (info, "info", "kernel-release", 0, &release, error)
      || !molt_reply_get_object (info, "info", "criu", 0, &criu, error)
      || !molt_reply_get_bool (criu, "info.criu", "works", 0, &works, error)
      || !molt_reply_get_string (criu, "info.criu", "state", MOLT_REPLY_OPTIONAL, &criu_state,
                                 error)
      || !molt_reply_get_string (criu, "info.criu", "error", MOLT_REPLY_OPTIONAL, &criu_error,
                                 error))
    return FALSE;
  sw->old_boot = g_strdup (boot_id);
  sw->old_release = g_strdup (release);
  json_object_set_string_member (sw->report, "old-kernel-release", release);
  if (!works)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "CRIU does not work in the guest (%s)",
                   criu_error != NULL ? criu_error : criu_state);
      return FALSE;
    }
  if (o->method == MOLT_SWITCH_METHOD_KEXEC)
    {
      json_object_set_string_member (args, "kernel", o->kernel);
      if (o->initrd != NULL)
        json_object_set_string_member (args, "initrd", o->initrd);
    }
  else if (!host_file_readable ("kernel", o->kernel, error)
           || (o->initrd != NULL && !host_file_readable ("initrd", o->initrd, error)))
    return FALSE;
  checked = molt_switch_call_object (client, "switch-preflight", args, error);
  if (checked == NULL || !expect_release (sw, checked, error)
      || !read_running_kernel (sw, checked, error)
      || !molt_switch_jobs_check_blockers (checked, error) || !check_sockets (sw, checked, error)
      || (sw->jobs_before = molt_switch_call_job_list (client, error)) == NULL
      || !molt_switch_jobs_check_restorable (sw->jobs_before, error))
    return FALSE;
  return TRUE;
}

/* The domain's definitions as they are now, which a restart on the old
 * kernel (layer 3) starts from: read again after an external snapshot,
 * whose overlays hold what the guest writes from then on (the checkpoint
 * images too). A persistent domain's own definition is put back too. */
static void
journal_definitions (MoltSwitch *sw)
{
  g_clear_pointer (&sw->live_xml, g_free);
  g_clear_pointer (&sw->inactive_xml, g_free);
  sw->live_xml = virDomainGetXMLDesc (sw->dom, VIR_DOMAIN_XML_MIGRATABLE);
  molt_journal_set_string (sw->journal, "live-xml", sw->live_xml);
  if (virDomainIsPersistent (sw->dom) == 1)
    {
      sw->inactive_xml = virDomainGetXMLDesc (sw->dom, VIR_DOMAIN_XML_INACTIVE);
      molt_journal_set_string (sw->journal, "inactive-xml", sw->inactive_xml);
    }
}

/* The journal before the first change: what a resume or rollback needs. */
static gboolean
journal_start (MoltSwitch *sw, const gchar *snapshot, const gchar *tag, GError **error)
{
  const MoltSwitchOptions *o = sw->o;

  sw->tag = g_strdup (tag);
  molt_journal_set_string (sw->journal, "operation", "switch");
  molt_journal_set_string (sw->journal, "method",
                           o->method == MOLT_SWITCH_METHOD_REBOOT ? "reboot" : "kexec");
  molt_journal_set_string (sw->journal, "tag", tag);
  molt_journal_set_string (sw->journal, "kernel", o->kernel);
  molt_journal_set_string (sw->journal, "snapshot", snapshot);
  molt_journal_set_string (sw->journal, "old-boot-id", sw->old_boot);
  molt_journal_set_string (sw->journal, "old-release", sw->old_release);
  molt_journal_set_string (sw->journal, "old-image", sw->old_image);
  molt_journal_set_string (sw->journal, "old-initrd", sw->old_initrd);
  molt_journal_set_string (sw->journal, "old-append", sw->old_append);
  molt_journal_set_string (sw->journal, "expected-release", sw->expected_release);
  journal_definitions (sw);
  if (!molt_journal_set_state (sw->journal, MOLT_JOURNAL_IN_PROGRESS, error))
    {
      g_prefix_error (error, "cannot write the switch's journal: ");
      return FALSE;
    }
  sw->journal_started = TRUE;
  return TRUE;
}

/* The kernel switch itself: kexec from the guest, or a new QEMU. */
static gboolean
switch_kernel (MoltSwitch *sw, MoltAgentClient **client, GError **error)
{
  const MoltSwitchOptions *o = sw->o;
  g_autoptr (JsonObject) args = json_object_new ();
  g_autoptr (JsonObject) verify_args = json_object_new ();
  g_autoptr (JsonNode) verified = NULL;
  g_autoptr (JsonObject) loaded = NULL;

  /* Last moment the jobs' trees are still there to thaw: a file a job
   * holds open that changed since the checkpoint stops the switch now. */
  json_object_set_string_member (verify_args, "tag", sw->tag);
  verified = molt_agent_client_call (*client, "images-verify", verify_args, error);
  if (verified == NULL || molt_reply_as_array (verified, "images-verify", error) == NULL)
    return FALSE;
  if (o->method == MOLT_SWITCH_METHOD_REBOOT)
    {
      g_clear_pointer (client, molt_agent_client_free);
      return molt_domain_restart_with_kernel (&sw->dom, o->kernel, o->initrd, o->append,
                                              sw->snapshot, error);
    }
  json_object_set_string_member (args, "kernel", o->kernel);
  if (o->initrd != NULL)
    json_object_set_string_member (args, "initrd", o->initrd);
  if (o->append != NULL)
    json_object_set_string_member (args, "append", o->append);
  sw->kexec_sent = TRUE;
  loaded = molt_switch_call_kexec (sw, *client, "kexec", args, error);
  g_clear_pointer (client, molt_agent_client_free);
  return loaded != NULL;
}

/* The kexec request went out but no reply came (a timeout, the channel
 * closed): the kernel may be switching under the call, and the boot it
 * starts restores the jobs, so treating the kexec as failed would meet
 * them running there. Ask the guest: the boot `from` answering with no
 * kexec due means it will not happen; anything else (no answer, another
 * boot, a kexec still due) means it may have, and the caller waits for
 * the boot after `from`. */
gboolean
molt_switch_kexec_may_have_happened (MoltSwitch *sw, const gchar *from, const GError *cause)
{
  g_autoptr (MoltAgentClient) client = NULL;
  g_autoptr (JsonObject) info = NULL;
  g_autoptr (GError) local_error = NULL;
  const gchar *boot_id = NULL;
  gboolean pending = FALSE;

  if (cause->domain != MOLT_HOST_ERROR
      || (cause->code != MOLT_HOST_ERROR_AGENT_UNRESPONSIVE
          && cause->code != MOLT_HOST_ERROR_AGENT_CLOSED))
    return FALSE;
  client = open_agent (sw, MOLT_BOOT_POLL_S, &local_error);
  if (client != NULL)
    info = molt_switch_call_object (client, "info", NULL, &local_error);
  if (info != NULL && molt_reply_get_string (info, "info", "boot-id", 0, &boot_id, NULL)
      && g_strcmp0 (boot_id, from) == 0
      && molt_reply_get_bool (info, "info", "kexec-pending", MOLT_REPLY_OPTIONAL, &pending, NULL)
      && !pending)
    return FALSE;
  return TRUE;
}

/* kexec and kexec-load wait for the agent's kexec -l, which it bounds
 * itself: the call waits a little longer, so that a slow load (a cold
 * page cache on a loaded host) gets its real answer, not a timeout. */
JsonObject *
molt_switch_call_kexec (MoltSwitch *sw, MoltAgentClient *client, const gchar *command,
                        JsonObject *args, GError **error)
{
  guint wait_s = sw->o->kexec_load_timeout_s > 0
                     ? sw->o->kexec_load_timeout_s
                     : MOLT_WIRE_KEXEC_LOAD_TIMEOUT_S + MOLT_BOOT_POLL_S;
  JsonObject *reply;

  molt_agent_client_set_timeout (client, wait_s * 1000);
  reply = molt_switch_call_object (client, command, args, error);
  molt_agent_client_set_timeout (client, sw->o->agent_timeout_s * 1000);
  return reply;
}

/* CRIU copies the running jobs' memory now, so that the checkpoint in the
 * freeze window writes only what changed since (for a job that writes
 * little of its memory, most of the dump leaves the freeze window). Only
 * an optimisation: whatever fails here is a warning, and the checkpoint
 * dumps those jobs whole. */
static void
pre_dump (MoltSwitch *sw, MoltAgentClient *client, const gchar *tag)
{
  g_autoptr (JsonObject) args = json_object_new ();
  g_autoptr (JsonNode) reply = NULL;
  g_autoptr (GError) local_error = NULL;
  JsonArray *entries;

  json_object_set_string_member (args, "tag", tag);
  molt_agent_client_set_timeout (client, sw->o->checkpoint_timeout_s * 1000);
  reply = molt_agent_client_call (client, "pre-dump", args, &local_error);
  molt_agent_client_set_timeout (client, sw->o->agent_timeout_s * 1000);
  entries = reply != NULL ? molt_reply_as_array (reply, "pre-dump", &local_error) : NULL;
  for (guint i = 0; entries != NULL && i < json_array_get_length (entries); i++)
    {
      g_autofree gchar *what = g_strdup_printf ("pre-dump[%u]", i);
      JsonObject *entry = molt_reply_array_object (entries, what, i, &local_error);
      const gchar *name = NULL, *why = NULL;

      if (entry == NULL || !molt_reply_get_string (entry, what, "name", 0, &name, &local_error)
          || !molt_reply_get_string (entry, what, "error", MOLT_REPLY_OPTIONAL, &why, &local_error))
        break;
      if (why != NULL)
        {
          g_autoptr (GError) job_error
              = g_error_new (MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                             "job %s will be dumped whole in the freeze: %s", name, why);
          molt_switch_warn (sw, "prepare", job_error);
        }
    }
  if (local_error != NULL)
    {
      g_prefix_error (&local_error, "the jobs will be dumped whole in the freeze: ");
      molt_switch_warn (sw, "prepare", local_error);
    }
}

/* The new kernel loaded (kexec -l) while the jobs still run: the freeze
 * window then only executes it. A kernel that cannot be loaded stops the
 * switch here, before anything is frozen; an agent without kexec-load
 * loads it in the switch step, as before. */
static gboolean
load_kernel_ahead (MoltSwitch *sw, MoltAgentClient *client, GError **error)
{
  const MoltSwitchOptions *o = sw->o;
  g_autoptr (JsonObject) args = json_object_new ();
  g_autoptr (JsonObject) loaded = NULL;
  GError *local_error = NULL;

  if (o->method != MOLT_SWITCH_METHOD_KEXEC)
    return TRUE;
  json_object_set_string_member (args, "kernel", o->kernel);
  if (o->initrd != NULL)
    json_object_set_string_member (args, "initrd", o->initrd);
  if (o->append != NULL)
    json_object_set_string_member (args, "append", o->append);
  loaded = molt_switch_call_kexec (sw, client, "kexec-load", args, &local_error);
  if (loaded != NULL)
    return TRUE;
  if (g_error_matches (local_error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_COMMAND_NOT_FOUND))
    {
      g_prefix_error (&local_error, "the new kernel loads in the freeze window: ");
      molt_switch_warn (sw, "prepare", local_error);
      g_clear_error (&local_error);
      return TRUE;
    }
  g_propagate_error (error, local_error);
  return FALSE;
}

/* --snapshot always, or auto before the target kernel's first switch on
 * this domain; the report says which auto chose and why. */
static gboolean
snapshot_wanted (MoltSwitch *sw)
{
  const gchar *release = sw->expected_release;
  gboolean tried;
  g_autofree gchar *why = NULL;

  if (sw->o->snapshot != MOLT_SWITCH_SNAPSHOT_AUTO)
    return sw->o->snapshot == MOLT_SWITCH_SNAPSHOT_ALWAYS;
  tried = molt_kernel_history_has (sw->o->state_dir, sw->uuid, release);
  if (tried)
    why = g_strdup_printf ("skipped: kernel %s already committed a switch on this domain", release);
  else if (release != NULL)
    why = g_strdup_printf ("taken: kernel %s has not committed a switch on this domain yet",
                           release);
  else
    why = g_strdup ("taken: the new kernel's release is not known");
  json_object_set_string_member (sw->report, "snapshot-auto", why);
  molt_switch_progress (sw, "snapshot (auto): %s", why);
  return !tried;
}

/* Only on request (the rollback layers need none): a live external
 * snapshot, taken while the jobs still run so that its O(guest RAM) cost
 * stays out of the freeze window; libvirt pauses the guest only for the
 * last dirty pages. It works on UEFI domains too (docs/switch.md). */
static gboolean
take_snapshot (MoltSwitch *sw, const gchar *name, GError **error)
{
  sw->snapshot = g_strdup (name);
  if (!molt_snapshot_external_create (sw->dom, name,
                                      "molt switch rollback point (before the freeze)", error))
    return FALSE;
  json_object_set_string_member (sw->report, "snapshot", name);
  /* Kept: a transient domain's snapshots go with its destroy, and the
   * last layer reverts from this record. */
  sw->snapshot_xml = molt_snapshot_external_xml (sw->dom, name, error);
  if (sw->snapshot_xml == NULL)
    return FALSE;
  molt_journal_set_string (sw->journal, "snapshot-xml", sw->snapshot_xml);
  journal_definitions (sw);
  return TRUE;
}

/* --snapshot auto whose snapshot failed: the switch goes on with the
 * rollback layers alone, as with never, and says so. */
static void
forgo_snapshot (MoltSwitch *sw, GError *cause)
{
  g_autoptr (GError) owned_cause = cause;
  g_autoptr (GError) drop_error = NULL;

  g_prefix_error (&owned_cause, "going on without it (--snapshot auto): ");
  molt_switch_warn (sw, "snapshot", owned_cause);
  if (!molt_switch_drop_snapshot (sw, &drop_error))
    molt_switch_warn (sw, "snapshot", drop_error);
  g_clear_pointer (&sw->snapshot, g_free);
  g_clear_pointer (&sw->snapshot_xml, g_free);
  json_object_remove_member (sw->report, "snapshot");
  molt_journal_set_string (sw->journal, "snapshot", NULL);
  molt_journal_set_string (sw->journal, "snapshot-xml", NULL);
}

MoltSwitchResult
molt_switch_run (const MoltSwitchOptions *o, JsonObject *report, GError **error)
{
  gboolean want_snapshot;
  g_auto (MoltSwitch) sw = { 0 };
  g_autoptr (MoltAgentClient) client = NULL;
  g_autoptr (JsonObject) frozen = NULL;
  g_autoptr (JsonObject) checkpoint_args = json_object_new ();
  g_autoptr (JsonNode) dumped = NULL;
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree gchar *stamp = g_date_time_format (now, "%Y%m%dT%H%M%SZ");
  g_autofree gchar *snapshot = g_strconcat ("molt-switch-", stamp, NULL);
  GError *cause = NULL;

  molt_switch_init (&sw, o, report);
  json_object_set_string_member (report, "method",
                                 o->method == MOLT_SWITCH_METHOD_KEXEC ? "kexec" : "reboot");
  json_object_set_string_member (report, "kernel", o->kernel);

  begin_step (&sw, MOLT_SWITCH_STEP_PREFLIGHT, NULL);
  if (!molt_switch_open (&sw, o->dry_run ? MOLT_LOCK_SHARED : MOLT_LOCK_EXCLUSIVE, "switch", error))
    return MOLT_SWITCH_NOTHING_DONE;
  client = open_agent (&sw, o->agent_timeout_s, error);
  if (client == NULL || !preflight (&sw, client, error))
    {
      g_prefix_error (error, "preflight: ");
      return MOLT_SWITCH_NOTHING_DONE;
    }
  want_snapshot = snapshot_wanted (&sw);
  if (o->dry_run)
    {
      molt_switch_end_step (&sw);
      json_object_set_string_member (report, "result", "dry-run");
      json_object_set_array_member (report, "jobs-now", json_array_ref (sw.jobs_before));
      return MOLT_SWITCH_DRY_RUN;
    }
  if (!journal_start (&sw, want_snapshot ? snapshot : NULL, stamp, error))
    return MOLT_SWITCH_NOTHING_DONE;

  if (want_snapshot && !begin_step (&sw, MOLT_SWITCH_STEP_SNAPSHOT, &cause))
    return molt_switch_fail_and_roll_back (&sw, cause, error);
  if (want_snapshot && !take_snapshot (&sw, snapshot, &cause))
    {
      if (o->snapshot != MOLT_SWITCH_SNAPSHOT_AUTO)
        return molt_switch_fail_and_roll_back (&sw, cause, error);
      forgo_snapshot (&sw, cause);
    }

  if (!begin_step (&sw, MOLT_SWITCH_STEP_PREPARE, &cause))
    return molt_switch_fail_and_roll_back (&sw, cause, error);
  pre_dump (&sw, client, stamp);
  if (!load_kernel_ahead (&sw, client, &cause))
    return molt_switch_fail_and_roll_back (&sw, cause, error);
  molt_switch_pin_boot_entry (&sw, client);

  if (!begin_step (&sw, MOLT_SWITCH_STEP_FREEZE, &cause))
    return molt_switch_fail_and_roll_back (&sw, cause, error);
  /* A failed freeze may have frozen some jobs: the rollback thaws them all
   * and checks each job of the preflight's list. */
  frozen = molt_switch_call_object (client, "freeze", NULL, &cause);
  if (frozen == NULL)
    return molt_switch_fail_and_roll_back (&sw, cause, error);
  sw.frozen_host_us = g_get_monotonic_time ();
  g_clear_pointer (&sw.jobs_before, json_array_unref);
  if ((sw.jobs_before = molt_switch_call_job_list (client, &cause)) == NULL)
    return molt_switch_fail_and_roll_back (&sw, cause, error);
  molt_journal_set_array (sw.journal, "jobs-before", sw.jobs_before);

  if (!begin_step (&sw, MOLT_SWITCH_STEP_CHECKPOINT, &cause))
    return molt_switch_fail_and_roll_back (&sw, cause, error);
  json_object_set_string_member (checkpoint_args, "tag", stamp);
  /* With a probe, the jobs wait stopped on the new kernel until it passed:
   * if it fails, they switch back without having run there. */
  if (o->probe != NULL)
    json_object_set_boolean_member (checkpoint_args, "hold", TRUE);
  if (o->tcp_close)
    json_object_set_string_member (checkpoint_args, "tcp", "close");
  /* Test-only (docs/testing.md): the agent refuses it unless built for tests. */
  if (g_getenv ("MOLT_TEST_FAULT") != NULL)
    json_object_set_string_member (checkpoint_args, "test-fault", g_getenv ("MOLT_TEST_FAULT"));
  molt_agent_client_set_timeout (client, o->checkpoint_timeout_s * 1000);
  dumped = molt_agent_client_call (client, "checkpoint", checkpoint_args, &cause);
  if (dumped == NULL || molt_reply_as_array (dumped, "checkpoint", &cause) == NULL)
    return molt_switch_fail_and_roll_back (&sw, cause, error);
  molt_agent_client_set_timeout (client, o->agent_timeout_s * 1000);

  if (!begin_step (&sw, MOLT_SWITCH_STEP_SWITCH, &cause))
    return molt_switch_fail_and_roll_back (&sw, cause, error);
  if (!switch_kernel (&sw, &client, &cause))
    {
      if (!sw.kexec_sent || !molt_switch_kexec_may_have_happened (&sw, sw.old_boot, cause))
        return molt_switch_fail_and_roll_back (&sw, cause, error);
      g_prefix_error (&cause,
                      "no reply to kexec, so the kernel may be switching; waiting for it: ");
      molt_switch_warn (&sw, "switch", cause);
      g_clear_error (&cause);
    }
  return molt_switch_finish (&sw, error);
}

/* The kernel the jobs went to the new one from, as a switch to it takes
 * it: a kexec of the image the guest booted, or for a reboot switch the
 * direct-boot kernel of the definition from before. */