/* A stopped job with a client waiting in its accept queue: the census
 * counts it, the drain lets the job run until it has accepted it and stops
 * it again, and a job that never accepts fails the drain saying what to
 * do. Real processes, real sockets on loopback. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "molt-accept-drain.h"
#include "molt-protocol-error.h"
#include "molt-socket-census.h"
#include "molt-test.h"

/* A child listening on a loopback port (sent through the pipe) that
 * accepts in a loop, or never. */
static pid_t
start_listener (gboolean accepts, int *port)
{
  int ready[2];
  pid_t pid;

  CU_ASSERT_EQUAL_FATAL (pipe (ready), 0);
  pid = fork ();
  CU_ASSERT_FATAL (pid >= 0);
  if (pid == 0)
    {
      /* Dies with the test, even one ended by a failed assertion, and
       * holds none of its output open. */
      prctl (PR_SET_PDEATHSIG, SIGKILL);
      dup2 (open ("/dev/null", O_WRONLY), STDOUT_FILENO);
      dup2 (STDOUT_FILENO, STDERR_FILENO);
      struct sockaddr_in addr
          = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
      socklen_t len = sizeof addr;
      int listener = socket (AF_INET, SOCK_STREAM, 0);

      if (listener < 0 || bind (listener, (struct sockaddr *) &addr, sizeof addr) != 0
          || listen (listener, 8) != 0
          || getsockname (listener, (struct sockaddr *) &addr, &len) != 0)
        _exit (1);
      *port = ntohs (addr.sin_port);
      if (write (ready[1], port, sizeof *port) != sizeof *port)
        _exit (1);
      for (;;)
        if (!accepts)
          pause ();
        else if (accept (listener, NULL, NULL) < 0)
          _exit (1);
    }
  close (ready[1]);
  CU_ASSERT_EQUAL_FATAL (read (ready[0], port, sizeof *port), (ssize_t) sizeof *port);
  close (ready[0]);
  return pid;
}

static int
connect_to (int port)
{
  struct sockaddr_in addr = { .sin_family = AF_INET,
                              .sin_addr.s_addr = htonl (INADDR_LOOPBACK),
                              .sin_port = htons (port) };
  int sock = socket (AF_INET, SOCK_STREAM, 0);

  CU_ASSERT_EQUAL_FATAL (connect (sock, (struct sockaddr *) &addr, sizeof addr), 0);
  return sock;
}

static void
stop_child (pid_t pid)
{
  kill (pid, SIGKILL);
  waitpid (pid, NULL, 0);
}

/* Whether the child is stopped (state T in /proc/PID/stat). */
static gboolean
is_stopped (pid_t pid)
{
  g_autofree gchar *path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree gchar *stat = NULL;
  const gchar *end;

  if (!g_file_get_contents (path, &stat, NULL, NULL) || (end = strrchr (stat, ')')) == NULL)
    return FALSE;
  return end[1] == ' ' && end[2] == 'T';
}

static void
wait_stopped (pid_t pid)
{
  for (int i = 0; i < 200 && !is_stopped (pid); i++)
    g_usleep (10000);
  CU_ASSERT_FATAL (is_stopped (pid));
}

static void
test_accepted_then_stopped (void)
{
  int port, client;
  pid_t pid = start_listener (TRUE, &port);
  guint accepted = 99;
  g_autoptr (GError) error = NULL;

  kill (pid, SIGSTOP);
  wait_stopped (pid);
  client = connect_to (port);
  CU_ASSERT_EQUAL (molt_accept_queued (pid), 1);
  CU_ASSERT_TRUE (molt_accept_drain (pid, &accepted, &error));
  MOLT_ASSERT_NO_ERROR (error);
  CU_ASSERT_EQUAL (accepted, 1);
  CU_ASSERT_EQUAL (molt_accept_queued (pid), 0);
  /* Stopped again, for the dump. */
  wait_stopped (pid);
  close (client);
  stop_child (pid);
}

static void
test_nothing_waits (void)
{
  int port;
  pid_t pid = start_listener (TRUE, &port);
  guint accepted = 99;
  g_autoptr (GError) error = NULL;

  kill (pid, SIGSTOP);
  wait_stopped (pid);
  CU_ASSERT_EQUAL (molt_accept_queued (pid), 0);
  CU_ASSERT_TRUE (molt_accept_drain (pid, &accepted, &error));
  CU_ASSERT_EQUAL (accepted, 0);
  CU_ASSERT_TRUE (is_stopped (pid));
  stop_child (pid);
}

static void
test_never_accepts (void)
{
  int port, client;
  pid_t pid = start_listener (FALSE, &port);
  guint accepted = 99;
  g_autoptr (GError) error = NULL;

  kill (pid, SIGSTOP);
  wait_stopped (pid);
  client = connect_to (port);
  CU_ASSERT_FALSE (molt_accept_drain (pid, &accepted, &error));
  MOLT_ASSERT_ERROR (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC);
  MOLT_ASSERT_CONTAINS (error->message,
                        "1 connection waits in its listening sockets' accept queues");
  MOLT_ASSERT_CONTAINS (error->message, "switch with --tcp close");
  CU_ASSERT_EQUAL (accepted, 0);
  /* Still waiting, and the job stopped as it was. */
  CU_ASSERT_EQUAL (molt_accept_queued (pid), 1);
  wait_stopped (pid);
  close (client);
  stop_child (pid);
}

int
main (void)
{
  static const MoltTestCase cases[] = {
    { "a waiting client accepted, the job stopped again", test_accepted_then_stopped },
    { "nothing waits: the job is not continued", test_nothing_waits },
    { "a job that never accepts: refused, saying what to do", test_never_accepts },
    { NULL, NULL },
  };

  return molt_test_run ("accept-drain", cases);
}
