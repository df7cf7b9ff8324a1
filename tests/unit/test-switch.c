/* The switch workflow without a VM: libvirt's test driver for the domain
 * and its snapshots, a scripted guest (fake-guest.c) for the agent. Every
 * step's agent call x every kind of broken reply ends in a clear error, a
 * rollback where one is due, no crash, the job running and the journal
 * resolved; and the journal rules (refuse over an unresolved switch,
 * resume, rollback by the least destructive layer). */
#include <string.h>

#include "fake-guest.h"
#include "molt-domain-kernel.h"
#include "molt-domain-lock.h"
#include "molt-journal.h"
#include "molt-libvirt.h"
#include "molt-snapshot.h"
#include "molt-switch.h"
#include "molt-test.h"

#define URI "test:///default"

static gchar *state_dir;

/* One switch run: a fresh scripted guest, options, a report, no journal. */
typedef struct
{
  FakeGuest *guest;
  MoltSwitchOptions o;
  JsonObject *report;
  GError *error;
} Run;

static void
run_clear_state (void)
{
  g_autofree gchar *journal = g_build_filename (state_dir, "journal", NULL);
  g_autofree gchar *locks = g_build_filename (state_dir, "locks", NULL);
  g_autofree gchar *kernels = g_build_filename (state_dir, "kernels", NULL);
  const char *argv[] = { "rm", "-rf", "--", journal, locks, kernels, NULL };

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL,
                NULL);
}

static void
run_init (Run *r)
{
  run_clear_state ();
  r->guest = fake_guest_new ();
  r->o = (MoltSwitchOptions){
    .uri = URI,
    .method = MOLT_SWITCH_METHOD_KEXEC,
    .domain = "test",
    .kernel = "/boot/vmlinuz-new",
    .initrd = "/boot/initrd.img-new",
    .state_dir = state_dir,
    .agent_timeout_s = 1,
    .checkpoint_timeout_s = 1,
    .kexec_load_timeout_s = 1,
    .boot_timeout_s = 3,
    .probe_timeout_s = 2,
    .open_agent = fake_guest_connect,
    .open_agent_data = r->guest,
  };
  r->report = json_object_new ();
  r->error = NULL;
}

/* Ready for another call on the same guest and state. */
static void
run_next (Run *r)
{
  json_object_unref (r->report);
  r->report = json_object_new ();
  g_clear_error (&r->error);
}

static void
run_clear (Run *r)
{
  fake_guest_free (r->guest);
  json_object_unref (r->report);
  g_clear_error (&r->error);
}

static MoltJournalState
journal_state (void)
{
  g_autoptr (virConnect) conn = virConnectOpen (URI);
  g_autoptr (virDomain) dom = virDomainLookupByName (conn, "test");
  g_autofree gchar *uuid = molt_domain_uuid (dom, NULL);
  g_autoptr (MoltJournal) journal = molt_journal_new (state_dir, uuid, "test");

  return molt_journal_load (journal, NULL) ? molt_journal_get_state (journal) : MOLT_JOURNAL_NONE;
}

static void
test_commit (void)
{
  Run r;

  run_init (&r);
  CU_ASSERT_EQUAL (molt_switch_run (&r.o, r.report, &r.error), MOLT_SWITCH_COMMITTED);
  MOLT_ASSERT_NO_ERROR (r.error);
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (r.report, "new-kernel-release"),
                          "6.1.0-new");
  CU_ASSERT_EQUAL (json_array_get_length (json_object_get_array_member (r.report, "jobs")), 1);
  CU_ASSERT_EQUAL (journal_state (), MOLT_JOURNAL_COMMITTED);
  CU_ASSERT_EQUAL (fake_guest_calls (r.guest, "kexec"), 1);
  /* The jobs' images are dropped once committed. */
  CU_ASSERT_EQUAL (fake_guest_calls (r.guest, "images-drop"), 1);
  CU_ASSERT_EQUAL (json_object_get_int_member (r.report, "images-removed-bytes"), 4096);
  /* A domain without a direct-boot kernel boots by its own GRUB: the old
   * kernel was its next boot until the commit cleared it. */
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (r.report, "boot-once-entry"),
                          "advanced>linux-6.1.0-old");
  CU_ASSERT_EQUAL (fake_guest_calls (r.guest, "boot-once"), 2);
  CU_ASSERT_PTR_NULL (fake_guest_next_entry (r.guest));
  run_clear (&r);
}

