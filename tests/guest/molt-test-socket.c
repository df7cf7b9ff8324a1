/* molt-test-socket KIND: a job holding one socket of a kind a service may
 * hold besides TCP, UDP and unix ones, and nothing else, for the
 * networking tests of what CRIU can and cannot dump:
 *   netlink  a NETLINK_ROUTE socket subscribed to link changes (as
 *            "ip monitor" or a network daemon holds)
 *   packet   an AF_PACKET socket (as a DHCP client or a capture holds)
 *   raw      an AF_INET raw ICMP socket (as ping holds)
 *   ping     an ICMP datagram socket (unprivileged ping)
 *   netlink-unread  a NETLINK_ROUTE socket with a dump reply unread
 *   alg      an AF_ALG socket (the kernel crypto API)
 *   vsock    an AF_VSOCK stream socket
 * It then sleeps until killed. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_alg.h>
#include <linux/if_ether.h>
#include <linux/vm_sockets.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* One end of a unix stream connection between two jobs, over PATH, with
 * bytes queued both ways at any moment: the client keeps UNIX_WINDOW
 * numbered 16-byte records in flight; the server echoes each one back
 * after UNIX_PACE_US; the client checks each echo is the next number (else
 * it exits: a byte lost, repeated or reordered), then sends the next one,
 * and appends "N TIME TOKEN PID" to PATH.log (TOKEN: its socket's inode
 * at the start, kept in its memory). */
#define UNIX_RECORD  16
#define UNIX_WINDOW  32
#define UNIX_PACE_US 20000

static int
send_all (int sock, const char *buf, size_t len)
{
  while (len > 0)
    {
      ssize_t n = send (sock, buf, len, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return -1;
      buf += n;
      len -= (size_t) n;
    }
  return 0;
}

static int
recv_record (int sock, char *rec)
{
  size_t got = 0;

  while (got < UNIX_RECORD)
    {
      ssize_t n = recv (sock, rec + got, UNIX_RECORD - got, 0);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return -1;
      got += (size_t) n;
    }
  return 0;
}

static int
unix_pair_end (int server, const char *path)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  char rec[UNIX_RECORD + 1], log_path[256];
  unsigned long sent = 0, echoed = 0;
  int sock = socket (AF_UNIX, SOCK_STREAM, 0);
  struct stat st;

  snprintf (addr.sun_path, sizeof addr.sun_path, "%s", path);
  snprintf (log_path, sizeof log_path, "%s.log", path);
  if (server)
    {
      int listener = sock;
      unlink (path);
      if (bind (listener, (struct sockaddr *) &addr, sizeof addr) != 0 || listen (listener, 1) != 0
          || (sock = accept (listener, NULL, NULL)) < 0)
        return 1;
      for (;;)
        {
          if (recv_record (sock, rec) != 0)
            return 1;
          usleep (UNIX_PACE_US);
          if (send_all (sock, rec, UNIX_RECORD) != 0)
            return 1;
        }
    }
  while (connect (sock, (struct sockaddr *) &addr, sizeof addr) != 0)
    usleep (100000);
  if (fstat (sock, &st) != 0)
    return 1;
  for (;;)
    {
      FILE *log;

      for (; sent < echoed + UNIX_WINDOW; sent++)
        {
          snprintf (rec, sizeof rec, "%015lu\n", sent % 1000000000000000UL);
          if (send_all (sock, rec, UNIX_RECORD) != 0)
            return 1;
        }
      if (recv_record (sock, rec) != 0)
        return 1;
      rec[UNIX_RECORD] = '\0';
      if (strtoul (rec, NULL, 10) != echoed)
        {
          fprintf (stderr, "expected %lu, got %s", echoed, rec);
          return 1;
        }
      if ((log = fopen (log_path, "a")) != NULL)
        {
          fprintf (log, "%lu %ld %lu %d\n", echoed, (long) time (NULL), (unsigned long) st.st_ino,
                   (int) getpid ());
          fclose (log);
        }
      echoed++;
      usleep (UNIX_PACE_US);
    }
}

int
main (int argc, char **argv)
{
  int sock = -1;

  if (argc == 3 && (strcmp (argv[1], "unix-server") == 0 || strcmp (argv[1], "unix-client") == 0))
    return unix_pair_end (argv[1][5] == 's', argv[2]);
  if (argc != 2)
    {
      fprintf (stderr,
               "usage: molt-test-socket netlink|packet|raw|ping|netlink-unread|alg|vsock\n");
      return 64;
    }
  if (strcmp (argv[1], "netlink") == 0)
    {
      struct sockaddr_nl addr = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };

      sock = socket (AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
      if (sock >= 0 && bind (sock, (struct sockaddr *) &addr, sizeof addr) != 0)
        sock = -1;
    }
  else if (strcmp (argv[1], "packet") == 0)
    sock = socket (AF_PACKET, SOCK_RAW, htons (ETH_P_ALL));
  else if (strcmp (argv[1], "raw") == 0)
    sock = socket (AF_INET, SOCK_RAW, IPPROTO_ICMP);
  else if (strcmp (argv[1], "ping") == 0)
    sock = socket (AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
  else if (strcmp (argv[1], "netlink-unread") == 0)
    {
      struct
      {
        struct nlmsghdr nh;
        struct rtgenmsg g;
      } req = { .nh = { .nlmsg_len = sizeof req,
                        .nlmsg_type = RTM_GETLINK,
                        .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
                .g = { .rtgen_family = AF_UNSPEC } };

      sock = socket (AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
      if (sock >= 0 && send (sock, &req, sizeof req, 0) != sizeof req)
        sock = -1;
    }
  else if (strcmp (argv[1], "alg") == 0)
    {
      struct sockaddr_alg addr
          = { .salg_family = AF_ALG, .salg_type = "hash", .salg_name = "sha256" };

      sock = socket (AF_ALG, SOCK_SEQPACKET, 0);
      if (sock >= 0 && bind (sock, (struct sockaddr *) &addr, sizeof addr) != 0)
        sock = -1;
    }
  else if (strcmp (argv[1], "vsock") == 0)
    sock = socket (AF_VSOCK, SOCK_STREAM, 0);
  else
    {
      fprintf (stderr, "molt-test-socket: unknown kind %s\n", argv[1]);
      return 64;
    }
  if (sock < 0)
    {
      fprintf (stderr, "molt-test-socket: %s socket: %s\n", argv[1], strerror (errno));
      return 1;
    }
  for (;;)
    pause ();
}
