/* The way back: a failed switch rolled back by the least destructive way
 * that works (thaw in place, switch back by kexec, restart on the old
 * kernel, revert the snapshot), and molt rollback / molt switch --resume
 * finishing a switch whose orchestrator was killed. */
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

void
molt_switch_drop_images (MoltSwitch *sw, MoltAgentClient *client)
{
  g_autoptr (JsonObject) args = json_object_new ();
  g_autoptr (JsonObject) dropped = NULL;
  g_autoptr (GError) local_error = NULL;
  gint64 bytes = 0;

  if (sw->o->keep_images || sw->tag == NULL)
    return;
  json_object_set_string_member (args, "tag", sw->tag);
  dropped = molt_switch_call_object (client, "images-drop", args, &local_error);
  if (dropped == NULL
      || !molt_reply_get_int (dropped, "images-drop", "removed-bytes", 0, G_MAXINT64,
                              MOLT_REPLY_OPTIONAL, &bytes, &local_error))
    {
      g_prefix_error (&local_error, "the checkpoint images stay in the guest: ");
      molt_switch_warn (sw, "images", local_error);
      return;
    }
  json_object_set_int_member (sw->report, "images-removed-bytes", bytes);
}

/* The snapshot is no longer needed: an external one is merged back into
 * the disks (from the journaled record, which a transient domain's destroy
 * cannot take), an internal one deleted. */
gboolean
molt_switch_drop_snapshot (MoltSwitch *sw, GError **error)
{
  if (sw->snapshot_xml != NULL)
    return molt_snapshot_external_delete_from (sw->dom, sw->snapshot, sw->snapshot_xml, error);
  if (!molt_snapshot_exists (sw->dom, sw->snapshot))
    return TRUE;
  return molt_snapshot_delete (sw->dom, sw->snapshot, error);
}

/* A revert used the snapshot up; every other way back leaves it to drop. */
static gboolean
way_kept_snapshot (const gchar *way)
{
  return g_strcmp0 (way, "snapshot reverted") != 0;
}

/* Whether the boot the switch started from still runs: then the jobs'
 * trees are there, stopped (the checkpoint leaves them), and thawing them
 * is the whole way back. The agent may be restarting (it was killed, say):
 * give it wait_s to answer. */
static MoltAgentClient *
old_boot_agent (MoltSwitch *sw, guint wait_s)
{
  g_autoptr (MoltAgentClient) client = NULL;
  g_autoptr (JsonObject) info = NULL;
  g_autoptr (GError) local_error = NULL;
  const gchar *boot_id = NULL;

  if (sw->old_boot == NULL || !molt_switch_ensure_connected (sw, &local_error)
      || virDomainIsActive (sw->dom) != 1)
    return NULL;
  client = molt_switch_wait_for_agent (sw, wait_s, &local_error);
  if (client != NULL)
    info = molt_switch_call_object (client, "info", NULL, &local_error);
  if (info == NULL || !molt_reply_get_string (info, "info", "boot-id", 0, &boot_id, &local_error)
      || g_strcmp0 (boot_id, sw->old_boot) != 0)
    return NULL;
  return g_steal_pointer (&client);
}

/* The release the guest answers with is the old kernel's. */
static gboolean
runs_old_release (MoltSwitch *sw, JsonObject *info)
{
  const gchar *release = NULL;

  return molt_reply_get_string (info, "info", "kernel-release", 0, &release, NULL)
         && (sw->old_release == NULL || g_str_equal (release, sw->old_release));
}

/* Waits for the boot after `from` (NULL: any answering agent) and checks it
 * runs the old kernel. */
static MoltAgentClient *
wait_for_old_kernel (MoltSwitch *sw, const gchar *from, GError **error)
{
  g_autoptr (JsonObject) info = NULL;
  g_autoptr (MoltAgentClient) client
      = molt_switch_wait_for_boot_other_than (sw, from, TRUE, &info, error);
  const gchar *release = "?";

  if (client == NULL)
    return NULL;
  if (!runs_old_release (sw, info))
    {
      molt_reply_get_string (info, "info", "kernel-release", 0, &release, NULL);
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "the guest came back running %s, not the old kernel %s", release,
                   sw->old_release);
      return NULL;
    }
  return g_steal_pointer (&client);
}

/* Layer 3: the domain restarted from its definition from before the switch
 * (the old direct-boot kernel, or the boot the domain had); the old
 * kernel's boot restores the jobs from their images. */
