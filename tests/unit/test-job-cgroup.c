/* A job in a systemd unit's cgroup: job-start's cgroup and user, and
 * job-attach, through the agent's dispatch. The cgroup tree is a directory
 * here (cgroup.procs a plain file), so what the agent writes can be read
 * back: "0" from the job's first process before it execs, the PIDs of every
 * process of the tree on an attach. */
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "agent-call.h"
#include "molt-agent.h"
#include "molt-message.h"
#include "molt-test.h"

static gchar *tmp_dir;

static MoltAgent *
new_agent (const gchar *state_dir, const gchar *cgroup_root)
{
  g_autoptr (GError) error = NULL;
  MoltAgentConfig config
      = { .state_dir = (gchar *) state_dir, .cgroup_root = (gchar *) cgroup_root };
  MoltAgent *agent = molt_agent_new (&config, &error);

  MOLT_ASSERT_NO_ERROR (error);
  return agent;
}

static gchar *
make_group (const gchar *root, const gchar *name)
{
  g_autofree gchar *dir = g_build_filename (root, name, NULL);
  gchar *procs = g_build_filename (dir, "cgroup.procs", NULL);

  CU_ASSERT_EQUAL (g_mkdir_with_parents (dir, 0700), 0);
  CU_ASSERT_TRUE (g_file_set_contents (procs, "", 0, NULL));
  return procs;
}

static gchar *
wait_for_file (const gchar *path)
{
  gchar *contents = NULL;

  for (gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
       g_get_monotonic_time () < deadline; g_usleep (10000))
    {
      g_main_context_iteration (NULL, FALSE);
      if (g_file_get_contents (path, &contents, NULL, NULL) && contents[0] != '\0')
        return contents;
      g_clear_pointer (&contents, g_free);
    }
  return g_strdup ("");
}

static gboolean
has_line (const gchar *text, const gchar *line)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  return g_strv_contains ((const gchar *const *) lines, line);
}

