/* --method reboot: a new direct-boot kernel through a new QEMU process.
 *
 * A direct-boot kernel is fixed when QEMU starts, so a guest reboot is not
 * enough: the domain is destroyed and started again with the new <kernel>.
 * A persistent domain's definition changes too, so later boots keep the
 * new kernel; a transient domain loses its snapshot metadata on destroy, so
 * the snapshot's XML is kept and redefined afterwards. */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

G_BEGIN_DECLS

/* Replaces (or adds) <kernel>, <initrd> and, when cmdline is not NULL,
 * <cmdline> inside <os>. initrd NULL removes <initrd>. */
gchar *molt_domain_xml_set_kernel (const gchar *xml, const gchar *kernel, const gchar *initrd,
                                   const gchar *cmdline, GError **error);

/* The direct-boot kernel of a definition: <os>'s <kernel>, <initrd> and
 * <cmdline> (each NULL when absent; *kernel NULL: the domain boots from
 * its disks). FALSE only for XML that does not parse. */
gboolean molt_domain_xml_get_kernel (const gchar *xml, gchar **kernel, gchar **initrd,
                                     gchar **cmdline, GError **error);

/* Destroys (if running) and starts the domain from xml (a persistent one
 * is defined from it first), keeping the metadata of snapshot (NULL: none);
 * *dom is replaced by the new handle. If it cannot start, the definition
 * from before is started again and FALSE returned; what names xml in the
 * message ("kernel PATH", "its definition from before the switch"). */
gboolean molt_domain_restart (virDomainPtr *dom, const gchar *xml, const gchar *snapshot,
                              const gchar *what, GError **error);
/* The same with the new kernel set in the current definition. */
gboolean molt_domain_restart_with_kernel (virDomainPtr *dom, const gchar *kernel,
                                          const gchar *initrd, const gchar *cmdline,
                                          const gchar *snapshot, GError **error);

G_END_DECLS