/* A failed checkpoint's CRIU log is copied to the host before the rollback
 * erases it, and the message points at the copy; a job name that is not
 * plain does not become a host path. */
static void
test_logs_kept (void)
{
  Run r;
  g_autofree gchar *copy = NULL;
  g_autofree gchar *contents = NULL;
  JsonArray *logs;

  run_init (&r);
  fake_guest_set_fault (r.guest, "checkpoint", 1, FAKE_FAULT_ERROR);
  CU_ASSERT_EQUAL (molt_switch_run (&r.o, r.report, &r.error), MOLT_SWITCH_ROLLED_BACK);
  CU_ASSERT_PTR_NOT_NULL_FATAL (r.error);
  CU_ASSERT_PTR_NULL (strstr (r.error->message, "(log: /var/lib/molt/images/x/a/dump.log)"));
  MOLT_ASSERT_CONTAINS (r.error->message, "a-dump.log on the host)");
  logs = json_object_get_array_member (r.report, "criu-logs");
  CU_ASSERT_EQUAL_FATAL (json_array_get_length (logs), 1);
  copy = g_strdup (json_array_get_string_element (logs, 0));
  MOLT_ASSERT_CONTAINS (copy, state_dir);
  CU_ASSERT_TRUE (g_file_get_contents (copy, &contents, NULL, NULL));
  MOLT_ASSERT_CONTAINS (contents, "dump failed");
  run_clear (&r);
}

/* A checkpoint that fails leaves the old boot running with the jobs'
 * trees stopped in it: they are thawed where they are (their connections
 * untouched), the snapshot is not reverted but dropped. */
static void
test_checkpoint_failure_thaws_in_place (void)
{
  Run r;
  g_autoptr (virConnect) conn = NULL;
  g_autoptr (virDomain) dom = NULL;

  run_init (&r);
  fake_guest_set_fault (r.guest, "checkpoint", 1, FAKE_FAULT_ERROR);
  CU_ASSERT_EQUAL (molt_switch_run (&r.o, r.report, &r.error), MOLT_SWITCH_ROLLED_BACK);
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (r.report, "way-back"), "thawed in place");
  MOLT_ASSERT_CONTAINS (r.error->message, "Thawed in place");
  CU_ASSERT_STRING_EQUAL (fake_guest_job_state (r.guest), "running");
  conn = virConnectOpen (URI);
  dom = virDomainLookupByName (conn, "test");
  CU_ASSERT_EQUAL (virDomainSnapshotNum (dom, 0), 0);
  run_clear (&r);
}

static void
test_keep_images (void)
{
  Run r;

  run_init (&r);
  r.o.keep_images = TRUE;
  CU_ASSERT_EQUAL (molt_switch_run (&r.o, r.report, &r.error), MOLT_SWITCH_COMMITTED);
  CU_ASSERT_EQUAL (fake_guest_calls (r.guest, "images-drop"), 0);
  run_clear (&r);
}

/* Where each step talks to the agent: the Nth call of a command. */
typedef struct
{
  const gchar *step;
  const gchar *command;
  guint nth;
} AgentCall;

static const AgentCall calls[] = {
  { "preflight", "info", 1 },
  { "preflight", "switch-preflight", 1 },
  { "preflight", "job-list", 1 },
  { "prepare", "pre-dump", 1 },
  { "prepare", "kexec-load", 1 },
  { "freeze", "freeze", 1 },
  { "freeze", "job-list", 2 },
  { "checkpoint", "checkpoint", 1 },
  { "switch", "images-verify", 1 },
  { "switch", "kexec", 1 },
  { "restore", "info", 2 },
  { "verify", "job-list", 3 },
  { "commit", "images-drop", 1 },
  { "rollback", "images-logs", 1 },
  { "rollback", "info", 2 }, /* does the old boot run? */
  { "rollback", "thaw", 1 },
  { "rollback", "job-list", 3 }, /* after preflight's and freeze's */
};

