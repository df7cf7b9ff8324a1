/* molt-test-socketpair FILE PERIOD_MS: a sequence job whose numbers cross
 * a unix stream connection between two processes (a socket pair), for the
 * rollback tests: "the connection is still the same one".
 *
 * The writer sends 0, 1, 2... one every PERIOD_MS; the reader appends
 * "N EPOCH_S TOKEN PID" to FILE for each (the format tests/testbed/jobs.sh
 * checks). TOKEN is random per start plus the inode of the reader's socket:
 * a connection made again (a new socket) or a job started again shows as a
 * second token. A broken connection ends the job (EOF or EPIPE). FILE is
 * opened for each line, not held: the rollback tests' file faults pick a
 * file a job holds open, and must pick the other job's. */
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
  perror (what);
  exit (1);
}

static void
writer (int sock, long period_ms)
{
  struct timespec period = { period_ms / 1000, (period_ms % 1000) * 1000000L };
  unsigned long n = 0;
  char line[32];

  for (;;)
    {
      int len = snprintf (line, sizeof line, "%lu\n", n++);
      if (write (sock, line, (size_t) len) != len)
        die ("molt-test-socketpair: write");
      nanosleep (&period, NULL);
    }
}

static void
reader (int sock, const char *path)
{
  FILE *in = fdopen (sock, "r");
  struct stat st;
  char token[64], line[32];
  unsigned int seed;
  FILE *urandom = fopen ("/dev/urandom", "r");

  if (in == NULL || urandom == NULL || fstat (sock, &st) != 0
      || fread (&seed, sizeof seed, 1, urandom) != 1)
    die ("molt-test-socketpair: setup");
  fclose (urandom);
  snprintf (token, sizeof token, "%08x-sock%lu", seed, (unsigned long) st.st_ino);
  while (fgets (line, sizeof line, in) != NULL)
    {
      FILE *out = fopen (path, "a");
      line[strcspn (line, "\n")] = '\0';
      if (out == NULL)
        die (path);
      fprintf (out, "%s %ld %s %d\n", line, (long) time (NULL), token, (int) getpid ());
      if (fclose (out) != 0)
        die (path);
    }
  fprintf (stderr, "molt-test-socketpair: the connection ended\n");
  exit (1);
}

int
main (int argc, char **argv)
{
  int sv[2];
  pid_t pid;

  if (argc != 3)
    {
      fprintf (stderr, "usage: molt-test-socketpair FILE PERIOD_MS\n");
      return 64;
    }
  if (socketpair (AF_UNIX, SOCK_STREAM, 0, sv) != 0)
    die ("molt-test-socketpair: socketpair");
  signal (SIGPIPE, SIG_DFL);
  pid = fork ();
  if (pid < 0)
    die ("molt-test-socketpair: fork");
  if (pid == 0)
    {
      close (sv[1]);
      writer (sv[0], strtol (argv[2], NULL, 10));
    }
  close (sv[0]);
  reader (sv[1], argv[1]);
  return 1;
}
