/* molt-test-tcp HOST PORT FILE PERIOD_MS [reconnect]: a job holding one TCP connection
 * molt-test-tcp --listen PORT FILE PERIOD_MS: the same over the one
 * connection it accepts on PORT (a server: its listening socket stays open)
 * to a peer (tests/testbed/tcp-peer), for the networking tests: "the same
 * connection, no byte lost, duplicated or reordered".
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
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

/* Listens on PORT (all addresses) and accepts one connection. */
static int
accept_one (int port)
{
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons ((unsigned short) port) };
  int one = 1, sock, listener = socket (AF_INET, SOCK_STREAM, 0);

  if (listener < 0 || setsockopt (listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0
      || bind (listener, (struct sockaddr *) &addr, sizeof addr) != 0 || listen (listener, 8) != 0)
    die ("listen");
  sock = accept (listener, NULL, NULL);
  if (sock < 0)
    die ("accept");
  /* The listener stays open: a server's, carried across the switch too. */
  return sock;
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

  if (argc != 5 && !(argc == 6 && strcmp (argv[5], "reconnect") == 0))
    {
      fprintf (stderr, "usage: molt-test-tcp HOST PORT FILE PERIOD_MS [reconnect]\n"
                       "       molt-test-tcp --listen PORT FILE PERIOD_MS\n");
      return 64;
    }
  listening = strcmp (argv[1], "--listen") == 0;
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
