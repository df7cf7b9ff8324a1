/* molt-bench-hog SIZE_MIB STATUS_FILE: a job holding SIZE_MIB of touched
 * memory, for the switch benchmark.
 *
 * Every 10 ms it checks one page of its memory against the pattern it
 * wrote, and records in STATUS_FILE the largest gap it has seen between two
 * of its own ticks: the downtime as the job itself lives it, measured the
 * same way for molt and for the hand-run floor. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096

static double
now_s (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_REALTIME, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int
main (int argc, char **argv)
{
  size_t size, pages;
  unsigned char *mem;
  double last, max_gap = 0, max_gap_at = 0;
  uint64_t tick = 0;
  char tmp_path[4096];

  if (argc != 3)
    {
      fprintf (stderr, "usage: molt-bench-hog SIZE_MIB STATUS_FILE\n");
      return 64;
    }
  size = (size_t) strtoul (argv[1], NULL, 10) * 1024 * 1024;
  pages = size / PAGE;
  mem = malloc (size);
  if (mem == NULL || pages == 0)
    {
      fprintf (stderr, "molt-bench-hog: cannot allocate %s MiB\n", argv[1]);
      return 1;
    }
  for (size_t p = 0; p < pages; p++)
    memset (mem + p * PAGE, (int) (p & 0xff), PAGE);
  /* The status file is rewritten whole and renamed into place, never held
   * open: the job's open files are then only its log. */
  snprintf (tmp_path, sizeof tmp_path, "%s.tmp", argv[2]);
  printf ("holding %zu MiB\n", size >> 20);
  fflush (stdout);
  last = now_s ();
  for (;;)
    {
      size_t p = (size_t) (tick * 7919) % pages;
      double t;
      const char *verdict = "ok";

      usleep (10000);
      t = now_s ();
      if (t - last > max_gap)
        {
          max_gap = t - last;
          max_gap_at = t;
        }
      last = t;
      if (mem[p * PAGE] != (unsigned char) (p & 0xff)
          || mem[p * PAGE + PAGE - 1] != (unsigned char) (p & 0xff))
        verdict = "CORRUPT";
      tick++;
      if (tick % 10 == 0 || verdict[0] == 'C')
        {
          FILE *status = fopen (tmp_path, "w");
          if (status == NULL)
            continue;
          fprintf (status, "%s ticks=%" PRIu64 " max_gap_s=%.3f max_gap_at=%.3f\n", verdict, tick,
                   max_gap, max_gap_at);
          if (fclose (status) == 0)
            rename (tmp_path, argv[2]);
        }
    }
}