static const gchar *
result_name (MoltSwitchResult result)
{
  switch (result)
    {
    case MOLT_SWITCH_COMMITTED:
      return "committed";
    case MOLT_SWITCH_ROLLED_BACK:
      return "rolled back";
    case MOLT_SWITCH_NOTHING_DONE:
      return "nothing done";
    case MOLT_SWITCH_BROKEN:
      return "broken";
    default:
      return "?";
    }
}

static void
run_fault (const AgentCall *call, FakeFault fault)
{
  Run r;
  MoltSwitchResult result;
  MoltJournalState state;

  run_init (&r);
  fake_guest_set_fault (r.guest, call->command, call->nth, fault);
  /* The rollback's calls only happen once something failed. */
  if (g_str_equal (call->step, "rollback"))
    fake_guest_set_fault (r.guest, "checkpoint", 1, FAKE_FAULT_ERROR);
  result = molt_switch_run (&r.o, r.report, &r.error);
  state = journal_state ();

  if (result == MOLT_SWITCH_COMMITTED)
    CU_ASSERT_PTR_NULL (r.error)
  else
    CU_ASSERT_PTR_NOT_NULL (r.error)
  /* Never left in progress: committed, rolled back, or failed and saying so. */
  CU_ASSERT_NOT_EQUAL (state, MOLT_JOURNAL_IN_PROGRESS);
  if (result == MOLT_SWITCH_BROKEN)
    {
      CU_ASSERT_EQUAL (state, MOLT_JOURNAL_FAILED);
      MOLT_ASSERT_CONTAINS (r.error->message, "rollback");
    }
  else
    /* Whatever happened, the job runs: on the new kernel or the old. */
    CU_ASSERT_STRING_EQUAL (fake_guest_job_state (r.guest), "running");
  if (result == MOLT_SWITCH_ROLLED_BACK)
    CU_ASSERT_EQUAL (state, MOLT_JOURNAL_ROLLED_BACK);
  g_printerr ("\n    %-10s %-16s #%u x %-16s -> %s%s%.160s", call->step, call->command, call->nth,
              fake_fault_to_string (fault), result_name (result), r.error != NULL ? ": " : "",
              r.error != NULL ? r.error->message : "");
  run_clear (&r);
}

static void
test_fault_matrix (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (calls); i++)
    for (FakeFault fault = FAKE_FAULT_ERROR; fault < FAKE_FAULT_LAST; fault++)
      run_fault (&calls[i], fault);
}

/* The crash this used to be: a probe job that failed, and a job-log reply
 * without its "tail". */
static void
test_failing_probe_rolls_back (void)
{
  Run r;

  run_init (&r);
  r.o.probe = "false";
  fake_guest_set_probe_status (r.guest, 256);
  CU_ASSERT_EQUAL (molt_switch_run (&r.o, r.report, &r.error), MOLT_SWITCH_ROLLED_BACK);
  CU_ASSERT_PTR_NOT_NULL_FATAL (r.error);
  MOLT_ASSERT_CONTAINS (r.error->message, "the probe 'false' failed (wait status 256)");
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (r.report, "failed-step"), "verify");
  CU_ASSERT_EQUAL (journal_state (), MOLT_JOURNAL_ROLLED_BACK);
  /* The job was held stopped on the new kernel for the probe: it never ran
   * there, so the guest switches back and restores it on the old one. */
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (r.report, "way-back"),
                          "switched back to the old kernel");
  CU_ASSERT_EQUAL (fake_guest_calls (r.guest, "restore-undo"), 1);
  CU_ASSERT_EQUAL (fake_guest_calls (r.guest, "kexec"), 2);
  CU_ASSERT_EQUAL (fake_guest_boot (r.guest), 3);
  CU_ASSERT_STRING_EQUAL (fake_guest_job_state (r.guest), "running");
  /* Rolled back: the images are dropped too. */
  CU_ASSERT_EQUAL (fake_guest_calls (r.guest, "images-drop"), 1);
  run_clear (&r);
}

/* Layer 2: the new kernel cannot restore the job; its images are intact,
 * so the guest kexecs the old kernel back, which restores it. */
