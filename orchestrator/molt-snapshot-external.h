/* Live external snapshots: every writable file disk gets a qcow2 overlay
 * and the memory goes to a file while the domain runs (libvirt pauses it
 * only for the last dirty pages). libvirt 9.0 takes them for any domain,
 * UEFI (pflash) ones included, but neither reverts nor deletes them: molt
 * does both, through libvirt's API.
 *
 * Files: the overlay of DIR/DISK.qcow2 is DIR/DISK.NAME.qcow2, the memory
 * DIR/NAME.mem next to the first disk. Only the newest external snapshot
 * can be reverted or deleted (one overlay deep): what a switch takes. */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

G_BEGIN_DECLS

/* A disk as libvirt's XML names it: its target (vda) and its file. */
typedef struct
{
  gchar *target;
  gchar *file;
} MoltSnapshotDisk;

void molt_snapshot_disk_free (MoltSnapshotDisk *disk);
/* The writable file disks of a domain's XML (<disk type='file'
 * device='disk'>, not read-only or shareable). */
GPtrArray *molt_snapshot_domain_disks (const gchar *domain_xml, GError **error);
/* A snapshot's overlays (its external <disks>) and, into *memory_file
 * (may be NULL), its memory file: NULL for a disk-only snapshot. */
GPtrArray *molt_snapshot_overlays (const gchar *snapshot_xml, gchar **memory_file, GError **error);
/* The definition a snapshot's XML recorded, as a <domain>: the live one,
 * or the persistent one (INACTIVE; NULL for a transient domain). */
gchar *molt_snapshot_recorded_definition (const gchar *snapshot_xml, gboolean inactive);
/* Drops libvirt's record of snapshot NAME (its files stay); none is fine
 * (a transient domain destroyed and restored has none). */
gboolean molt_snapshot_forget_metadata (virDomainPtr dom, const gchar *name, GError **error);
/* Commits the active overlay of disk TARGET into its backing file while
 * the domain runs, and pivots the disk onto that file. */
gboolean molt_snapshot_commit_active (virDomainPtr dom, const gchar *target, GError **error);

gboolean molt_snapshot_external_create (virDomainPtr dom, const gchar *name,
                                        const gchar *description, GError **error);

/* Whether snapshot NAME of dom is an external one (its memory in a file,
 * or its disks in overlays). */
gboolean molt_snapshot_is_external (virDomainPtr dom, const gchar *name);

/* Puts the domain back as it was at the snapshot: destroys it, restores
 * the memory file onto the disks as they were then (the overlays are
 * dropped: what was written since is gone, as with any revert) and puts a
 * persistent domain's definition back. The snapshot is gone afterwards. */
gboolean molt_snapshot_external_revert (virDomainPtr dom, const gchar *name, GError **error);

/* The snapshot's XML as libvirt records it (memory file, overlays, the
 * domain's definitions from before): what a revert needs when libvirt no
 * longer has it (a transient domain's snapshots go with its destroy). */
gchar *molt_snapshot_external_xml (virDomainPtr dom, const gchar *name, GError **error);
/* The same revert from that XML, for the domain named DOM_NAME on conn,
 * running, shut off, or gone. */
gboolean molt_snapshot_external_revert_from (virConnectPtr conn, const gchar *dom_name,
                                             const gchar *name, const gchar *xml, GError **error);

/* Forgets the snapshot and keeps what the domain did since: each overlay
 * is committed into its disk while the domain runs (active block commit,
 * then a pivot back to the disk), then the overlays, the memory file and
 * libvirt's record are removed. */
gboolean molt_snapshot_external_delete (virDomainPtr dom, const gchar *name, GError **error);
/* The same from the snapshot's XML (molt_snapshot_external_xml). */
gboolean molt_snapshot_external_delete_from (virDomainPtr dom, const gchar *name, const gchar *xml,
                                             GError **error);

G_END_DECLS
