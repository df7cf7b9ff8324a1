/* Unix stream connections between two jobs: two real processes (the
 * "jobs") hold the ends of a connection with bytes queued both ways; the
 * agent's collect copies each queue without taking it, the images keep it,
 * and the restore's new pair gives each end its queue back, then the
 * other's end of the file. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>

#include "molt-dump-inspect.h"
#include "molt-test.h"
#include "molt-unix-link-pairs.h"
#include "molt-unix-links.h"

#define TO_A "queued for a: 0123456789"
#define TO_B "queued for b"

static gchar *dir;

typedef struct
{
  GPid pid;
  gint go;     /* a byte here: the job reads what waits and reports it */
  gint report; /* what it read, then end-of-file */
} Job;

/* A job holding SOCK: on the go byte it reads its socket until it would
 * block or ends, writes what it read to the report pipe, and exits. */
static Job
start_job (gint sock, gint other)
{
  gint go[2], report[2];
  Job job;

  CU_ASSERT_EQUAL_FATAL (pipe (go), 0);
  CU_ASSERT_EQUAL_FATAL (pipe (report), 0);
  job.pid = fork ();
  CU_ASSERT_NOT_EQUAL_FATAL (job.pid, -1);
  if (job.pid == 0)
    {
      gchar buf[256], byte;
      ssize_t n;

      close (other);
      close (go[1]);
      close (report[0]);
      /* Ready: it holds its end only. */
      if (write (report[1], "r", 1) != 1 || read (go[0], &byte, 1) != 1)
        _exit (1);
      fcntl (sock, F_SETFL, O_NONBLOCK);
      while ((n = read (sock, buf, sizeof buf)) > 0)
        if (write (report[1], buf, n) != n)
          _exit (1);
      /* End-of-file read: say so, for the shutdown check. */
      if (n == 0 && write (report[1], "<eof>", 5) != 5)
        _exit (1);
      _exit (0);
    }
  close (go[0]);
  close (report[1]);
  {
    gchar ready;
    CU_ASSERT_EQUAL_FATAL (read (report[0], &ready, 1), 1);
  }
  job.go = go[1];
  job.report = report[0];
  return job;
}

static gchar *
job_reads (Job *job)
{
  g_autoptr (GString) got = g_string_new (NULL);
  gchar buf[256];
  ssize_t n;

  CU_ASSERT_EQUAL (write (job->go, "g", 1), 1);
  while ((n = read (job->report, buf, sizeof buf)) > 0)
    g_string_append_len (got, buf, n);
  waitpid (job->pid, NULL, 0);
  close (job->go);
  close (job->report);
  return g_string_free (g_steal_pointer (&got), FALSE);
}

static void
job_end (Job *job)
{
  kill (job->pid, SIGKILL);
  waitpid (job->pid, NULL, 0);
  close (job->go);
  close (job->report);
}

static guint32
inode_of (gint fd)
{
  g_autofree gchar *path = g_strdup_printf ("/proc/self/fd/%d", fd);
  g_autofree gchar *target = g_file_read_link (path, NULL);

  return target != NULL ? (guint32) g_ascii_strtoull (target + strlen ("socket:["), NULL, 10) : 0;
}

/* Jobs a and b over one stream pair, TO_A waiting for a, TO_B for b, and
 * b's writing shut down (a reads end-of-file after its queue). */
static void
start_pair (Job *a, Job *b, guint32 *inode_a, guint32 *inode_b)
{
  gint sv[2];

  CU_ASSERT_EQUAL_FATAL (socketpair (AF_UNIX, SOCK_STREAM, 0, sv), 0);
  CU_ASSERT_EQUAL (write (sv[1], TO_A, strlen (TO_A)), (ssize_t) strlen (TO_A));
  CU_ASSERT_EQUAL (write (sv[0], TO_B, strlen (TO_B)), (ssize_t) strlen (TO_B));
  CU_ASSERT_EQUAL (shutdown (sv[1], SHUT_WR), 0);
  *inode_a = inode_of (sv[0]);
  *inode_b = inode_of (sv[1]);
  *a = start_job (sv[0], sv[1]);
  *b = start_job (sv[1], sv[0]);
  close (sv[0]);
  close (sv[1]);
}

static GHashTable *
collect (const Job *a, const Job *b, GError **error)
{
  const gchar *names[] = { "a", "b" };
  gint pids[] = { a->pid, b->pid };

  return molt_unix_links_collect (names, pids, 2, error);
}