/* The kexec happened but its reply was lost: the switch goes forward to
 * the new boot (which restored the jobs) instead of rolling back into
 * them; the warning says what was missing. */
static void
test_lost_kexec_reply_goes_forward (void)
{
  Run r;
  JsonArray *warnings;

  run_init (&r);
  fake_guest_set_fault (r.guest, "kexec", 1, FAKE_FAULT_TIMEOUT);
  CU_ASSERT_EQUAL (molt_switch_run (&r.o, r.report, &r.error), MOLT_SWITCH_COMMITTED);
  MOLT_ASSERT_NO_ERROR (r.error);
  CU_ASSERT_EQUAL (journal_state (), MOLT_JOURNAL_COMMITTED);
  CU_ASSERT_EQUAL (fake_guest_boot (r.guest), 2);
  CU_ASSERT_STRING_EQUAL (fake_guest_job_state (r.guest), "running");
  warnings = json_object_get_array_member (r.report, "warnings");
  CU_ASSERT_PTR_NOT_NULL_FATAL (warnings);
  MOLT_ASSERT_CONTAINS (json_array_get_string_element (warnings, 0),
                        "no reply to kexec, so the kernel may be switching; waiting for it: ");
  run_clear (&r);
}

static void
test_restore_failure_switches_back (void)
{
  Run r;

  run_init (&r);
  fake_guest_set_restore_fails (r.guest, TRUE);
  CU_ASSERT_EQUAL (molt_switch_run (&r.o, r.report, &r.error), MOLT_SWITCH_ROLLED_BACK);
  CU_ASSERT_PTR_NOT_NULL_FATAL (r.error);
  MOLT_ASSERT_CONTAINS (r.error->message, "did not come back (state restore-failed)");
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (r.report, "way-back"),
                          "switched back to the old kernel");
  CU_ASSERT_EQUAL (fake_guest_boot (r.guest), 3);
  CU_ASSERT_STRING_EQUAL (fake_guest_job_state (r.guest), "running");
  CU_ASSERT_EQUAL (journal_state (), MOLT_JOURNAL_ROLLED_BACK);
  /* Set before the kexec, cleared on the old kernel. */
  CU_ASSERT_EQUAL (fake_guest_calls (r.guest, "boot-once"), 2);
  CU_ASSERT_PTR_NULL (fake_guest_next_entry (r.guest));
  run_clear (&r);
}

/* Layer 2 whose kexec reply is lost (seen in CI on a loaded host): the
 * old kernel boots and restores the job; a restart now would kill it. */
static void
test_switch_back_with_lost_kexec_reply (void)
{
  Run r;

  run_init (&r);
  fake_guest_set_restore_fails (r.guest, TRUE);
  fake_guest_set_fault (r.guest, "kexec", 2, FAKE_FAULT_TIMEOUT);
  CU_ASSERT_EQUAL (molt_switch_run (&r.o, r.report, &r.error), MOLT_SWITCH_ROLLED_BACK);
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (r.report, "way-back"),
                          "switched back to the old kernel");
  CU_ASSERT_EQUAL (fake_guest_boot (r.guest), 3);
  CU_ASSERT_STRING_EQUAL (fake_guest_job_state (r.guest), "running");
  CU_ASSERT_EQUAL (journal_state (), MOLT_JOURNAL_ROLLED_BACK);
  run_clear (&r);
}

/* A switch whose probe fails after the job already ran on the new kernel
 * (no hold, as an older molt would): its rollback is refused. */
static void
run_broken_over_running_jobs (Run *r)
{
  run_init (r);
  r->o.probe = "false";
  fake_guest_set_probe_status (r->guest, 256);
  fake_guest_set_ignore_hold (r->guest, TRUE);
  CU_ASSERT_EQUAL (molt_switch_run (&r->o, r->report, &r->error), MOLT_SWITCH_BROKEN);
}

/* A job that already runs on the new kernel is not sent back to its
 * images (its work since the checkpoint would be lost): without a
 * snapshot, that is a broken switch, said as such. */