static MoltAgentClient *
restart_on_old_kernel (MoltSwitch *sw, const gchar *from, GError **error)
{
  if (sw->live_xml == NULL)
    {
      g_set_error_literal (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                           "the journal lacks the domain's definition from before the switch, "
                           "so it cannot be restarted on the old kernel");
      return NULL;
    }
  molt_switch_progress (sw, "rollback: restarting %s on the old kernel", sw->name);
  if (!molt_switch_ensure_connected (sw, error)
      || !molt_domain_restart (&sw->dom, sw->inactive_xml != NULL ? sw->inactive_xml : sw->live_xml,
                               sw->snapshot != NULL && molt_snapshot_exists (sw->dom, sw->snapshot)
                                   ? sw->snapshot
                                   : NULL,
                               "its definition from before the switch", error))
    return NULL;
  return wait_for_old_kernel (sw, from, error);
}

/* Layer 2: the new kernel runs and answers, but the jobs are not running
 * on it (their restore failed, or they are held for a probe that failed):
 * they are still only in their images, so switch back to the old kernel
 * (kexec, or a restart) and let its boot restore them. Never when a job
 * already ran on the new kernel: going back to its images would lose what
 * it did since. */
static MoltAgentClient *
switch_back (MoltSwitch *sw, MoltAgentClient *client, const gchar *boot_id, const gchar **way,
             GError **error)
{
  g_autoptr (JsonArray) jobs = molt_switch_call_job_list (client, error);
  g_autoptr (JsonNode) undone = NULL;
  g_autoptr (GError) kexec_error = NULL;

  if (jobs == NULL)
    return NULL;
  if (molt_switch_jobs_ran_on_new_kernel (sw->jobs_before, jobs))
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_JOBS_MOVED,
                   "the jobs already run on the new kernel; switching back to their images "
                   "would lose their work since the checkpoint (nothing was changed: 'molt "
                   "switch --resume %s' verifies and keeps the new kernel; 'molt rollback %s' "
                   "checkpoints them again and switches them back to the old kernel)",
                   sw->name, sw->name);
      return NULL;
    }
  undone = molt_agent_client_call (client, "restore-undo", NULL, error);
  if (undone == NULL)
    return NULL;
  if (sw->method == MOLT_SWITCH_METHOD_KEXEC && sw->old_image != NULL)
    {
      g_autoptr (JsonObject) args = json_object_new ();
      g_autoptr (JsonObject) loaded = NULL;

      molt_switch_progress (sw, "rollback: switching back to the old kernel %s (kexec)",
                            sw->old_image);
      json_object_set_string_member (args, "kernel", sw->old_image);
      if (sw->old_initrd != NULL)
        json_object_set_string_member (args, "initrd", sw->old_initrd);
      if (sw->old_append != NULL)
        json_object_set_string_member (args, "append", sw->old_append);
      loaded = molt_switch_call_kexec (sw, client, "kexec", args, &kexec_error);
      /* A reply lost to the kexec itself (seen on a loaded host): the old
       * kernel may be booting, and a restart now would kill the jobs it
       * restores. */
      if (loaded != NULL || molt_switch_kexec_may_have_happened (sw, boot_id, kexec_error))
        {
          MoltAgentClient *back;

          g_clear_error (&kexec_error);
          back = wait_for_old_kernel (sw, boot_id, &kexec_error);
          if (back != NULL)
            {
              *way = "switched back to the old kernel";
              return back;
            }
          g_prefix_error (&kexec_error, "the kexec to the old kernel did not bring it back "
                                        "(restarting instead): ");
        }
      else
        g_prefix_error (&kexec_error, "cannot kexec the old kernel (restarting instead): ");
      molt_switch_warn (sw, "rollback", kexec_error);
    }
  *way = "restarted on the old kernel";
  return restart_on_old_kernel (sw, boot_id, error);
}

/* After the kexec, the old boot is gone: the layers that bring the old
 * kernel back with the jobs from their images. */
