/* The same-kernel kexec path of a driver-set switch boots the running
 * kernel again with an initramfs that carries the new modules: the guest's
 * own initramfs with a small uncompressed cpio archive appended (the
 * kernel unpacks concatenated archives in order, a later file replacing an
 * earlier one of the same path). Each new module sits at the path the
 * running kernel's modules.dep gives the module it replaces, so the
 * initramfs's own modprobe loads the new build at boot: the way to change
 * the root disk's driver, which can never be unloaded.
 *
 * Nothing on the guest's disk changes before the commit: the combined
 * initramfs lives in /run (gone with the kexec), so every rollback layer
 * (a thaw in place, a switch back, a restart) boots the old modules. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Where the combined initramfs of a switch is written. */
#define MOLT_MODULE_INITRD_PATH "/run/molt/driver-set.initrd"

/* The newc archive of CANDIDATES (MoltModuleCandidate) with the parent
 * directories of each file. */
GBytes *molt_module_initrd_overlay (GPtrArray *candidates, const gchar *release, GError **error);
/* BASE's bytes, zero padding to a 4-byte boundary, OVERLAY; into OUT by a
 * temporary file, fsync and rename (OUT may be BASE). */
gboolean molt_module_initrd_write (const gchar *base, GBytes *overlay, const gchar *out,
                                   GError **error);
/* modules-initrd: the running kernel's image and a combined initramfs for
 * the driver set of DIR: {kernel, initrd, base-initrd, release, modules:
 * [{name, path}]}. */
JsonNode *molt_module_initrd_build (const gchar *dir, GError **error);

G_END_DECLS