static void
test_no_switch_back_over_running_jobs (void)
{
  Run r;

  run_broken_over_running_jobs (&r);
  CU_ASSERT_PTR_NOT_NULL_FATAL (r.error);
  MOLT_ASSERT_CONTAINS (r.error->message, "switching back to their images would lose their work");
  /* And what to do instead. */
  MOLT_ASSERT_CONTAINS (r.error->message,
                        "'molt switch --resume test' verifies and keeps the new kernel; 'molt "
                        "rollback test' checkpoints them again and switches them back");
  CU_ASSERT_EQUAL (fake_guest_calls (r.guest, "kexec"), 1);
  CU_ASSERT_EQUAL (journal_state (), MOLT_JOURNAL_FAILED);
  run_clear (&r);
}

/* Over jobs that already ran on the new kernel, molt rollback goes back by
 * a new switch: checkpoint them as they are now, kexec the old kernel,
 * restore; both switches end committed in turn, nothing restored from the
 * stale images. */
static void
test_rollback_over_running_jobs_switches_back_anew (void)
{
  Run r;
  JsonObject *back;

  run_broken_over_running_jobs (&r);
  run_next (&r);
  r.o.probe = NULL;
  CU_ASSERT_EQUAL (molt_switch_rollback (&r.o, r.report, &r.error), MOLT_SWITCH_ROLLED_BACK);
  MOLT_ASSERT_NO_ERROR (r.error);
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (r.report, "result"), "rolled-back");
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (r.report, "way-back"),
                          "switched back to the old kernel by a new checkpoint");
  back = json_object_get_object_member (r.report, "switch-back");
  CU_ASSERT_PTR_NOT_NULL_FATAL (back);
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (back, "kernel"), "/boot/vmlinuz-old");
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (back, "new-kernel-release"), "6.1.0-old");
  /* The first switch's kexec, then the new one's; no restore-undo of the
   * running jobs. */
  CU_ASSERT_EQUAL (fake_guest_calls (r.guest, "kexec"), 2);
  CU_ASSERT_EQUAL (fake_guest_calls (r.guest, "restore-undo"), 0);
  CU_ASSERT_EQUAL (fake_guest_calls (r.guest, "checkpoint"), 2);
  CU_ASSERT_EQUAL (fake_guest_boot (r.guest), 3);
  CU_ASSERT_STRING_EQUAL (fake_guest_job_state (r.guest), "running");
  CU_ASSERT_EQUAL (journal_state (), MOLT_JOURNAL_COMMITTED);
  run_clear (&r);
}

/* After that refusal, a resume keeps the new kernel: it verifies and
 * commits, it does not roll back into the same refusal. */
static void
test_resume_over_running_jobs_goes_forward (void)
{
  Run r;

  run_broken_over_running_jobs (&r);
  run_next (&r);
  r.o.probe = NULL;
  CU_ASSERT_EQUAL (molt_switch_resume (&r.o, r.report, &r.error), MOLT_SWITCH_COMMITTED);
  MOLT_ASSERT_NO_ERROR (r.error);
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (r.report, "new-kernel-release"),
                          "6.1.0-new");
  CU_ASSERT_EQUAL (fake_guest_calls (r.guest, "kexec"), 1);
  CU_ASSERT_EQUAL (fake_guest_boot (r.guest), 2);
  CU_ASSERT_EQUAL (journal_state (), MOLT_JOURNAL_COMMITTED);
  run_clear (&r);
}

