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

/* Destroys and starts the domain with the new kernel, keeping snapshot
 * metadata; *dom is replaced by the new handle. If the new kernel's domain
 * cannot start, the old definition is started again and FALSE returned. */
gboolean molt_domain_restart_with_kernel (virDomainPtr *dom, const gchar *kernel,
                                          const gchar *initrd, const gchar *cmdline,
                                          const gchar *snapshot, GError **error);

G_END_DECLS
