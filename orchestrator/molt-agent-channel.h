/* The org.molt.agent.0 channel in a domain's definitions: found, or added
 * through libvirt (live to the running domain, and to the persistent
 * definition), for `molt setup`. */
#pragma once

#include <libvirt/libvirt.h>

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  MOLT_CHANNEL_ABSENT_NA, /* no such definition: not running, or transient */
  MOLT_CHANNEL_PRESENT,
  MOLT_CHANNEL_ADDED,
} MoltChannelState;

const gchar *molt_channel_state_to_string (MoltChannelState state);

/* Adds the channel where it is missing: to the running domain (hot-plug)
 * and to its persistent definition. FALSE with libvirt's reason. */
gboolean molt_agent_channel_ensure (virDomainPtr dom, MoltChannelState *live,
                                    MoltChannelState *config, GError **error);

G_END_DECLS