static void
test_refuses_over_unresolved_journal (void)
{
  Run r;

  run_init (&r);
  /* A switch whose checkpoint and then rollback failed. */
  fake_guest_set_fault (r.guest, "checkpoint", 1, FAKE_FAULT_TIMEOUT);
  fake_guest_set_fault (r.guest, "thaw", 1, FAKE_FAULT_ERROR);
  CU_ASSERT_EQUAL (molt_switch_run (&r.o, r.report, &r.error), MOLT_SWITCH_BROKEN);
  CU_ASSERT_EQUAL (journal_state (), MOLT_JOURNAL_FAILED);

  run_next (&r);
  CU_ASSERT_EQUAL (molt_switch_run (&r.o, r.report, &r.error), MOLT_SWITCH_NOTHING_DONE);
  CU_ASSERT_PTR_NOT_NULL_FATAL (r.error);
  MOLT_ASSERT_CONTAINS (r.error->message, "the last switch of test is unresolved (failed");
  MOLT_ASSERT_CONTAINS (r.error->message, "'molt rollback test'");
  CU_ASSERT_EQUAL (fake_guest_calls (r.guest, "freeze"), 1);

  /* molt rollback resolves it: the thaw works this time. */
  run_next (&r);
  CU_ASSERT_EQUAL (molt_switch_rollback (&r.o, r.report, &r.error), MOLT_SWITCH_ROLLED_BACK);
  MOLT_ASSERT_NO_ERROR (r.error);
  CU_ASSERT_EQUAL (journal_state (), MOLT_JOURNAL_ROLLED_BACK);
  CU_ASSERT_STRING_EQUAL (fake_guest_job_state (r.guest), "running");
  run_clear (&r);
}

/* A preflight that fails changes nothing: no journal, no freeze, no
 * snapshot; the message says why. */
static void
expect_preflight_refusal (Run *r, const char *needle)
{
  g_autoptr (virConnect) conn = virConnectOpen (URI);
  g_autoptr (virDomain) dom = virDomainLookupByName (conn, "test");

  CU_ASSERT_EQUAL (molt_switch_run (&r->o, r->report, &r->error), MOLT_SWITCH_NOTHING_DONE);
  CU_ASSERT_PTR_NOT_NULL_FATAL (r->error);
  MOLT_ASSERT_CONTAINS (r->error->message, needle);
  CU_ASSERT_EQUAL (journal_state (), MOLT_JOURNAL_NONE);
  CU_ASSERT_EQUAL (fake_guest_calls (r->guest, "freeze"), 0);
  CU_ASSERT_EQUAL (virDomainSnapshotNum (dom, 0), 0);
}

static void
test_preflight_refusals (void)
{
  Run r;

  run_init (&r);
  fake_guest_set_criu_broken (r.guest);
  expect_preflight_refusal (&r, "CRIU does not work in the guest (criu check failed: Error");
  run_clear (&r);

  /* An agent that refuses the preflight, as it does when kexec-tools is
   * missing (that check of its own is in test-dispatch). */
  run_init (&r);
  fake_guest_set_fault (r.guest, "switch-preflight", 1, FAKE_FAULT_ERROR);
  expect_preflight_refusal (&r, "preflight: injected failure of switch-preflight");
  run_clear (&r);

  /* A job CRIU is certain to refuse: named before anything is frozen. */
  run_init (&r);
  fake_guest_set_blocked (r.guest);
  expect_preflight_refusal (&r, "CRIU cannot checkpoint job a: pid 7 (a) has /dev/fuse open; "
                                "nothing was frozen");
  CU_ASSERT_STRING_EQUAL (fake_guest_job_state (r.guest), "running");
  run_clear (&r);
}

static void
test_busy_while_switching (void)
{
  Run r;
  g_autoptr (virConnect) conn = virConnectOpen (URI);
  g_autoptr (virDomain) dom = virDomainLookupByName (conn, "test");
  g_autoptr (MoltDomainLock) held = NULL;

  run_init (&r);
  held = molt_domain_lock_acquire (state_dir, dom, MOLT_LOCK_EXCLUSIVE, "switch", &r.error);
  MOLT_ASSERT_NO_ERROR (r.error);
  r.o.dry_run = TRUE;
  CU_ASSERT_EQUAL (molt_switch_run (&r.o, r.report, &r.error), MOLT_SWITCH_NOTHING_DONE);
  CU_ASSERT_PTR_NOT_NULL_FATAL (r.error);
  MOLT_ASSERT_CONTAINS (r.error->message, "busy: switch in progress");
  CU_ASSERT_EQUAL (fake_guest_calls (r.guest, "info"), 0);
  run_clear (&r);
}

