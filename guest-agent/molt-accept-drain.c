#include "molt-accept-drain.h"
#include "molt-job-freezer.h"
#include "molt-protocol-error.h"
#include "molt-socket-census.h"

#define MOLT_ACCEPT_POLL_MS 20

guint
molt_accept_queued (gint root_pid)
{
  MoltSocketCensus census;

  molt_socket_census_tree (root_pid, &census);
  return census.tcp_queued;
}

gboolean
molt_accept_drain (gint root_pid, guint *accepted, GError **error)
{
  guint queued = molt_accept_queued (root_pid), left = queued;
  gint64 deadline;

  *accepted = 0;
  if (queued == 0)
    return TRUE;
  if (!molt_job_tree_signal (root_pid, FALSE, error))
    return FALSE;
  deadline = g_get_monotonic_time () + MOLT_ACCEPT_DRAIN_MS * G_TIME_SPAN_MILLISECOND;
  while (left > 0 && g_get_monotonic_time () < deadline)
    {
      g_usleep (MOLT_ACCEPT_POLL_MS * G_TIME_SPAN_MILLISECOND);
      left = molt_accept_queued (root_pid);
    }
  /* Stopped again whatever came of it: the caller dumps it or thaws it. */
  if (!molt_job_tree_signal (root_pid, TRUE, error))
    return FALSE;
  left = molt_accept_queued (root_pid);
  *accepted = queued > left ? queued - left : 0;
  if (left == 0)
    return TRUE;
  g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
               "%u connection%s wait%s in its listening sockets' accept queues, not accepted "
               "within %.1f s of running again; CRIU cannot checkpoint a connection no process "
               "has accepted. Let the job accept its clients, or switch with --tcp close "
               "(the waiting connections are dropped and their clients see a reset)",
               left, left == 1 ? "" : "s", left == 1 ? "s" : "", MOLT_ACCEPT_DRAIN_MS / 1000.0);
  return FALSE;
}