static MoltAgentClient *
back_to_old_kernel (MoltSwitch *sw, guint first_wait_s, const gchar **way, GError **error)
{
  g_autoptr (MoltAgentClient) client = NULL;
  g_autoptr (JsonObject) info = NULL;
  g_autoptr (GError) local_error = NULL;
  const gchar *boot_id = NULL;

  if (!molt_switch_ensure_connected (sw, error))
    return NULL;
  if (virDomainIsActive (sw->dom) == 1)
    client = molt_switch_wait_for_agent (sw, first_wait_s, &local_error);
  if (client != NULL)
    info = molt_switch_call_object (client, "info", NULL, &local_error);
  if (info != NULL && molt_reply_get_string (info, "info", "boot-id", 0, &boot_id, &local_error))
    {
      /* The new kernel failed and the guest booted the old one by itself
       * (a panic with panic=N): its boot restored the jobs. */
      if (runs_old_release (sw, info))
        {
          *way = "back on the old kernel (the guest rebooted into it)";
          return g_steal_pointer (&client);
        }
      return switch_back (sw, client, boot_id, way, error);
    }
  /* No agent: the new kernel hangs, panicked, or never booted. */
  *way = "restarted on the old kernel";
  return restart_on_old_kernel (sw, NULL, error);
}

/* thaw, once the agent is done with what it runs off its loop: a
 * checkpoint whose orchestrator was killed goes on in the guest, and CRIU
 * holds the jobs until it ends. */
static JsonObject *
thaw_when_idle (MoltSwitch *sw, MoltAgentClient *client, GError **error)
{
  guint wait_s = sw->o->checkpoint_timeout_s > 0 ? sw->o->checkpoint_timeout_s
                                                 : MOLT_CHECKPOINT_WAIT_DEFAULT_S;
  gint64 deadline = g_get_monotonic_time () + wait_s * G_USEC_PER_SEC;

  for (;;)
    {
      g_autoptr (GError) local_error = NULL;
      JsonObject *thawed = molt_switch_call_object (client, "thaw", NULL, &local_error);

      if (thawed != NULL)
        return thawed;
      if (!g_error_matches (local_error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_COMMAND_DISABLED)
          || g_get_monotonic_time () >= deadline)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
      molt_switch_progress (sw, "rollback: waiting for the agent (%s)", local_error->message);
      g_usleep (2 * G_USEC_PER_SEC);
    }
}

/* The way back, least destructive first:
 * 1. the old boot still runs (the failure came before the kexec took):
 *    thaw the jobs in place;
 * 2. the new kernel answers, the jobs only in their images: switch back;
 * 3. no agent answers: restart the domain on the old kernel;
 * 4. if all that fails and a snapshot was taken: revert it.
 * Then check what is true of each job. FALSE when a step of it failed or a
 * job does not run; the report's "jobs" says which. */
