/* libvirt snapshots of a whole VM (memory + disk): the rollback point.
 *
 * Internal snapshots only: libvirt 9.0 (Debian 12) reverts internal
 * snapshots with memory, external revert arrived in 9.9. */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

G_BEGIN_DECLS

G_DEFINE_AUTOPTR_CLEANUP_FUNC (virDomainSnapshot, virDomainSnapshotFree)

gboolean molt_snapshot_create (virDomainPtr dom, const gchar *name, const gchar *description,
                               GError **error);
/* Reverts and leaves the domain running. */
gboolean molt_snapshot_revert (virDomainPtr dom, const gchar *name, GError **error);
gboolean molt_snapshot_delete (virDomainPtr dom, const gchar *name, GError **error);
gboolean molt_snapshot_exists (virDomainPtr dom, const gchar *name);

G_END_DECLS