static void
test_collect_peeks_both_queues (void)
{
  Job a, b;
  guint32 inode_a, inode_b;
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) links = NULL;
  g_autofree gchar *read_a = NULL, *read_b = NULL;
  GPtrArray *ends;
  MoltUnixLinkEnd *end;

  start_pair (&a, &b, &inode_a, &inode_b);
  links = collect (&a, &b, &error);
  MOLT_ASSERT_NO_ERROR (error);
  ends = g_hash_table_lookup (links, "a");
  CU_ASSERT_EQUAL_FATAL (ends->len, 1);
  end = g_ptr_array_index (ends, 0);
  CU_ASSERT_EQUAL (end->inode, inode_a);
  CU_ASSERT_EQUAL (end->peer, inode_b);
  CU_ASSERT_STRING_EQUAL (end->peer_job, "b");
  CU_ASSERT_EQUAL (g_bytes_get_size (end->queued), strlen (TO_A));
  CU_ASSERT_EQUAL (memcmp (g_bytes_get_data (end->queued, NULL), TO_A, strlen (TO_A)), 0);
  /* a's receiving side was shut down by b's SHUT_WR. */
  CU_ASSERT_EQUAL (end->shutdown, 1);
  ends = g_hash_table_lookup (links, "b");
  CU_ASSERT_EQUAL_FATAL (ends->len, 1);
  end = g_ptr_array_index (ends, 0);
  CU_ASSERT_EQUAL (g_bytes_get_size (end->queued), strlen (TO_B));
  CU_ASSERT_EQUAL (end->shutdown, 2);
  /* A peek: the jobs (thawed in place after a failed switch) read it all. */
  read_a = job_reads (&a);
  read_b = job_reads (&b);
  CU_ASSERT_STRING_EQUAL (read_a, TO_A "<eof>");
  /* (a has exited by then: its end closed) */
  CU_ASSERT_STRING_EQUAL (read_b, TO_B "<eof>");
}

/* The images' copy, then the restore's pair: each job's new end has its
 * queue back, then end-of-file for a, and the two ends are connected. */
static void
test_saved_and_connected_again (void)
{
  Job a, b;
  guint32 inode_a, inode_b;
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) links = NULL;
  g_autoptr (MoltUnixLinkPairs) pairs = molt_unix_link_pairs_new ();
  g_autofree gchar *dir_a = g_build_filename (dir, "a", NULL);
  g_autofree gchar *dir_b = g_build_filename (dir, "b", NULL);
  g_autoptr (GPtrArray) loaded_a = NULL, loaded_b = NULL;
  g_autoptr (GArray) fds_a = NULL, fds_b = NULL;
  g_autofree gchar *failed = NULL;
  gchar buf[128] = "";
  gint fd_a, fd_b;

  start_pair (&a, &b, &inode_a, &inode_b);
  links = collect (&a, &b, &error);
  MOLT_ASSERT_NO_ERROR (error);
  g_free (job_reads (&a));
  g_free (job_reads (&b));
  CU_ASSERT_TRUE (molt_unix_links_save (g_hash_table_lookup (links, "a"), dir_a, &error));
  CU_ASSERT_TRUE (molt_unix_links_save (g_hash_table_lookup (links, "b"), dir_b, &error));
  MOLT_ASSERT_NO_ERROR (error);
  loaded_a = molt_unix_links_load (dir_a, &error);
  loaded_b = molt_unix_links_load (dir_b, &error);
  MOLT_ASSERT_NO_ERROR (error);
  CU_ASSERT_EQUAL_FATAL (loaded_a->len, 1);
  CU_ASSERT_EQUAL (((MoltUnixLinkEnd *) loaded_a->pdata[0])->inode, inode_a);
  molt_unix_link_pairs_add (pairs, "a", loaded_a);
  molt_unix_link_pairs_add (pairs, "b", loaded_b);
  CU_ASSERT_TRUE_FATAL (molt_unix_link_pairs_connect (pairs, &failed, &error));
  MOLT_ASSERT_NO_ERROR (error);
  fds_a = molt_unix_link_pairs_take_fds (pairs, "a");
  fds_b = molt_unix_link_pairs_take_fds (pairs, "b");
  CU_ASSERT_EQUAL_FATAL (fds_a->len, 2);
  CU_ASSERT_EQUAL ((guint32) g_array_index (fds_a, gint, 1), inode_a);
  CU_ASSERT_EQUAL ((guint32) g_array_index (fds_b, gint, 1), inode_b);
  fd_a = g_array_index (fds_a, gint, 0);
  fd_b = g_array_index (fds_b, gint, 0);
  /* Inheritable: CRIU, libcriu's child, must get them. */
  CU_ASSERT_EQUAL (fcntl (fd_a, F_GETFD) & FD_CLOEXEC, 0);
  CU_ASSERT_EQUAL (recv (fd_a, buf, sizeof buf, MSG_DONTWAIT), (ssize_t) strlen (TO_A));
  CU_ASSERT_EQUAL (memcmp (buf, TO_A, strlen (TO_A)), 0);
  CU_ASSERT_EQUAL (recv (fd_a, buf, sizeof buf, MSG_DONTWAIT), 0);
  CU_ASSERT_EQUAL (recv (fd_b, buf, sizeof buf, MSG_DONTWAIT), (ssize_t) strlen (TO_B));
  CU_ASSERT_EQUAL (memcmp (buf, TO_B, strlen (TO_B)), 0);
  /* a still writes to b. */
  CU_ASSERT_EQUAL (send (fd_a, "x", 1, 0), 1);
  CU_ASSERT_EQUAL (recv (fd_b, buf, sizeof buf, MSG_DONTWAIT), 1);
  molt_unix_link_pairs_release (pairs, "a");
  CU_ASSERT_EQUAL (fcntl (fd_a, F_GETFD), -1);
}