static gboolean
rollback (MoltSwitch *sw, guint first_wait_s, GError **error)
{
  g_autoptr (MoltAgentClient) client = NULL;
  g_autoptr (JsonObject) thawed = NULL;
  g_autoptr (JsonArray) after = NULL;
  g_autoptr (JsonArray) report_jobs = json_array_new ();
  g_autoptr (GError) list_error = NULL;
  g_autoptr (GError) layer_error = NULL;
  g_autofree gchar *summary = NULL;
  MoltSwitchStep at = sw->step != MOLT_SWITCH_STEP_LAST ? sw->step : sw->journaled_step;
  gboolean before_kexec = !molt_switch_step_kernel_switched (at);
  const gchar *way = "thawed in place";
  guint not_running;

  molt_switch_begin_step_recorded (sw, MOLT_SWITCH_STEP_ROLLBACK);
  client = old_boot_agent (sw, before_kexec ? MOLT_REVERT_AGENT_WAIT_S : 0);
  if (client != NULL)
    molt_switch_progress (sw, "rollback: the old kernel still runs; thawing the jobs in place");
  else
    client = back_to_old_kernel (sw, first_wait_s, &way, &layer_error);
  if (client == NULL)
    {
      /* Reverting a snapshot would lose the jobs' work too. */
      if (g_error_matches (layer_error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_JOBS_MOVED))
        {
          g_propagate_error (error, g_steal_pointer (&layer_error));
          return FALSE;
        }
      if (sw->snapshot == NULL || !molt_switch_ensure_connected (sw, error)
          || (sw->snapshot_xml == NULL && !molt_snapshot_exists (sw->dom, sw->snapshot)))
        {
          if (error != NULL && *error == NULL)
            g_propagate_error (error, g_steal_pointer (&layer_error));
          return FALSE;
        }
      molt_switch_warn (sw, "rollback", layer_error);
      way = "snapshot reverted";
      molt_switch_progress (sw, "rollback: reverting to snapshot %s", sw->snapshot);
      if (sw->snapshot_xml != NULL)
        {
          /* External (molt's own revert, from the journaled record): it
           * puts the definition from the snapshot back itself. */
          if (!molt_snapshot_external_revert_from (sw->conn, sw->name, sw->snapshot,
                                                   sw->snapshot_xml, error))
            return FALSE;
        }
      else if (!molt_snapshot_revert (sw->dom, sw->snapshot, error))
        return FALSE;
      if (sw->snapshot_xml == NULL && sw->inactive_xml != NULL)
        {
          /* The persistent definition goes back to the old kernel too. */
          virDomainPtr defined = virDomainDefineXML (sw->conn, sw->inactive_xml);
          if (defined == NULL)
            {
              g_autoptr (GError) define_error = g_error_new (
                  MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                  "cannot restore the domain's definition: %s", virGetLastErrorMessage ());
              molt_switch_warn (sw, "rollback", define_error);
            }
          else
            virDomainFree (defined);
        }
      client = molt_switch_wait_for_agent (sw, MOLT_REVERT_AGENT_WAIT_S, error);
      if (client == NULL)
        {
          g_prefix_error (error, "reverted, but the agent does not answer to thaw the jobs: ");
          return FALSE;
        }
    }
  json_object_set_string_member (sw->report, "way-back", way);
  thawed = thaw_when_idle (sw, client, error);
  if (thawed == NULL)
    {
      g_prefix_error (error, "cannot thaw the jobs: ");
      return FALSE;
    }
  /* A job that cannot live on (its connection closed by the revert, say)
   * dies right after its thaw: give it the moment to show it. */
  g_usleep (sw->o->rollback_settle_ms * 1000);
  /* Right after a revert the channel may still carry the old QEMU's
   * leftovers: a list that fails is asked for again, a few times. */
  for (guint attempt = 0; after == NULL && attempt < 3; attempt++)
    {
      if (attempt > 0)
        g_usleep (G_USEC_PER_SEC);
      g_clear_error (&list_error);
      after = molt_switch_call_job_list (client, &list_error);
    }
  not_running = molt_switch_jobs_verify_rollback (sw->jobs_before, after, list_error, report_jobs,
                                                  &summary);
  json_object_set_array_member (sw->report, "jobs", g_steal_pointer (&report_jobs));
  /* The old kernel runs: GRUB's next boot goes back to the default. */
  molt_switch_unpin_boot_entry (sw, client);
  if (not_running > 0)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "the old kernel runs again, but %s", summary);
      return FALSE;
    }
  molt_switch_drop_images (sw, client);
  if (sw->snapshot != NULL && !sw->o->keep_snapshot && way_kept_snapshot (way))
    {
      g_autoptr (GError) delete_error = NULL;
      if (!molt_switch_drop_snapshot (sw, &delete_error))
        molt_switch_warn (sw, "rollback", delete_error);
    }
  molt_switch_end_step (sw);
  return TRUE;
}

/* Records the outcome in the journal; a failed write is a warning here, as
 * what happened has happened. */
static void
journal_outcome (MoltSwitch *sw, MoltJournalState state)
{
  g_autoptr (GError) local_error = NULL;

  if (sw->journal_started && !molt_journal_set_state (sw->journal, state, &local_error))
    {
      g_prefix_error (&local_error,
                      "cannot record '%s' in the journal: ", molt_journal_state_to_string (state));
      molt_switch_warn (sw, "journal", local_error);
    }
}

/* A job name from the guest, as part of a host file name: only if it is
 * plain. */
