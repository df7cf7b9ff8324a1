/* The agent's count of a process tree's sockets by kind, on sockets this
 * test holds itself: an established TCP pair over loopback, a listener, a
 * UDP socket, a unix pair; each counted once however many fds share it. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "molt-socket-census.h"
#include "molt-test.h"

static void
test_kinds (void)
{
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t len = sizeof addr;
  int listener, client, udp, pair[2], accepted, shared;
  MoltSocketCensus before, after;

  molt_socket_census_tree (getpid (), &before);
  listener = socket (AF_INET, SOCK_STREAM, 0);
  client = socket (AF_INET, SOCK_STREAM, 0);
  udp = socket (AF_INET, SOCK_DGRAM, 0);
  CU_ASSERT_EQUAL_FATAL (bind (listener, (struct sockaddr *) &addr, sizeof addr), 0);
  CU_ASSERT_EQUAL_FATAL (listen (listener, 4), 0);
  CU_ASSERT_EQUAL_FATAL (getsockname (listener, (struct sockaddr *) &addr, &len), 0);
  CU_ASSERT_EQUAL_FATAL (connect (client, (struct sockaddr *) &addr, sizeof addr), 0);
  /* Connected, not accepted yet: it waits in the listener's queue. */
  molt_socket_census_tree (getpid (), &after);
  CU_ASSERT_EQUAL (after.tcp_queued - before.tcp_queued, 1);
  accepted = accept (listener, NULL, NULL);
  CU_ASSERT_FATAL (accepted >= 0);
  CU_ASSERT_EQUAL_FATAL (socketpair (AF_UNIX, SOCK_STREAM, 0, pair), 0);
  shared = dup (client);
  molt_socket_census_tree (getpid (), &after);
  /* Both ends of the TCP pair are ours: two established sockets. */
  CU_ASSERT_EQUAL (after.tcp_established - before.tcp_established, 2);
  CU_ASSERT_EQUAL (after.tcp_listen - before.tcp_listen, 1);
  CU_ASSERT_EQUAL (after.udp - before.udp, 1);
  CU_ASSERT_EQUAL (after.unix_ - before.unix_, 2);
  CU_ASSERT_EQUAL (after.other, before.other);
  CU_ASSERT_EQUAL (after.tcp_queued, before.tcp_queued);
  close (shared);
  close (pair[0]);
  close (pair[1]);
  close (accepted);
  close (client);
  close (udp);
  close (listener);
}

int
main (void)
{
  static const MoltTestCase cases[] = {
    { "sockets by kind, each once", test_kinds },
    { NULL, NULL },
  };

  return molt_test_run ("socket-census", cases);
}
