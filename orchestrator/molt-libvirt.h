/* The libvirt side of the host: connection, domain lookup, the agent channel.
 *
 * libvirt's last error becomes a GError here and nowhere else. */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

#include "molt-transport.h"
#include "molt-wire.h"

G_BEGIN_DECLS

#define MOLT_AGENT_CHANNEL MOLT_WIRE_CHANNEL
#define MOLT_DEFAULT_URI   "qemu:///system"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (virConnect, virConnectClose)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (virDomain, virDomainFree)

/* Registers libvirt's event loop and runs it in a thread; needed for
 * non-blocking streams. Call once, before connecting. */
void molt_libvirt_init (void);

/* uri NULL: $LIBVIRT_DEFAULT_URI, then qemu:///system. */
virConnectPtr molt_libvirt_connect (const gchar *uri, GError **error);
/* By name, then UUID, then numeric id. */
virDomainPtr molt_libvirt_lookup_domain (virConnectPtr conn, const gchar *name, GError **error);
/* The domain runs and has the agent channel; errors say how to fix it. */
gboolean molt_libvirt_check_agent_channel (virDomainPtr dom, GError **error);
/* Whether a domain definition (libvirt's XML) has the agent channel. */
gboolean molt_libvirt_xml_has_agent_channel (const gchar *xml);
/* A transport over the domain's org.molt.agent.0 channel (a libvirt
 * stream). It takes the channel from whoever had it: call it only holding
 * the domain's exclusive lock or its channel lock. */
MoltTransport *molt_libvirt_open_agent (virDomainPtr dom, GError **error);

/* The <channel> element a domain needs for molt. */
const gchar *molt_libvirt_channel_xml (void);

G_END_DECLS
