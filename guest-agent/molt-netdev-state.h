/* The network interfaces a driver module drives, kept across its reload:
 * unloading a NIC driver removes its interfaces with their addresses and
 * routes; the reloaded driver brings them back bare. Saved before the
 * unload (by `ip`), found again after the load by their MAC address (a
 * reload may give another name), and put back: MTU, addresses, link up,
 * routes (those the kernel adds for an address are its own). The jobs'
 * TCP connections live in the kernel, not the device: once the address
 * and route are back, their peers' retransmissions are answered. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _MoltNetdevState MoltNetdevState;

void molt_netdev_state_free (MoltNetdevState *state);
/* The interfaces MODULE drives now (none: an empty array). */
GPtrArray *molt_netdev_save_for_module (const gchar *module);
/* Each saved interface back as it was; waits up to TIMEOUT_MS for it to
 * reappear. FALSE naming the interface and what could not be restored. */
gboolean molt_netdev_restore (GPtrArray *saved, guint timeout_ms, GError **error);
/* "eth0 (52:54:00:12:34:56, 10.0.2.15/24)", for messages. */
gchar *molt_netdev_state_describe (const MoltNetdevState *state);

G_END_DECLS