/* One end's job is not restored with it: the restore says which. */
static void
test_other_end_missing (void)
{
  g_autoptr (MoltUnixLinkPairs) pairs = molt_unix_link_pairs_new ();
  g_autoptr (GPtrArray) ends
      = g_ptr_array_new_with_free_func ((GDestroyNotify) molt_unix_link_end_free);
  MoltUnixLinkEnd *end = g_new0 (MoltUnixLinkEnd, 1);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *failed = NULL;

  end->inode = 10;
  end->peer = 11;
  end->peer_job = g_strdup ("b");
  end->queued = g_bytes_new (NULL, 0);
  g_ptr_array_add (ends, end);
  molt_unix_link_pairs_add (pairs, "a", ends);
  CU_ASSERT_FALSE (molt_unix_link_pairs_connect (pairs, &failed, &error));
  CU_ASSERT_STRING_EQUAL (failed, "a");
  CU_ASSERT_PTR_NOT_NULL_FATAL (error);
  MOLT_ASSERT_CONTAINS (error->message, "socket:[10] has its other end (socket:[11]) in job b");
}

static void
test_damaged_file_refused (void)
{
  static const gchar *const damaged[] = {
    "not json",
    "{\"inode\": 1}",
    "[{\"inode\": -1, \"peer\": 2, \"peer-job\": \"b\", \"shutdown\": 0, \"queued\": \"\"}]",
    "[{\"inode\": 1, \"peer\": 2, \"peer-job\": 3, \"shutdown\": 0, \"queued\": \"\"}]",
    "[{\"inode\": 1, \"peer\": 2, \"peer-job\": \"b\", \"shutdown\": 9, \"queued\": \"\"}]",
    "[{\"inode\": 1, \"peer\": 2, \"peer-job\": \"b\", \"shutdown\": 0}]",
    NULL,
  };
  g_autofree gchar *sub = g_build_filename (dir, "damaged", NULL);
  g_autofree gchar *path = g_build_filename (sub, "unix-links.json", NULL);

  g_mkdir_with_parents (sub, 0700);
  for (guint i = 0; damaged[i] != NULL; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GPtrArray) ends = NULL;

      g_file_set_contents (path, damaged[i], -1, NULL);
      ends = molt_unix_links_load (sub, &error);
      CU_ASSERT_PTR_NULL (ends);
      CU_ASSERT_PTR_NOT_NULL_FATAL (error);
      MOLT_ASSERT_CONTAINS (error->message, path);
    }
}

/* Descriptors in flight cannot cross jobs: refused, and the peeked ones
 * closed here at once. */