static gboolean
plain_name (const gchar *name)
{
  if (*name == '\0' || *name == '.' || strlen (name) > 64)
    return FALSE;
  for (const gchar *p = name; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_' && *p != '.')
      return FALSE;
  return TRUE;
}

/* CRIU's logs live among the images in the guest, which the rollback
 * erases (a revert takes the disk back, images-drop removes them): copy
 * them to STATE_DIR/logs/UUID/TAG/ first, and make the message point there. */
static void
keep_logs (MoltSwitch *sw, GError *cause)
{
  g_autoptr (MoltAgentClient) client = NULL;
  g_autoptr (JsonObject) args = json_object_new ();
  g_autoptr (JsonNode) node = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autoptr (JsonArray) kept = json_array_new ();
  g_autofree gchar *dir = NULL;
  JsonArray *logs;

  if (sw->tag == NULL)
    return;
  client = molt_switch_wait_for_agent (sw, 0, &local_error);
  json_object_set_string_member (args, "tag", sw->tag);
  node = client != NULL ? molt_agent_client_call (client, "images-logs", args, &local_error) : NULL;
  logs = node != NULL ? molt_reply_as_array (node, "images-logs", &local_error) : NULL;
  if (logs == NULL)
    {
      g_prefix_error (&local_error, "CRIU's logs could not be copied before the rollback: ");
      molt_switch_warn (sw, "rollback", local_error);
      return;
    }
  dir = g_build_filename (sw->o->state_dir, "logs", sw->uuid, sw->tag, NULL);
  for (guint i = 0; i < json_array_get_length (logs); i++)
    {
      JsonObject *entry = molt_reply_array_object (logs, "images-logs", i, &local_error);
      const gchar *job = NULL, *path = NULL, *tail = NULL;
      g_autofree gchar *base = NULL;
      g_autofree gchar *file = NULL;
      g_autofree gchar *host_path = NULL;

      if (entry == NULL
          || !molt_reply_get_string (entry, "images-logs", "job", 0, &job, &local_error)
          || !molt_reply_get_string (entry, "images-logs", "path", 0, &path, &local_error)
          || !molt_reply_get_string (entry, "images-logs", "tail", 0, &tail, &local_error))
        break;
      base = g_path_get_basename (path);
      if (!plain_name (job)
          || (!g_str_equal (base, "dump.log") && !g_str_equal (base, "restore.log")))
        continue;
      file = g_strconcat (job, "-", base, NULL);
      host_path = g_build_filename (dir, file, NULL);
      if (g_mkdir_with_parents (dir, 0700) != 0
          || !g_file_set_contents_full (host_path, tail, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600,
                                        &local_error))
        break;
      json_array_add_string_element (kept, host_path);
      /* The message names the copy, which outlives the rollback. */
      if (strstr (cause->message, path) != NULL)
        {
          g_autoptr (GString) text = g_string_new (cause->message);
          g_autofree gchar *where = g_strconcat (host_path, " on the host", NULL);
          g_string_replace (text, path, where, 0);
          g_free (cause->message);
          cause->message = g_string_free (g_steal_pointer (&text), FALSE);
        }
    }
  if (local_error != NULL)
    {
      g_prefix_error (&local_error, "CRIU's logs could not all be copied: ");
      molt_switch_warn (sw, "rollback", local_error);
    }
  if (json_array_get_length (kept) > 0)
    json_object_set_array_member (sw->report, "criu-logs", g_steal_pointer (&kept));
}

/* Any failure once the jobs are frozen: the least destructive way back
 * (rollback). A failed freeze changed nothing that stays. */
MoltSwitchResult
molt_switch_fail_and_roll_back (MoltSwitch *sw, GError *cause, GError **error)
{
  g_autoptr (GError) rb_error = NULL;
  g_autoptr (GError) owned_cause = cause;
  MoltSwitchStep failed = sw->step;
  const gchar *failed_step = molt_switch_step_to_string (failed);
  gboolean revert;
  MoltSwitchResult result;

  keep_logs (sw, cause);
  json_object_set_string_member (sw->report, "failed-step", failed_step);
  json_object_set_string_member (sw->report, "error", cause->message);
  molt_switch_progress (sw, "%s failed: %s", failed_step, cause->message);
  if (rollback (sw, 0, &rb_error))
    {
      const gchar *way
          = json_object_get_string_member_with_default (sw->report, "way-back", "thawed in place");
      g_autofree gchar *how = g_str_equal (way, "thawed in place")
                                  ? g_strdup ("Thawed in place")
                                  : g_strdup_printf ("Rolled back (%s)", way);

      result
          = failed > MOLT_SWITCH_STEP_FREEZE ? MOLT_SWITCH_ROLLED_BACK : MOLT_SWITCH_NOTHING_DONE;
      journal_outcome (sw, MOLT_JOURNAL_ROLLED_BACK);
      g_set_error (error, cause->domain, cause->code,
                   "switch failed at step '%s': %s. %s: every job runs on the old kernel, "
                   "checked after the thaw",
                   failed_step, cause->message, how);
    }
  else
    {
      revert = sw->snapshot != NULL && molt_snapshot_exists (sw->dom, sw->snapshot);
      result = MOLT_SWITCH_BROKEN;
      journal_outcome (sw, MOLT_JOURNAL_FAILED);
      json_object_set_string_member (sw->report, "rollback-error", rb_error->message);
      g_set_error (error, cause->domain, cause->code,
                   "switch failed at step '%s': %s. The rollback failed too: %s.%s%s%s 'molt "
                   "rollback %s' retries",
                   failed_step, cause->message, rb_error->message, revert ? " Snapshot " : "",
                   revert ? sw->snapshot : "", revert ? " is kept;" : "", sw->name);
    }
  return result;
}

/* --probe: a command in the guest (as a short job) that must exit 0. */
static gboolean
old_kernel_as_target (MoltSwitch *sw, MoltSwitchOptions *back, gchar **kernel, gchar **initrd,
                      gchar **append, GError **error)
{
  back->method = sw->method;
  if (sw->method == MOLT_SWITCH_METHOD_REBOOT)
    {
      if (sw->live_xml == NULL
          || !molt_domain_xml_get_kernel (sw->live_xml, kernel, initrd, append, error))
        {
          g_prefix_error (error, "the journal's definition from before the switch: ");
          return FALSE;
        }
      if (*kernel != NULL)
        return TRUE;
      /* Booted from its disks: a kexec of the guest's own image, then. */
      back->method = MOLT_SWITCH_METHOD_KEXEC;
    }
  if (sw->old_image == NULL)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "the guest found no image of the old kernel %s to load again (neither the "
                   "boot loader's BOOT_IMAGE nor /boot/vmlinuz-%s)",
                   sw->old_release != NULL ? sw->old_release : "?",
                   sw->old_release != NULL ? sw->old_release : "RELEASE");
      return FALSE;
    }
  *kernel = g_strdup (sw->old_image);
  *initrd = g_strdup (sw->old_initrd);
  *append = g_strdup (sw->old_append);
  return TRUE;
}

