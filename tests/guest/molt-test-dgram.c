/* molt-test-dgram HOST PORT FILE PERIOD_MS: a job holding the socket kinds
 * a service uses besides TCP, for the networking tests: "each is still the
 * same socket, and still carries data, after the switch".
 *
 * Two processes. Every PERIOD_MS the parent sends N over a unix datagram
 * socket pair; the child checks it is the next one (else it exits) and
 * sends it back over a unix stream connection it made to the parent's
 * listening socket in the abstract namespace ("@molt-test-dgram-PID");
 * the parent checks that too and appends "N EPOCH TOKEN PID" to FILE (the
 * format tests/testbed/jobs.sh checks). The parent also sends N to a UDP
 * peer on HOST:PORT over a bound, connected UDP socket and counts the
 * echoes it gets back (UDP may drop what the switch's downtime meets: the
 * count is reported, not checked) into FILE.udp as "SENT ECHOED". TOKEN is
 * random per start plus the inodes of the parent's three sockets. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static void
die (const char *what)
{
  fprintf (stderr, "molt-test-dgram: %s: %s\n", what, strerror (errno));
  exit (1);
}

static unsigned long
inode_of (int fd)
{
  struct stat st;
  return fstat (fd, &st) == 0 ? (unsigned long) st.st_ino : 0;
}

static socklen_t
abstract_address (struct sockaddr_un *addr, int pid)
{
  memset (addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  /* sun_path[0] = '\0': the abstract namespace. */
  snprintf (addr->sun_path + 1, sizeof addr->sun_path - 1, "molt-test-dgram-%d", pid);
  return (socklen_t) (offsetof (struct sockaddr_un, sun_path) + 1 + strlen (addr->sun_path + 1));
}

static void
child (int dgram, int parent_pid)
{
  struct sockaddr_un addr;
  socklen_t len = abstract_address (&addr, parent_pid);
  unsigned long expected = 0;
  char buf[32];
  int stream = socket (AF_UNIX, SOCK_STREAM, 0);

  if (stream < 0)
    die ("socket");
  while (connect (stream, (struct sockaddr *) &addr, len) != 0)
    usleep (10000);
  for (;;)
    {
      ssize_t n = recv (dgram, buf, sizeof buf - 1, 0);
      if (n <= 0)
        die ("recv (datagram)");
      buf[n] = '\0';
      if (strtoul (buf, NULL, 10) != expected)
        {
          fprintf (stderr, "molt-test-dgram: datagram %s, expected %lu\n", buf, expected);
          exit (1);
        }
      expected++;
      if (write (stream, buf, (size_t) n) != n || write (stream, "\n", 1) != 1)
        die ("write (abstract stream)");
    }
}

int
main (int argc, char **argv)
{
  struct sockaddr_in peer = { .sin_family = AF_INET };
  struct sockaddr_un addr;
  struct timespec period;
  unsigned long n = 0, echoed = 0;
  unsigned int seed = 0;
  char token[128], line[64], in[256];
  size_t have = 0;
  int pair[2], listener, stream, udp, pid = getpid ();
  FILE *urandom;

  if (argc != 5)
    {
      fprintf (stderr, "usage: molt-test-dgram HOST PORT FILE PERIOD_MS\n");
      return 64;
    }
  period.tv_sec = atol (argv[4]) / 1000;
  period.tv_nsec = (atol (argv[4]) % 1000) * 1000000L;
  peer.sin_port = htons ((unsigned short) atoi (argv[2]));
  if (inet_pton (AF_INET, argv[1], &peer.sin_addr) != 1)
    {
      fprintf (stderr, "molt-test-dgram: not an IPv4 address: %s\n", argv[1]);
      return 1;
    }
  if (socketpair (AF_UNIX, SOCK_DGRAM, 0, pair) != 0)
    die ("socketpair");
  listener = socket (AF_UNIX, SOCK_STREAM, 0);
  if (listener < 0 || bind (listener, (struct sockaddr *) &addr, abstract_address (&addr, pid)) != 0
      || listen (listener, 1) != 0)
    die ("listen (abstract)");
  if (fork () == 0)
    {
      close (pair[0]);
      child (pair[1], pid);
    }
  close (pair[1]);
  stream = accept (listener, NULL, NULL);
  udp = socket (AF_INET, SOCK_DGRAM, 0);
  if (stream < 0 || udp < 0 || connect (udp, (struct sockaddr *) &peer, sizeof peer) != 0)
    die ("setup");
  fcntl (udp, F_SETFL, O_NONBLOCK);
  urandom = fopen ("/dev/urandom", "r");
  if (urandom == NULL || fread (&seed, sizeof seed, 1, urandom) != 1)
    die ("urandom");
  fclose (urandom);
  snprintf (token, sizeof token, "%08x-dgram%lu-abstract%lu-udp%lu", seed, inode_of (pair[0]),
            inode_of (stream), inode_of (udp));
  for (;;)
    {
      int len = snprintf (line, sizeof line, "%lu", n);
      char *nl;
      FILE *out;

      if (send (pair[0], line, (size_t) len, 0) != len)
        die ("send (datagram)");
      /* The child's answer: the same number, back over the stream. */
      while ((nl = memchr (in, '\n', have)) == NULL)
        {
          ssize_t got = read (stream, in + have, sizeof in - have);
          if (got <= 0)
            die ("read (abstract stream)");
          have += (size_t) got;
        }
      *nl = '\0';
      if (strtoul (in, NULL, 10) != n)
        {
          fprintf (stderr, "molt-test-dgram: stream gave %s, expected %lu\n", in, n);
          return 1;
        }
      have -= (size_t) (nl + 1 - in);
      memmove (in, nl + 1, have);
      out = fopen (argv[3], "a");
      if (out == NULL)
        die (argv[3]);
      fprintf (out, "%lu %ld %s %d\n", n, (long) time (NULL), token, pid);
      fclose (out);
      /* UDP: send this number, count what came back. */
      if (send (udp, line, (size_t) len, 0) < 0 && errno != ECONNREFUSED)
        die ("send (udp)");
      {
        char echo[64];
        while (recv (udp, echo, sizeof echo, 0) > 0)
          echoed++;
      }
      {
        /* Written aside and renamed over: a reader never sees the file
         * truncated and empty (network.sh read "" once). */
        char udp_path[4096], tmp_path[4200];
        snprintf (udp_path, sizeof udp_path, "%s.udp", argv[3]);
        snprintf (tmp_path, sizeof tmp_path, "%s.tmp", udp_path);
        out = fopen (tmp_path, "w");
        if (out != NULL)
          {
            fprintf (out, "%lu %lu\n", n + 1, echoed);
            if (fclose (out) == 0)
              rename (tmp_path, udp_path);
          }
      }
      n++;
      nanosleep (&period, NULL);
    }
}
