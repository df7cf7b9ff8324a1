/* The reading half of every scripted agent in the unit tests: requests
 * read from a socket, one line at a time, each handed to a callback. */
#pragma once

#include "molt-message.h"

typedef void (*FakePeerFunc) (MoltRequest *request, gpointer data);

/* Until the socket closes: every request that parses goes to FUNC. */
void fake_peer_serve (int fd, FakePeerFunc func, gpointer data);
/* Writes all of TEXT, or stops quietly when the other side is gone. */
void fake_peer_write (int fd, const char *text);
