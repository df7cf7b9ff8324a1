/* molt-test-tcp HOST PORT FILE PERIOD_MS [reconnect]: a job holding one TCP connection
 * to a peer (tests/testbed/tcp-peer), for the networking tests: "the same
 * connection, no byte lost, duplicated or reordered".
 * molt-test-tcp --listen PORT FILE PERIOD_MS: the same over the one
 * connection it accepts on PORT (a server: its listening socket stays open).
 * It accepts other clients only when it is continued (SIGCONT), as a busy
 * server would be late to: a client connecting meanwhile waits in the
 * accept queue, and molt's checkpoint, which continues a job with clients
 * waiting, is what lets it in. Such a client gets "pong " and the line it
 * sent, and the connection stays open.
 * molt-test-tcp --listen-only PORT: a listener that never accepts.
 *
 * Both ways carry a sequence, one number per line every PERIOD_MS. This
 * side sends 0, 1, 2...; for each number the peer sends, it checks it is
 * the next one (else it exits: a gap or a repeat) and appends
 * "N EPOCH_S TOKEN PID" to FILE (the format tests/testbed/jobs.sh checks).
 * TOKEN is random per start plus the socket's inode: a new connection or
 * a new start shows as a second token. EOF, a reset or any error ends the
 * job, unless "reconnect" is given (a job that expects its connections to
 * be closed under it, as --tcp close does): then it connects again and
 * both sequences start over, with a new token. FILE is opened for each
 * line, not held. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static void
die (const char *what)
{
  fprintf (stderr, "molt-test-tcp: %s: %s\n", what, strerror (errno));
  exit (1);
}

static long long
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int listener = -1;
static volatile sig_atomic_t continued;

static void
on_sigcont (int sig)
{
  (void) sig;
  continued = 1;
}

static void
listen_on (int port)
{
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons ((unsigned short) port) };
  int one = 1;

  listener = socket (AF_INET, SOCK_STREAM, 0);
  if (listener < 0 || setsockopt (listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0
      || bind (listener, (struct sockaddr *) &addr, sizeof addr) != 0 || listen (listener, 8) != 0)
    die ("listen");
}

/* Listens on PORT (all addresses) and accepts one connection. */
static int
accept_one (int port)
{
  int sock;

  listen_on (port);
  sock = accept (listener, NULL, NULL);
  if (sock < 0)
    die ("accept");
  /* The listener stays open: a server's, carried across the switch too;
   * from now on it is polled, not waited on. */
  if (fcntl (listener, F_SETFL, O_NONBLOCK) != 0)
    die ("fcntl");
  return sock;
}

/* After a SIGCONT: every waiting client gets "pong LINE" for the line it
 * sent, on a connection kept open (a closed one would be the kernel's, not
 * the job's, and lost with the old kernel). */
static void
answer_waiting (void)
{
  static int kept[16];
  static unsigned int nkept;
  int sock;

  while (nkept < sizeof kept / sizeof kept[0] && (sock = accept (listener, NULL, NULL)) >= 0)
    {
      struct timeval timeout = { .tv_sec = 5 };
      char buf[128] = "pong ";
      ssize_t n;

      setsockopt (sock, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
      n = read (sock, buf + 5, sizeof buf - 6);
      if (n > 0 && write (sock, buf, (size_t) n + 5) != n + 5)
        fprintf (stderr, "molt-test-tcp: cannot answer a waiting client: %s\n", strerror (errno));
      kept[nkept++] = sock;
    }
}

static int
connect_to (const char *host, int port)
{
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons ((unsigned short) port) };

  if (inet_pton (AF_INET, host, &addr.sin_addr) != 1)
    {
      fprintf (stderr, "molt-test-tcp: not an IPv4 address: %s\n", host);
      exit (1);
    }
  /* The network may still be coming up. */
  for (int attempt = 0; attempt < 100; attempt++)
    {
      int sock = socket (AF_INET, SOCK_STREAM, 0);
      if (sock < 0)
        die ("socket");
      if (connect (sock, (struct sockaddr *) &addr, sizeof addr) == 0)
        return sock;
      close (sock);
      usleep (100000);
    }
  die ("connect");
  return -1;
}

