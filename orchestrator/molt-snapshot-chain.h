/* External snapshots kept as a chain, for the snapshot policies: libvirt
 * refuses internal snapshots of UEFI (pflash) domains and of disks that are
 * not qcow2, and libvirt 9.0 neither reverts nor deletes external ones.
 *
 * Each snapshot S puts a new qcow2 overlay DISK.S.qcow2 on top of each
 * writable file disk (the file below it holds the disk as it was at S), and
 * with memory saves the memory to DIR/S.mem; a UEFI domain's variable
 * store is copied to DIR/S.nvram. The chain has one overlay per snapshot
 * kept, so its length is bounded by the retention:
 *  - delete S merges S's overlay (what was written after S) into the file
 *    below it: an active block commit and pivot when S is the newest, a
 *    plain block commit otherwise; the domain must run;
 *  - revert to S drops the snapshots newer than S (their disks were built
 *    on what the revert throws away), gives S a fresh overlay on the file
 *    that holds the disk as it was at S, and restores S's memory (or
 *    starts the domain from that disk when S has no memory); S is kept. */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

G_BEGIN_DECLS

/* Whether libvirt refuses internal snapshots of the domain: UEFI firmware
 * in pflash, or a writable disk that is not qcow2. *why says which. */
gboolean molt_snapshot_needs_external (virDomainPtr dom, gchar **why);

gboolean molt_snapshot_chain_create (virDomainPtr dom, const gchar *name, const gchar *description,
                                     gboolean memory, GError **error);
gboolean molt_snapshot_chain_delete (virDomainPtr dom, const gchar *name, GError **error);
/* Leaves the domain running (as the snapshot had it). Snapshots newer
 * than NAME are gone afterwards; *dropped (may be NULL) lists them. */
gboolean molt_snapshot_chain_revert (virDomainPtr dom, const gchar *name, GStrv *dropped,
                                     GError **error);

G_END_DECLS