static void
test_start_in_cgroup_and_attach (void)
{
  g_autofree gchar *state = g_build_filename (tmp_dir, "state", NULL);
  g_autofree gchar *root = g_build_filename (tmp_dir, "cgroup", NULL);
  g_autofree gchar *unit_procs = make_group (root, "system.slice/svc.service");
  g_autofree gchar *restore_procs = make_group (root, "system.slice/other.service");
  g_autofree gchar *id_file = g_build_filename (tmp_dir, "id", NULL);
  g_autofree gchar *start = NULL;
  g_autofree gchar *joined = NULL;
  g_autofree gchar *ids = NULL;
  g_autofree gchar *moved = NULL;
  g_autofree gchar *pid_line = NULL;
  g_autoptr (MoltAgent) agent = NULL;
  g_autoptr (MoltReply) started = NULL;
  g_autoptr (MoltReply) attached = NULL;
  g_autoptr (MoltReply) stopped = NULL;
  JsonObject *job;
  gint64 pid;

  if (geteuid () != 0)
    CU_FAIL_FATAL ("not root: run the unit tests as root (scripts/check does)");
  agent = new_agent (state, root);
  /* Writable for the job's user. */
  CU_ASSERT_EQUAL (g_chmod (tmp_dir, 0711), 0);
  CU_ASSERT_TRUE (g_file_set_contents (id_file, "", 0, NULL));
  CU_ASSERT_EQUAL (g_chmod (id_file, 0666), 0);

  /* Two processes, as the user nobody. */
  start = g_strdup_printf (
      "{\"execute\":\"job-start\",\"arguments\":{\"name\":\"svc\",\"user\":\"nobody\","
      "\"cgroup\":\"/system.slice/svc.service\",\"argv\":[\"sh\",\"-c\","
      "\"sleep 600 & id -u >%s; wait\"],\"cwd\":\"/\"}}",
      id_file);
  started = agent_call (agent, start);
  CU_ASSERT_FALSE_FATAL (molt_reply_is_error (started));
  job = json_node_get_object (started->ret);
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member_with_default (job, "user", ""), "nobody");
  pid = json_object_get_int_member (job, "pid");

  /* The first process joined the unit's group before it ran anything. */
  joined = wait_for_file (unit_procs);
  CU_ASSERT_STRING_EQUAL (joined, "0\n");
  ids = wait_for_file (id_file);
  CU_ASSERT_STRING_EQUAL (g_strstrip (ids), "65534");

  /* Attach moves every process of the tree, the job's init first. */
  for (gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
       g_get_monotonic_time () < deadline; g_usleep (10000))
    {
      g_autofree gchar *children_path
          = g_strdup_printf ("/proc/%d/task/%d/children", (gint) pid, (gint) pid);
      g_autofree gchar *children = NULL;
      if (g_file_get_contents (children_path, &children, NULL, NULL) && children[0] != '\0')
        break;
    }
  attached = agent_call (agent, "{\"execute\":\"job-attach\",\"arguments\":{\"name\":\"svc\","
                                "\"cgroup\":\"/system.slice/other.service\"}}");
  CU_ASSERT_FALSE_FATAL (molt_reply_is_error (attached));
  g_file_get_contents (restore_procs, &moved, NULL, NULL);
  pid_line = g_strdup_printf ("%d", (gint) pid);
  CU_ASSERT_TRUE (g_str_has_prefix (moved, pid_line));
  CU_ASSERT_TRUE (has_line (moved, pid_line));
  /* The job's init (unshare's child) and sh's sleep, at least. */
  {
    g_auto (GStrv) lines = g_strsplit (g_strstrip (moved), "\n", -1);
    CU_ASSERT_TRUE (g_strv_length (lines) >= 2);
  }

  /* Bad input: a path out of the tree, a group that does not exist, a user
   * the guest lacks, a job that is not there or not running. */
  agent_expect_error (agent,
                      "{\"execute\":\"job-attach\",\"arguments\":{\"name\":\"svc\","
                      "\"cgroup\":\"/system.slice/../../etc\"}}",
                      "InvalidParameter", "argument 'cgroup' must be a cgroup path");
  agent_expect_error (agent,
                      "{\"execute\":\"job-attach\",\"arguments\":{\"name\":\"svc\","
                      "\"cgroup\":\"/system.slice/gone.service\"}}",
                      "GenericError", "cannot join cgroup /system.slice/gone.service (");
  agent_expect_error (agent,
                      "{\"execute\":\"job-attach\",\"arguments\":{\"name\":\"svc\","
                      "\"cgroup\":\"/system.slice/gone.service\"}}",
                      "GenericError", "cgroup.procs): No such file or directory");
  agent_expect_error (agent,
                      "{\"execute\":\"job-attach\",\"arguments\":{\"name\":\"nope\","
                      "\"cgroup\":\"/system.slice/svc.service\"}}",
                      "NotFound", "no job named 'nope'");
  agent_expect_error (
      agent,
      "{\"execute\":\"job-start\",\"arguments\":{\"name\":\"u\",\"user\":\"no-such-user\","
      "\"argv\":[\"true\"]}}",
      "InvalidParameter", "no user 'no-such-user' in the guest");
  agent_expect_error (
      agent,
      "{\"execute\":\"job-start\",\"arguments\":{\"name\":\"c\",\"cgroup\":\"relative\","
      "\"argv\":[\"true\"]}}",
      "InvalidParameter", "argument 'cgroup' must be a cgroup path");

  stopped = agent_call (agent,
                        "{\"execute\":\"job-stop\",\"arguments\":{\"name\":\"svc\",\"grace\":0}}");
  CU_ASSERT_FALSE (molt_reply_is_error (stopped));
  for (gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
       g_get_monotonic_time () < deadline; g_usleep (10000))
    {
      g_autoptr (MoltReply) list = NULL;
      g_main_context_iteration (NULL, FALSE);
      list = agent_call (agent, "{\"execute\":\"job-list\"}");
      if (g_str_equal (
              json_object_get_string_member (
                  json_array_get_object_element (json_node_get_array (list->ret), 0), "state"),
              "exited"))
        break;
    }
  agent_expect_error (agent,
                      "{\"execute\":\"job-attach\",\"arguments\":{\"name\":\"svc\","
                      "\"cgroup\":\"/system.slice/svc.service\"}}",
                      "InvalidParameter", "job 'svc' is exited, not running");
  for (int i = 0; i < 50; i++)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (10000);
    }
}

int
main (void)
{
  const MoltTestCase cases[] = {
    { "start in a cgroup as a user, attach", test_start_in_cgroup_and_attach },
    { NULL, NULL },
  };
  int failures;

  tmp_dir = molt_test_tmpdir_new ("molt-test-job-cgroup");
  failures = molt_test_run ("job-cgroup", cases);
  molt_test_tmpdir_remove (tmp_dir);
  return failures;
}