static void
test_fds_in_flight_refused (void)
{
  gint sv[2], passed = open ("/dev/null", O_RDONLY);
  gchar byte = 'f';
  union
  {
    struct cmsghdr align;
    gchar space[CMSG_SPACE (sizeof (gint))];
  } control;
  struct iovec iov = { &byte, 1 };
  struct msghdr msg = {
    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof control
  };
  struct cmsghdr *c;
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) links = NULL;
  Job a, b;

  CU_ASSERT_EQUAL_FATAL (socketpair (AF_UNIX, SOCK_STREAM, 0, sv), 0);
  memset (&control, 0, sizeof control);
  c = CMSG_FIRSTHDR (&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN (sizeof (gint));
  memcpy (CMSG_DATA (c), &passed, sizeof passed);
  CU_ASSERT_EQUAL (sendmsg (sv[1], &msg, 0), 1);
  close (passed);
  a = start_job (sv[0], sv[1]);
  b = start_job (sv[1], sv[0]);
  close (sv[0]);
  close (sv[1]);
  links = collect (&a, &b, &error);
  CU_ASSERT_PTR_NULL (links);
  CU_ASSERT_PTR_NOT_NULL_FATAL (error);
  MOLT_ASSERT_CONTAINS (error->message, "job a: the unix connection at fd ");
  MOLT_ASSERT_CONTAINS (error->message, "file descriptors are in flight on it");
  job_end (&a);
  job_end (&b);
}

/* The preflight lets a stream connection to another job through and
 * still names one to a process in no job. */
static void
test_preflight_knows_the_other_job (void)
{
  Job a, b;
  guint32 inode_a, inode_b;
  g_autoptr (GHashTable) others = g_hash_table_new (g_direct_hash, g_direct_equal);
  g_autoptr (GPtrArray) with_job = NULL, without = NULL;

  start_pair (&a, &b, &inode_a, &inode_b);
  g_hash_table_insert (others, GUINT_TO_POINTER (inode_b), (gpointer) "b");
  with_job = molt_dump_inspect_tree (a.pid, MOLT_CRIU_GHOST_LIMIT, others);
  without = molt_dump_inspect_tree (a.pid, MOLT_CRIU_GHOST_LIMIT, NULL);
  CU_ASSERT_EQUAL (with_job->len, 0);
  CU_ASSERT_EQUAL_FATAL (without->len, 1);
  MOLT_ASSERT_CONTAINS ((gchar *) without->pdata[0], "which is in no job");
  g_free (job_reads (&a));
  g_free (job_reads (&b));
}

/* valgrind (3.19, Debian 12's) does not know pidfd_open/pidfd_getfd,
 * which the collect needs: under it, those cases run in a copy of this
 * binary outside valgrind (it does not follow children), the others in it. */
static gboolean
pidfd_works (void)
{
  gint fd = (gint) syscall (SYS_pidfd_open, getpid (), 0);

  if (fd < 0)
    return FALSE;
  close (fd);
  return TRUE;
}

static int
run_pidfd_cases_natively (const gchar *self)
{
  const gchar *argv[] = { self, "--pidfd-cases", NULL };
  g_autoptr (GError) error = NULL;
  gint status = 0;

  g_printerr ("pidfd_open is not available here (valgrind?): the cases that need it run in %s, "
              "outside valgrind\n",
              self);
  if (!g_spawn_sync (NULL, (gchar **) argv, NULL, G_SPAWN_CHILD_INHERITS_STDIN, NULL, NULL, NULL,
                     NULL, &status, &error))
    {
      g_printerr ("cannot run %s: %s\n", self, error->message);
      return 1;
    }
  return g_spawn_check_wait_status (status, NULL) ? 0 : 1;
}

int
main (int argc, char **argv)
{
  static const MoltTestCase pidfd_cases[] = {
    { "both queues copied, not taken", test_collect_peeks_both_queues },
    { "saved, loaded and connected again with the queues", test_saved_and_connected_again },
    { "descriptors in flight refused", test_fds_in_flight_refused },
    { NULL, NULL },
  };
  static const MoltTestCase cases[] = {
    { "the other end not restored", test_other_end_missing },
    { "a damaged links file refused", test_damaged_file_refused },
    { "the preflight knows the other job", test_preflight_knows_the_other_job },
    { NULL, NULL },
  };
  gboolean pidfd_only = argc > 1 && g_str_equal (argv[1], "--pidfd-cases");
  int ret;

  signal (SIGPIPE, SIG_IGN);
  dir = molt_test_tmpdir_new ("unix-links");
  if (pidfd_works ())
    ret = molt_test_run ("unix-links (pidfd)", pidfd_cases);
  else if (pidfd_only)
    {
      g_printerr ("pidfd_open: %s (the agent needs Linux 5.6 or later for this)\n",
                  g_strerror (errno));
      ret = 1;
    }
  else
    ret = run_pidfd_cases_natively (argv[0]);
  if (!pidfd_only)
    ret |= molt_test_run ("unix-links", cases);
  molt_test_tmpdir_remove (dir);
  return ret;
}
