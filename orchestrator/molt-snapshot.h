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

typedef struct
{
  gchar *name;
  gchar *description; /* may be NULL */
  gchar *state;       /* the domain's state in the snapshot: running, shutoff, ... */
  gint64 creation_time;
} MoltSnapshotInfo;

void molt_snapshot_info_free (MoltSnapshotInfo *info);
/* Every snapshot of dom, oldest first. */
GPtrArray *molt_snapshot_list (virDomainPtr dom, GError **error);
/* memory FALSE on a running domain is refused: libvirt 9.0 has no internal
 * disk-only snapshot of a running domain. */
gboolean molt_snapshot_create_full (virDomainPtr dom, const gchar *name, const gchar *description,
                                    gboolean memory, GError **error);

G_END_DECLS
