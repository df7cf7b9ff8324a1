/* The sockets CRIU (3.17) refuses to dump, found from /proc while the job
 * runs, for the preflight (molt-dump-inspect.h). Checked by hand on the
 * test guest: idle netlink, packet and raw sockets dump and restore; a
 * family CRIU does not know (AF_ALG, AF_VSOCK...) fails the dump ("BUG!
 * Unknown socket collected"), so does an ICMP datagram (ping) socket
 * ("Unsupported proto 1") and a netlink socket with data unread ("The
 * socket has data to read"). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* For the socket behind FD_PATH (/proc/PID/fd/N, named FD_NAME), held by
 * PID: why CRIU cannot dump it ("holds a ALG socket (fd 3); ..."), or NULL
 * when it can or when it cannot be told (no false alarms). */
gchar *molt_socket_inspect_fd (gint pid, const gchar *fd_path, const gchar *fd_name);

G_END_DECLS