/* molt rollback over jobs that already ran on the new kernel: their images
 * are behind them, so the way back keeps their work by going through the
 * new kernel: the switch is verified and committed there, then a new
 * switch (checkpoint, kexec or restart, restore, verify) takes the jobs as
 * they are now back to the old kernel. If that one fails, its own rollback
 * leaves them running on the new kernel. */
static MoltSwitchResult
switch_back_by_new_switch (MoltSwitch *sw, GError *moved, GError **error)
{
  g_autoptr (GError) owned_moved = moved;
  g_autoptr (GError) back_error = NULL;
  g_autoptr (JsonObject) back_report = json_object_new ();
  g_autofree gchar *kernel = NULL, *initrd = NULL, *append = NULL, *uuid = NULL;
  MoltSwitchOptions back = *sw->o;
  MoltSwitchResult result;
  JsonArray *jobs;

  if (!old_kernel_as_target (sw, &back, &kernel, &initrd, &append, &back_error))
    {
      journal_outcome (sw, MOLT_JOURNAL_FAILED);
      json_object_set_string_member (sw->report, "result", "broken");
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_JOBS_MOVED,
                   "%s; and no new switch can take them back: %s", moved->message,
                   back_error->message);
      return MOLT_SWITCH_BROKEN;
    }
  molt_switch_progress (
      sw,
      "rollback: the jobs already run on the new kernel; verifying them there, then "
      "a new switch takes them back to the old kernel %s",
      kernel);
  result = molt_switch_finish (sw, error);
  if (result != MOLT_SWITCH_COMMITTED)
    return result;

  /* The new switch takes the domain's lock and journal itself. */
  uuid = g_strdup (sw->uuid);
  molt_switch_end_step (sw);
  molt_switch_clear (sw);
  back.domain = uuid;
  back.kernel = kernel;
  back.initrd = initrd;
  back.append = append;
  back.snapshot = MOLT_SWITCH_SNAPSHOT_NEVER;
  back.keep_snapshot = FALSE;
  back.dry_run = FALSE;
  back.probe = NULL;
  if (back.checkpoint_timeout_s == 0)
    back.checkpoint_timeout_s = MOLT_CHECKPOINT_WAIT_DEFAULT_S;
  result = molt_switch_run (&back, back_report, &back_error);
  json_object_set_object_member (sw->report, "switch-back", json_object_ref (back_report));
  jobs = json_object_has_member (back_report, "jobs")
             ? json_object_get_array_member (back_report, "jobs")
             : NULL;
  if (jobs != NULL)
    json_object_set_array_member (sw->report, "jobs", json_array_ref (jobs));
  if (result == MOLT_SWITCH_COMMITTED)
    {
      json_object_set_string_member (sw->report, "result", "rolled-back");
      json_object_set_string_member (sw->report, "way-back",
                                     "switched back to the old kernel by a new checkpoint");
      return MOLT_SWITCH_ROLLED_BACK;
    }
  json_object_set_string_member (sw->report, "result",
                                 result == MOLT_SWITCH_BROKEN ? "broken" : "committed");
  g_set_error (error, back_error->domain, back_error->code,
               "the jobs run on the new kernel (that switch is committed now), and the switch "
               "back to the old kernel failed: %s",
               back_error->message);
  return result == MOLT_SWITCH_BROKEN ? MOLT_SWITCH_BROKEN : MOLT_SWITCH_NOTHING_DONE;
}

