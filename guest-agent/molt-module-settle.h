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

/* The old modules again, after a boot that was to bring them back (a live
 * reload whose own rollback could not load them, the host's next layer: a
 * kexec of the running kernel with the disk's initramfs): each of NAMES not
 * loaded at this boot is loaded by modprobe from the disk, whose files the
 * rollback put back. {modules: [{name, srcversion, version, build-id, how}
 * or {name, error}]}: a module that still fails is reported, not an error
 * (another boot would not help; the host says so). */
JsonNode *molt_module_settle_old (const gchar *const *names, GError **error);

G_END_DECLS