static void
test_resume_before_kexec_rolls_back (void)
{
  Run r;
  g_autoptr (virConnect) conn = virConnectOpen (URI);
  g_autoptr (virDomain) dom = virDomainLookupByName (conn, "test");
  g_autofree gchar *uuid = molt_domain_uuid (dom, NULL);
  g_autoptr (MoltJournal) journal = NULL;
  g_autoptr (JsonArray) before = json_array_new ();
  g_autoptr (JsonObject) job = json_object_new ();

  run_init (&r);
  /* What a switch killed during its snapshot step leaves: jobs frozen, no
   * snapshot yet. */
  journal = molt_journal_new (state_dir, uuid, "test");
  json_object_set_string_member (job, "name", "a");
  json_object_set_string_member (job, "state", "frozen");
  json_object_set_int_member (job, "ns-pid", 1);
  json_array_add_object_element (before, g_steal_pointer (&job));
  molt_journal_set_string (journal, "snapshot", "molt-switch-never-taken");
  molt_journal_set_string (journal, "old-boot-id", "boot-1");
  molt_journal_set_array (journal, "jobs-before", before);
  molt_journal_set_state (journal, MOLT_JOURNAL_IN_PROGRESS, &r.error);
  molt_journal_begin_step (journal, "snapshot", &r.error);
  MOLT_ASSERT_NO_ERROR (r.error);

  CU_ASSERT_EQUAL (molt_switch_resume (&r.o, r.report, &r.error), MOLT_SWITCH_ROLLED_BACK);
  MOLT_ASSERT_NO_ERROR (r.error);
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (r.report, "way-back"), "thawed in place");
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (r.report, "resumed-from"), "snapshot");
  CU_ASSERT_EQUAL (fake_guest_calls (r.guest, "thaw"), 1);
  CU_ASSERT_EQUAL (fake_guest_calls (r.guest, "kexec"), 0);
  CU_ASSERT_EQUAL (journal_state (), MOLT_JOURNAL_ROLLED_BACK);
  run_clear (&r);
}

/* libvirt's message reaches molt's error whole: every libvirt call resets
 * the last error, so a name looked up while formatting once left a
 * dangling pointer (garbled text in a clean-clone run). */
static void
test_libvirt_error_kept (void)
{
  g_autoptr (virConnect) conn = virConnectOpen (URI);
  g_autoptr (virDomain) dom = virDomainLookupByName (conn, "test");
  g_autoptr (GError) error = NULL;

  CU_ASSERT_FALSE (molt_snapshot_revert (dom, "no-such-snapshot", &error));
  CU_ASSERT_PTR_NOT_NULL_FATAL (error);
  CU_ASSERT_TRUE (g_utf8_validate (error->message, -1, NULL));
  MOLT_ASSERT_CONTAINS (
      error->message,
      "domain 'test' has no snapshot 'no-such-snapshot': Domain snapshot not found");
  /* One prefix per layer: not repeated. */
  CU_ASSERT_PTR_NULL (strstr (strstr (error->message, "has no snapshot") + 1, "has no snapshot"));
}

/* --snapshot auto: a snapshot before the new kernel's first switch on the
 * domain, none before its second. (The test driver takes external
 * snapshots but cannot block-commit them away: a warning at commit.) */
static void
test_snapshot_auto (void)
{
  Run r;

  run_init (&r);
  r.o.snapshot = MOLT_SWITCH_SNAPSHOT_AUTO;
  CU_ASSERT_EQUAL (molt_switch_run (&r.o, r.report, &r.error), MOLT_SWITCH_COMMITTED);
  MOLT_ASSERT_NO_ERROR (r.error);
  MOLT_ASSERT_CONTAINS (json_object_get_string_member (r.report, "snapshot-auto"),
                        "taken: kernel 6.1.0-new has not committed a switch on this domain yet");
  CU_ASSERT_TRUE (json_object_has_member (r.report, "snapshot"));
  CU_ASSERT_EQUAL (journal_state (), MOLT_JOURNAL_COMMITTED);

  /* The same kernel again (the state directory is kept). */
  run_next (&r);
  fake_guest_free (r.guest);
  r.guest = fake_guest_new ();
  r.o.open_agent_data = r.guest;
  CU_ASSERT_EQUAL (molt_switch_run (&r.o, r.report, &r.error), MOLT_SWITCH_COMMITTED);
  MOLT_ASSERT_NO_ERROR (r.error);
  MOLT_ASSERT_CONTAINS (json_object_get_string_member (r.report, "snapshot-auto"),
                        "skipped: kernel 6.1.0-new already committed a switch on this domain");
  CU_ASSERT_FALSE (json_object_has_member (r.report, "snapshot"));
  CU_ASSERT_FALSE (json_object_has_member (r.report, "warnings"));
  run_clear (&r);
}

