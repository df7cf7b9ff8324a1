/* A live driver-set reload's last rollback layer (molt-switch-modules-
 * fallback.h) without a VM: libvirt's test driver, a scripted guest. The
 * running kernel booted again with the disk's initramfs; then every old
 * module must run its old build, else exit 5 saying which; a failure of
 * that switch itself is said after the first cause. */
#include "fake-guest.h"
#include "molt-libvirt.h"
#include "molt-switch-modules-fallback.h"
#include "molt-test.h"

#define CAUSE "reload: cannot load molt_x.ko: Input/output error; the rollback was incomplete"

static gchar *state_dir;

typedef struct
{
  FakeGuest *guest;
  MoltSwitchOptions o;
  JsonObject *before;
  JsonObject *report;
  GError *error;
} Run;

static void
run_init (Run *r, const char *modules_load)
{
  g_autofree gchar *journal = g_build_filename (state_dir, "journal", NULL);
  const char *argv[] = { "rm", "-rf", "--", journal, NULL };
  JsonObject *x = json_object_new ();

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL,
                NULL);
  r->guest = fake_guest_new ();
  if (modules_load != NULL)
    fake_guest_set_modules_load (r->guest, modules_load);
  r->o = (MoltSwitchOptions){
    .uri = "test:///default",
    .domain = "test",
    .state_dir = state_dir,
    .agent_timeout_s = 1,
    .checkpoint_timeout_s = 1,
    .kexec_load_timeout_s = 1,
    .boot_timeout_s = 3,
    .probe = "false",
    .probe_timeout_s = 2,
    .open_agent = fake_guest_connect,
    .open_agent_data = r->guest,
  };
  r->before = json_object_new ();
  json_object_set_string_member (x, "name", "molt_x");
  json_object_set_boolean_member (x, "loaded", TRUE);
  json_object_set_string_member (x, "loaded-srcversion", "AAAA");
  json_object_set_object_member (r->before, "molt_x", x);
  r->report = json_object_new ();
  r->error = NULL;
}

static MoltSwitchResult
run (Run *r)
{
  static const gchar *const loaded[] = { "molt_x", NULL };

  /* "old": the fake guest's running kernel is /boot/vmlinuz-old. */
  return molt_switch_modules_fall_back (&r->o, "old", loaded, r->before, CAUSE, r->report,
                                        &r->error);
}

static void
run_clear (Run *r)
{
  fake_guest_free (r->guest);
  json_object_unref (r->before);
  json_object_unref (r->report);
  g_clear_error (&r->error);
}

static void
test_old_modules_back (void)
{
  Run r;

  run_init (&r, "{\"modules\":[{\"name\":\"molt_x\",\"new-srcversion\":\"AAAA\","
                "\"how\":\"loaded after the boot\"}]}");
  CU_ASSERT_EQUAL (run (&r), MOLT_SWITCH_ROLLED_BACK);
  CU_ASSERT_PTR_NOT_NULL_FATAL (r.error);
  CU_ASSERT_TRUE (g_str_has_prefix (r.error->message, CAUSE "; rolled back by a kexec of the "
                                                            "running kernel (old)"));
  MOLT_ASSERT_CONTAINS (r.error->message, "the old modules are loaded again");
  CU_ASSERT_EQUAL (fake_guest_calls (r.guest, "kexec"), 1);
  CU_ASSERT_EQUAL (fake_guest_calls (r.guest, "modules-load"), 1);
  /* The user's probe tests the new modules, which are gone. */
  CU_ASSERT_EQUAL (fake_guest_calls (r.guest, "job-start"), 0);
  CU_ASSERT_STRING_EQUAL (fake_guest_job_state (r.guest), "running");
  CU_ASSERT_TRUE (json_object_has_member (r.report, "modules"));
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (r.report, "result"), "committed");
  run_clear (&r);
}

/* Each way an old module is not back: named after the cause, exit 5, the
 * job running on the fresh boot all the same. */
static void
test_old_module_still_missing (void)
{
  static const char *const cases[][2] = {
    { "{\"modules\":[{\"name\":\"molt_x\",\"error\":\"modprobe molt_x failed: could not insert "
      "'molt_x': Input/output error\"}]}",
      "an old module is still not back; modprobe molt_x failed: could not insert 'molt_x': "
      "Input/output error" },
    { "{\"modules\":[{\"name\":\"molt_x\",\"new-srcversion\":\"BBBB\",\"how\":\"at boot\"}]}",
      "molt_x runs srcversion BBBB, not the old AAAA" },
    { "[1,2]", "the old modules were not loaded: " },
    { "{\"modules\":[{\"name\":7}]}", "modules-load" },
    { NULL, "the old modules were not loaded: " },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      Run r;

      run_init (&r, cases[i][0]);
      CU_ASSERT_EQUAL (run (&r), MOLT_SWITCH_BROKEN);
      CU_ASSERT_PTR_NOT_NULL_FATAL (r.error);
      CU_ASSERT_TRUE (g_str_has_prefix (r.error->message, CAUSE "; after a kexec"));
      MOLT_ASSERT_CONTAINS (r.error->message, cases[i][1]);
      CU_ASSERT_STRING_EQUAL (fake_guest_job_state (r.guest), "running");
      run_clear (&r);
    }
}

/* The kexec itself failing (here its checkpoint): the kernel switch's own
 * rollback thaws the job in place, and the error says both. */
static void
test_kexec_fails_too (void)
{
  Run r;

  run_init (&r, "{\"modules\":[]}");
  fake_guest_set_fault (r.guest, "checkpoint", 1, FAKE_FAULT_ERROR);
  CU_ASSERT_EQUAL (run (&r), MOLT_SWITCH_BROKEN);
  CU_ASSERT_PTR_NOT_NULL_FATAL (r.error);
  CU_ASSERT_TRUE (g_str_has_prefix (r.error->message, CAUSE "; the kexec of the running kernel "
                                                            "with the disk's initramfs that was "
                                                            "to bring the old modules back "
                                                            "failed too: "));
  MOLT_ASSERT_CONTAINS (r.error->message, "checkpoint");
  CU_ASSERT_EQUAL (fake_guest_calls (r.guest, "kexec"), 0);
  CU_ASSERT_EQUAL (fake_guest_calls (r.guest, "modules-load"), 0);
  CU_ASSERT_STRING_EQUAL (fake_guest_job_state (r.guest), "running");
  run_clear (&r);
}

int
main (void)
{
  static const MoltTestCase cases[] = {
    { "the old modules back after the kexec", test_old_modules_back },
    { "an old module still missing is exit 5, named", test_old_module_still_missing },
    { "the kexec failing too is said after the cause", test_kexec_fails_too },
    { NULL, NULL },
  };
  int failures;

  state_dir = molt_test_tmpdir_new ("molt-fallback");
  molt_libvirt_init ();
  failures = molt_test_run ("switch-modules-fallback", cases);
  molt_test_tmpdir_remove (state_dir);
  return failures;
}
