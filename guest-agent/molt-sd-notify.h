/* systemd's readiness protocol (sd_notify(3)) without libsystemd: one
 * datagram to $NOTIFY_SOCKET. molt-run --wait under a unit of
 * Type=notify says READY=1 once its job is registered with the agent
 * (started, or a restored one taken over), so that `systemctl start`
 * returns when the job exists, and the units ordered after it start
 * then. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The socket systemd gave this process, taken out of the environment (the
 * job must not inherit it: it is not the unit's main process, systemd
 * would refuse its messages). NULL when not run by a Type=notify unit. */
gchar *molt_sd_notify_take_socket (void);

/* Sends STATE ("READY=1\nSTATUS=...") to SOCKET ("/path" or "@abstract").
 * FALSE with the errno text when it cannot. */
gboolean molt_sd_notify (const gchar *socket, const gchar *state, GError **error);

G_END_DECLS