int
main (int argc, char **argv)
{
  char token[64], in[4096], line[32];
  size_t have = 0;
  unsigned long sent = 0, expected = 0;
  unsigned int seed = 0;
  struct stat st;
  long period_ms;
  long long next_send;
  int sock, listening;
  FILE *urandom;

  if (argc == 3 && strcmp (argv[1], "--listen-only") == 0)
    {
      listen_on (atoi (argv[2]));
      for (;;)
        pause ();
    }
  if (argc != 5 && !(argc == 6 && strcmp (argv[5], "reconnect") == 0))
    {
      fprintf (stderr, "usage: molt-test-tcp HOST PORT FILE PERIOD_MS [reconnect]\n"
                       "       molt-test-tcp --listen PORT FILE PERIOD_MS\n"
                       "       molt-test-tcp --listen-only PORT\n");
      return 64;
    }
  listening = strcmp (argv[1], "--listen") == 0;
  if (listening)
    {
      struct sigaction sa = { .sa_handler = on_sigcont, .sa_flags = SA_RESTART };
      sigaction (SIGCONT, &sa, NULL);
    }
  period_ms = atol (argv[4]);
  /* A write into a closed connection is an error to handle, not a death. */
  signal (SIGPIPE, SIG_IGN);
  urandom = fopen ("/dev/urandom", "r");
  if (urandom == NULL || fread (&seed, sizeof seed, 1, urandom) != 1)
    die ("setup");
  fclose (urandom);
again:
  sock = listening ? accept_one (atoi (argv[2])) : connect_to (argv[1], atoi (argv[2]));
  if (fstat (sock, &st) != 0)
    die ("fstat");
  snprintf (token, sizeof token, "%08x-tcp%lu", seed, (unsigned long) st.st_ino);
  have = 0;
  sent = expected = 0;
  next_send = now_ms ();
  for (;;)
    {
      struct pollfd p = { .fd = sock, .events = POLLIN };
      long long wait = next_send - now_ms ();
      int ready = poll (&p, 1, wait > 0 ? (int) wait : 0);

      if (ready < 0 && errno != EINTR)
        die ("poll");
      if (continued && listener >= 0)
        {
          continued = 0;
          answer_waiting ();
        }
      if (ready > 0)
        {
          ssize_t n = read (sock, in + have, sizeof in - have - 1);
          char *start = in, *nl;

          if (n <= 0 && argc == 6)
            {
              fprintf (stderr, "molt-test-tcp: connection lost (%s), connecting again\n",
                       n == 0 ? "closed" : strerror (errno));
              close (sock);
              goto again;
            }
          if (n == 0)
            {
              fprintf (stderr, "molt-test-tcp: the peer closed the connection\n");
              return 1;
            }
          if (n < 0)
            die ("read");
          have += (size_t) n;
          in[have] = '\0';
          while ((nl = strchr (start, '\n')) != NULL)
            {
              unsigned long got = strtoul (start, NULL, 10);
              FILE *out;

              if (got != expected)
                {
                  fprintf (stderr, "molt-test-tcp: expected %lu from the peer, got %lu\n", expected,
                           got);
                  return 1;
                }
              expected++;
              out = fopen (argv[3], "a");
              if (out == NULL)
                die (argv[3]);
              fprintf (out, "%lu %ld %s %d\n", got, (long) time (NULL), token, (int) getpid ());
              fclose (out);
              start = nl + 1;
            }
          have -= (size_t) (start - in);
          memmove (in, start, have);
          if (have >= sizeof in - 1)
            {
              fprintf (stderr, "molt-test-tcp: a line from the peer is too long\n");
              return 1;
            }
        }
      if (now_ms () >= next_send)
        {
          int len = snprintf (line, sizeof line, "%lu\n", sent);
          if (write (sock, line, (size_t) len) != len)
            {
              if (argc == 6)
                {
                  close (sock);
                  goto again;
                }
              die ("write");
            }
          sent++;
          next_send += period_ms;
        }
    }
}
