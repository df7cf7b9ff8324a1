/* dump-inspect-holder MODE PATH [deep]: a process holding what MODE says,
 * for test-dump-inspect (a program of its own, so that it runs outside
 * valgrind: valgrind knows neither pidfd_open nor keeps the maps as they
 * are). Writes one byte to stdout when set up, then waits to be killed.
 * With "deep", a grandchild holds it (the inspection must walk the tree). */
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MIB (1024 * 1024)

static void
die (const char *what)
{
  perror (what);
  exit (1);
}

static void
write_file (const char *path, size_t size)
{
  char *data = malloc (size);
  FILE *f = fopen (path, "w");

  if (data == NULL || f == NULL)
    die (path);
  memset (data, 'x', size);
  if (fwrite (data, 1, size, f) != size || fclose (f) != 0)
    die (path);
  free (data);
}

static void
open_deleted (const char *path, size_t size)
{
  write_file (path, size);
  if (open (path, O_RDONLY) < 0 || unlink (path) != 0)
    die (path);
}

static void
setup (const char *mode, const char *path)
{
  int fd, pipe_fds[2];

  if (strcmp (mode, "deleted-big") == 0)
    open_deleted (path, 2 * MIB);
  else if (strcmp (mode, "deleted-small") == 0)
    open_deleted (path, 100 * 1024);
  else if (strcmp (mode, "mapped-deleted-big") == 0)
    {
      write_file (path, 2 * MIB);
      fd = open (path, O_RDONLY);
      if (fd < 0 || mmap (NULL, 2 * MIB, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED)
        die (path);
      close (fd);
      unlink (path);
    }
  else if (strcmp (mode, "memfd-and-shared") == 0)
    {
      fd = (int) syscall (SYS_memfd_create, "molt-test", 0);
      if (fd < 0 || ftruncate (fd, 4 * MIB) != 0)
        die ("memfd");
      /* Shared anonymous memory: "/dev/zero (deleted)" in the maps. */
      if (mmap (NULL, 4 * MIB, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)
          == MAP_FAILED)
        die ("mmap");
    }
  else if (strcmp (mode, "pidfd") == 0)
    {
      if (syscall (SYS_pidfd_open, getpid (), 0) < 0)
        die ("pidfd_open");
    }
  else if (strcmp (mode, "fuse") == 0)
    {
      if (open ("/dev/fuse", O_RDWR) < 0)
        die ("/dev/fuse");
    }
  else if (strcmp (mode, "dumpable") == 0)
    {
      write_file (path, 2 * MIB);
      if (open (path, O_RDONLY) < 0 || open ("/dev/null", O_RDONLY) < 0 || pipe (pipe_fds) != 0
          || syscall (SYS_eventfd2, 0, 0) < 0)
        die ("dumpable");
    }
  else if (strcmp (mode, "unix-connect") == 0)
    {
      struct sockaddr_un addr = { .sun_family = AF_UNIX };
      int sock = socket (AF_UNIX, SOCK_STREAM, 0);

      snprintf (addr.sun_path, sizeof addr.sun_path, "%s", path);
      if (sock < 0 || connect (sock, (struct sockaddr *) &addr, sizeof addr) != 0)
        die ("unix connect");
    }
  else if (strcmp (mode, "vsock") == 0)
    {
      if (socket (AF_VSOCK, SOCK_STREAM, 0) < 0)
        die ("AF_VSOCK");
    }
  else if (strcmp (mode, "netlink-unread") == 0 || strcmp (mode, "sockets-dumpable") == 0)
    {
      /* A link dump asked for: its answer waits unread, unless read here. */
      struct
      {
        struct nlmsghdr nh;
        struct rtgenmsg g;
      } req = { .nh = { .nlmsg_len = sizeof req,
                        .nlmsg_type = RTM_GETLINK,
                        .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
                .g = { .rtgen_family = AF_UNSPEC } };
      int sock = socket (AF_NETLINK, SOCK_RAW, NETLINK_ROUTE), pair[2];

      if (sock < 0 || send (sock, &req, sizeof req, 0) != sizeof req)
        die ("netlink");
      if (strcmp (mode, "sockets-dumpable") == 0)
        {
          char buf[65536];
          /* Read the whole dump: to its NLMSG_DONE. */
          for (;;)
            {
              ssize_t n = recv (sock, buf, sizeof buf, 0);
              struct nlmsghdr *nh = (struct nlmsghdr *) buf;
              int done = 0;

              if (n <= 0)
                die ("netlink recv");
              for (; NLMSG_OK (nh, (size_t) n); nh = NLMSG_NEXT (nh, n))
                if (nh->nlmsg_type == NLMSG_DONE)
                  done = 1;
              if (done)
                break;
            }
          if (socket (AF_INET, SOCK_DGRAM, 0) < 0 || socket (AF_INET6, SOCK_STREAM, 0) < 0
              || socketpair (AF_UNIX, SOCK_STREAM, 0, pair) != 0
              || socket (AF_PACKET, SOCK_RAW, 0) < 0
              || socket (AF_INET, SOCK_RAW, IPPROTO_ICMP) < 0)
            die ("sockets");
        }
    }
  else
    {
      fprintf (stderr, "dump-inspect-holder: unknown mode %s\n", mode);
      exit (64);
    }
}

int
main (int argc, char **argv)
{
  if (argc < 3)
    {
      fprintf (stderr, "usage: dump-inspect-holder MODE PATH [deep]\n");
      return 64;
    }
  if (argc > 3 && strcmp (argv[3], "deep") == 0)
    {
      if (fork () != 0)
        for (;;)
          pause ();
      /* The grandchild ends with its parent. */
      prctl (PR_SET_PDEATHSIG, SIGKILL);
    }
  setup (argv[1], argv[2]);
  if (write (STDOUT_FILENO, "x", 1) != 1)
    die ("stdout");
  for (;;)
    pause ();
}
