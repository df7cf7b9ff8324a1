/* After the same-kernel kexec of a driver-set switch (molt-module-initrd.h),
 * on the new boot: each module of the set must run its new build. One the
 * initramfs loaded runs it already; one that was loaded before the switch
 * and that nothing loaded at this boot is loaded from the set; one loaded
 * from the disk at boot (the old file is still there until the commit)
 * fails the switch, which then rolls back. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* {modules: [{name, srcversion, version, how}], from-initramfs}; LOADED:
 * the names loaded before the switch. */
JsonNode *molt_module_settle (const gchar *dir, const gchar *const *loaded, GError **error);

G_END_DECLS