/* Rollback from the journal (molt rollback, or a resume before the kernel
 * switch): the same least destructive way back as a failed switch. */
static MoltSwitchResult
rollback_from_journal (MoltSwitch *sw, GError **error)
{
  if (sw->snapshot != NULL && molt_snapshot_exists (sw->dom, sw->snapshot))
    json_object_set_string_member (sw->report, "snapshot", sw->snapshot);
  /* After a kexec the new kernel may still be booting: give it the boot
   * timeout to answer before taking it for hung. */
  g_autoptr (GError) local_error = NULL;

  if (!rollback (sw,
                 molt_switch_step_kernel_switched (sw->journaled_step) ? sw->o->boot_timeout_s : 0,
                 &local_error))
    {
      if (g_error_matches (local_error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_JOBS_MOVED))
        return sw->back_by_new_switch
                   ? switch_back_by_new_switch (sw, g_steal_pointer (&local_error), error)
                   : molt_switch_finish (sw, error);
      g_propagate_error (error, g_steal_pointer (&local_error));
      journal_outcome (sw, MOLT_JOURNAL_FAILED);
      json_object_set_string_member (sw->report, "result", "broken");
      return MOLT_SWITCH_BROKEN;
    }
  journal_outcome (sw, MOLT_JOURNAL_ROLLED_BACK);
  json_object_set_string_member (sw->report, "result", "rolled-back");
  return MOLT_SWITCH_ROLLED_BACK;
}

MoltSwitchResult
molt_switch_rollback (const MoltSwitchOptions *o, JsonObject *report, GError **error)
{
  g_auto (MoltSwitch) sw = { 0 };

  molt_switch_init (&sw, o, report);
  sw.back_by_new_switch = TRUE;
  if (!molt_switch_open (&sw, MOLT_LOCK_EXCLUSIVE, "rollback", error)
      || !molt_switch_load (&sw, "roll back", error))
    return MOLT_SWITCH_NOTHING_DONE;
  return rollback_from_journal (&sw, error);
}

MoltSwitchResult
molt_switch_resume (const MoltSwitchOptions *o, JsonObject *report, GError **error)
{
  g_auto (MoltSwitch) sw = { 0 };
  const gchar *step_name;
  MoltSwitchStep step;

  molt_switch_init (&sw, o, report);
  if (!molt_switch_open (&sw, MOLT_LOCK_EXCLUSIVE, "resume", error)
      || !molt_switch_load (&sw, "resume", error))
    return MOLT_SWITCH_NOTHING_DONE;
  step_name = molt_journal_get_last_step (sw.journal, NULL);
  step = molt_switch_step_from_string (step_name);
  json_object_set_string_member (report, "resumed-from", step_name != NULL ? step_name : "?");
  /* Before the kernel switch began, the safe way forward is back (which
   * goes forward after all if the jobs already ran on the new kernel). */
  if (!molt_switch_step_kernel_switched (step)
      || molt_journal_get_state (sw.journal) != MOLT_JOURNAL_IN_PROGRESS)
    return rollback_from_journal (&sw, error);
  if (sw.old_boot == NULL || sw.jobs_before == NULL)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "the journal %s lacks what a resume needs", molt_journal_get_path (sw.journal));
      return MOLT_SWITCH_NOTHING_DONE;
    }
  if (sw.snapshot != NULL)
    json_object_set_string_member (report, "snapshot", sw.snapshot);
  return molt_switch_finish (&sw, error);
}
