/* The preflight's inspection of a job's process tree: what CRIU is certain
 * to refuse is found in a real process (a child of this test, or its
 * child), and what CRIU dumps is not flagged. */
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "molt-dump-inspect.h"
#include "molt-test.h"

static gchar *dir;

/* Starts the holder (MOLT_TEST_HOLDER) in MODE and returns its PID once
 * it is set up. */
static GPid
spawn_holder (const gchar *mode, gboolean deep)
{
  g_autofree gchar *path = g_build_filename (dir, "held", NULL);
  const gchar *argv[] = { g_getenv ("MOLT_TEST_HOLDER"), mode, path, deep ? "deep" : NULL, NULL };
  g_autoptr (GError) error = NULL;
  GPid pid;
  gint out;
  char byte;

  CU_ASSERT_PTR_NOT_NULL_FATAL (argv[0]);
  g_spawn_async_with_pipes (NULL, (gchar **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                            &pid, NULL, &out, NULL, &error);
  MOLT_ASSERT_NO_ERROR (error);
  CU_ASSERT_EQUAL_FATAL (read (out, &byte, 1), 1);
  close (out);
  return pid;
}

/* The reasons found in a holder in MODE, joined by " | "; *root_out (may
 * be NULL) is the holder's PID. */
static gchar *
inspect_root (const gchar *mode, gboolean deep, GPid *root_out)
{
  GPid pid = spawn_holder (mode, deep);
  g_autoptr (GPtrArray) reasons = NULL;
  g_autoptr (GString) text = g_string_new (NULL);

  reasons = molt_dump_inspect_tree (pid, MOLT_CRIU_GHOST_LIMIT, NULL);
  for (guint i = 0; i < reasons->len; i++)
    g_string_append_printf (text, "%s%s", i > 0 ? " | " : "", (gchar *) reasons->pdata[i]);
  kill (pid, SIGKILL);
  waitpid (pid, NULL, 0);
  if (root_out != NULL)
    *root_out = pid;
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static gchar *
inspect (const gchar *mode, gboolean deep)
{
  return inspect_root (mode, deep, NULL);
}

static void
test_deleted_file_over_ghost_limit (void)
{
  g_autofree gchar *held = g_build_filename (dir, "held", NULL);
  g_autofree gchar *found = inspect ("deleted-big", FALSE);

  MOLT_ASSERT_CONTAINS (found, held);
  MOLT_ASSERT_CONTAINS (found, "open (fd ");
  MOLT_ASSERT_CONTAINS (found, "2.0 MiB, deleted since");
  MOLT_ASSERT_CONTAINS (found, "at most 1.0 MiB");
}

static void
test_deleted_file_within_ghost_limit (void)
{
  g_autofree gchar *found = inspect ("deleted-small", FALSE);

  CU_ASSERT_STRING_EQUAL (found, "");
}

static void
test_deleted_mapping_over_ghost_limit (void)
{
  g_autofree gchar *found = inspect ("mapped-deleted-big", FALSE);

  MOLT_ASSERT_CONTAINS (found, "maps ");
  MOLT_ASSERT_CONTAINS (found, "2.0 MiB, deleted since");
}

static void
test_memfd_and_shared_memory_pass (void)
{
  g_autofree gchar *found = inspect ("memfd-and-shared", FALSE);

  CU_ASSERT_STRING_EQUAL (found, "");
}

static void
test_unsupported_anon_inode (void)
{
  g_autofree gchar *found = inspect ("pidfd", FALSE);

  MOLT_ASSERT_CONTAINS (found, "anonymous [pidfd] file open");
}

static void
test_unsupported_device (void)
{
  g_autofree gchar *found = inspect ("fuse", FALSE);

  MOLT_ASSERT_CONTAINS (found, "the device /dev/fuse (10:229) open");
}

static void
test_dumpable_files_pass (void)
{
  g_autofree gchar *found = inspect ("dumpable", FALSE);

  CU_ASSERT_STRING_EQUAL (found, "");
}

static void
test_unknown_socket_family (void)
{
  g_autofree gchar *found = inspect ("vsock", FALSE);

  MOLT_ASSERT_CONTAINS (found, "holds a socket of kind AF_VSOCK (fd ");
  MOLT_ASSERT_CONTAINS (found, "CRIU checkpoints only unix, TCP, UDP, raw, packet and netlink");
}

static void
test_netlink_unread (void)
{
  g_autofree gchar *found = inspect ("netlink-unread", FALSE);

  MOLT_ASSERT_CONTAINS (found, " bytes unread on a netlink socket (fd ");
  MOLT_ASSERT_CONTAINS (found, "the job must read it first");
}

/* A unix stream connection from the job to a process outside it (this
 * test): named with the process holding the other end. (Before the accept
 * the kernel reports no peer: such a client is not flagged.) */
static void
test_unix_connection_outside (void)
{
  g_autofree gchar *path = g_build_filename (dir, "held", NULL);
  g_autoptr (GPtrArray) reasons = NULL;
  g_autofree gchar *me = g_strdup_printf ("held by pid %d (", getpid ());
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int listener = socket (AF_UNIX, SOCK_STREAM, 0), accepted;
  GPid pid;

  g_strlcpy (addr.sun_path, path, sizeof addr.sun_path);
  unlink (path);
  CU_ASSERT_EQUAL_FATAL (bind (listener, (struct sockaddr *) &addr, sizeof addr), 0);
  CU_ASSERT_EQUAL_FATAL (listen (listener, 1), 0);
  pid = spawn_holder ("unix-connect", FALSE);
  accepted = accept (listener, NULL, NULL);
  CU_ASSERT_FATAL (accepted >= 0);
  reasons = molt_dump_inspect_tree (pid, MOLT_CRIU_GHOST_LIMIT, NULL);
  CU_ASSERT_EQUAL_FATAL (reasons->len, 1);
  MOLT_ASSERT_CONTAINS ((gchar *) reasons->pdata[0], "has a unix stream connection (fd ");
  MOLT_ASSERT_CONTAINS ((gchar *) reasons->pdata[0], "whose other end is outside the job, ");
  MOLT_ASSERT_CONTAINS ((gchar *) reasons->pdata[0], me);
  MOLT_ASSERT_CONTAINS ((gchar *) reasons->pdata[0], "run both ends in one job");
  kill (pid, SIGKILL);
  waitpid (pid, NULL, 0);
  close (accepted);
  close (listener);
  unlink (path);
}

/* Netlink read to the end, UDP, TCP, a unix pair, packet and raw: CRIU
 * dumps them all (checked on the test guest). */
static void
test_dumpable_sockets_pass (void)
{
  g_autofree gchar *found = inspect ("sockets-dumpable", FALSE);

  CU_ASSERT_STRING_EQUAL (found, "");
}

/* The holder is a grandchild of the job's root: the tree is walked, and
 * the reason names the process that holds the file. */
static void
test_found_deep_in_the_tree (void)
{
  g_autofree gchar *found = inspect ("deleted-big", TRUE);

  g_autofree gchar *root = g_strdup_printf ("pid %d ", 0);

  MOLT_ASSERT_CONTAINS (found, "deleted since");
  CU_ASSERT (g_str_has_prefix (found, "pid "));
}

/* COMMAND... run under unshare -p -f: the reasons found in that tree once
 * the namespace's init runs the last word of COMMAND. */
static gchar *
inspect_in_pid_namespace (const gchar *const *command)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GPtrArray) reasons = NULL;
  g_autoptr (GString) text = g_string_new (NULL);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *children_path = NULL;
  gint init_pid = 0;
  GPid pid;

  g_ptr_array_add (argv, "unshare");
  g_ptr_array_add (argv, "-p");
  g_ptr_array_add (argv, "-f");
  for (guint i = 0; command[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) command[i]);
  g_ptr_array_add (argv, NULL);
  g_spawn_async (NULL, (gchar **) argv->pdata, NULL,
                 G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_SEARCH_PATH, NULL, NULL, &pid, &error);
  MOLT_ASSERT_NO_ERROR (error);
  children_path = g_strdup_printf ("/proc/%d/task/%d/children", pid, pid);
  for (gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
       g_get_monotonic_time () < deadline; g_usleep (10000))
    {
      g_autofree gchar *children = NULL;
      g_autofree gchar *comm_path = NULL;
      g_autofree gchar *comm = NULL;

      if (!g_file_get_contents (children_path, &children, NULL, NULL) || children[0] == '\0')
        continue;
      init_pid = (gint) g_ascii_strtoll (children, NULL, 10);
      comm_path = g_strdup_printf ("/proc/%d/comm", init_pid);
      if (g_file_get_contents (comm_path, &comm, NULL, NULL) && g_str_has_prefix (comm, "sleep"))
        break;
    }
  reasons = molt_dump_inspect_tree (pid, MOLT_CRIU_GHOST_LIMIT, NULL);
  for (guint i = 0; i < reasons->len; i++)
    g_string_append_printf (text, "%s%s", i > 0 ? " | " : "", (gchar *) reasons->pdata[i]);
  /* The namespace's init first: it outlives unshare. */
  if (init_pid > 0)
    kill (init_pid, SIGKILL);
  kill (pid, SIGKILL);
  waitpid (pid, NULL, 0);
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/* CRIU cannot dump a process without CAP_SYS_ADMIN whose /proc is not its
 * PID namespace's (a job started with --user): found before the freeze. */
static void
test_unprivileged_in_own_pid_namespace (void)
{
  static const gchar *const as_nobody[]
      = { "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sleep", "60", NULL };
  static const gchar *const as_root[] = { "sleep", "60", NULL };
  g_autofree gchar *nobody = NULL;
  g_autofree gchar *root = NULL;

  if (geteuid () != 0)
    CU_FAIL_FATAL ("not root: run the unit tests as root (scripts/check does)");
  nobody = inspect_in_pid_namespace (as_nobody);
  MOLT_ASSERT_CONTAINS (nobody, "(sleep) runs without CAP_SYS_ADMIN (uid 65534) in the job's own "
                                "PID namespace: CRIU cannot dump it there");
  MOLT_ASSERT_CONTAINS (nobody, "start the job as root (no --user)");
  root = inspect_in_pid_namespace (as_root);
  CU_ASSERT_STRING_EQUAL (root, "");
}

int
main (void)
{
  static const MoltTestCase cases[] = {
    { "a deleted file over CRIU's ghost limit", test_deleted_file_over_ghost_limit },
    { "a deleted file within the ghost limit passes", test_deleted_file_within_ghost_limit },
    { "a mapped deleted file over the ghost limit", test_deleted_mapping_over_ghost_limit },
    { "memfd and shared anonymous memory pass", test_memfd_and_shared_memory_pass },
    { "an anonymous inode CRIU cannot dump (pidfd)", test_unsupported_anon_inode },
    { "a device CRIU cannot dump (/dev/fuse)", test_unsupported_device },
    { "files, devices and pipes CRIU dumps pass", test_dumpable_files_pass },
    { "a socket family CRIU does not know (AF_VSOCK)", test_unknown_socket_family },
    { "a netlink socket with data unread", test_netlink_unread },
    { "sockets CRIU dumps pass", test_dumpable_sockets_pass },
    { "a unix stream connection to a process outside the job", test_unix_connection_outside },
    { "found in a grandchild of the root", test_found_deep_in_the_tree },
    { "an unprivileged process in the job's own PID namespace",
      test_unprivileged_in_own_pid_namespace },
    { NULL, NULL },
  };
  int ret;

  dir = molt_test_tmpdir_new ("dump-inspect");
  ret = molt_test_run ("dump-inspect", cases);
  molt_test_tmpdir_remove (dir);
  return ret;
}
