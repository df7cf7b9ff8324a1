/* The jobs' sockets as the guest counted them at preflight (by kind, per
 * job): checked, kept for the report ("sockets"), and weighed against the
 * switch method: a restart of QEMU (--method reboot) ends every connection
 * of a user-mode network, so established TCP refuses it unless the user
 * chose --tcp close. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The kinds, in report order. */
extern const gchar *const molt_switch_socket_kinds[];

/* A checked copy of switch-preflight's "sockets" ([] from an agent that
 * does not count them); NULL on a malformed reply. */
JsonArray *molt_switch_sockets_read (JsonObject *preflight, GError **error);
/* FALSE, saying which jobs and what to do, when a job holds established
 * TCP connections that a restart of the domain would end. */
gboolean molt_switch_sockets_check_restart (JsonArray *sockets, GError **error);

G_END_DECLS