/* The old direct-boot kernel a reboot switch goes back to, read from the
 * journaled definition: only /domain/os's, entities decoded. */
static void
test_old_kernel_from_definition (void)
{
  g_autofree gchar *kernel = NULL, *initrd = NULL, *cmdline = NULL;
  g_autoptr (GError) error = NULL;
  const gchar *xml = "<domain type='kvm'><name>d</name><os><type>hvm</type>"
                     "<kernel>/var/lib/k/vmlinuz-&amp;6.1</kernel>"
                     "<initrd>/var/lib/k/initrd</initrd>"
                     "<cmdline>console=ttyS0 root=/dev/vda</cmdline></os>"
                     "<devices><kernel>not this</kernel></devices></domain>";

  CU_ASSERT_TRUE (molt_domain_xml_get_kernel (xml, &kernel, &initrd, &cmdline, &error));
  MOLT_ASSERT_NO_ERROR (error);
  CU_ASSERT_STRING_EQUAL (kernel, "/var/lib/k/vmlinuz-&6.1");
  CU_ASSERT_STRING_EQUAL (initrd, "/var/lib/k/initrd");
  CU_ASSERT_STRING_EQUAL (cmdline, "console=ttyS0 root=/dev/vda");
  g_clear_pointer (&kernel, g_free);
  g_clear_pointer (&initrd, g_free);
  g_clear_pointer (&cmdline, g_free);
  CU_ASSERT_TRUE (molt_domain_xml_get_kernel ("<domain><os><type>hvm</type></os></domain>", &kernel,
                                              &initrd, &cmdline, &error));
  CU_ASSERT_PTR_NULL (kernel);
  CU_ASSERT_FALSE (molt_domain_xml_get_kernel ("<domain><os>", &kernel, &initrd, &cmdline, &error));
  CU_ASSERT_PTR_NOT_NULL_FATAL (error);
  MOLT_ASSERT_CONTAINS (error->message, "cannot read the domain definition: ");
}

int
main (void)
{
  static const MoltTestCase cases[] = {
    { "a switch that commits", test_commit },
    { "libvirt's error kept whole", test_libvirt_error_kept },
    { "--keep-images keeps them", test_keep_images },
    { "a failed checkpoint thaws in place", test_checkpoint_failure_thaws_in_place },
    { "CRIU's logs outlive the rollback", test_logs_kept },
    { "every step x every broken reply", test_fault_matrix },
    { "a kexec whose reply was lost goes forward", test_lost_kexec_reply_goes_forward },
    { "a failing probe rolls back", test_failing_probe_rolls_back },
    { "a failed restore switches back", test_restore_failure_switches_back },
    { "a lost kexec reply in the switch back waits for the old kernel",
      test_switch_back_with_lost_kexec_reply },
    { "no switch back over jobs that ran", test_no_switch_back_over_running_jobs },
    { "rollback over jobs that ran: a new switch back",
      test_rollback_over_running_jobs_switches_back_anew },
    { "resume over jobs that ran goes forward", test_resume_over_running_jobs_goes_forward },
    { "the old direct-boot kernel from a definition", test_old_kernel_from_definition },
    { "--snapshot auto: before a kernel's first switch only", test_snapshot_auto },
    { "a failed preflight changes nothing", test_preflight_refusals },
    { "an unresolved switch blocks the next", test_refuses_over_unresolved_journal },
    { "busy while another switch runs", test_busy_while_switching },
    { "resume before the kexec rolls back in place", test_resume_before_kexec_rolls_back },
    { NULL, NULL },
  };
  int failures;

  state_dir = molt_test_tmpdir_new ("molt-switch");
  molt_libvirt_init ();
  failures = molt_test_run ("switch", cases);
  molt_test_tmpdir_remove (state_dir);
  return failures;
}
