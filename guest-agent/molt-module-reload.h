/* The live path of a driver-set switch: the modules of DIR replace the
 * loaded ones without a reboot. With the jobs frozen by the host: each new
 * module is staged under /lib/modules/RELEASE/updates/molt (so that the
 * next boot loads it too, after depmod), the old ones are unloaded (those
 * that depend on others first) and the new ones loaded (dependencies
 * first), each checked in /sys/module. Any failure puts back what was
 * there: the new modules unloaded, the staged files removed (the next
 * boot must not pick up a failed hotfix), files moved aside restored, the
 * old modules loaded again; the error says what failed and how the
 * rollback went. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Per module: {name, old-version, old-srcversion, new-version,
 * new-srcversion, unload-s, load-s}; NULL with the error. Refused before
 * anything changes when the set cannot be installed (molt-module-inspect.h)
 * or a module to replace is in use. */
JsonNode *molt_module_reload (const gchar *dir, gboolean hold, GError **error);
/* With HOLD, a successful reload keeps what a revert needs (the old files
 * moved aside, no depmod yet) until the host, after its probe, commits it
 * or reverts it (the rollback above, as if a load had failed); a reload
 * is refused while one is held. Commit: {dir}. Revert: {how}, or the
 * error saying what could not be put back. */
JsonNode *molt_module_reload_commit (GError **error);
JsonNode *molt_module_reload_revert (GError **error);
/* The commit of a same-kernel kexec path: DIR's modules staged under
 * updates/molt for the next boot (depmod run), and with INITRAMFS the
 * initramfs updated too. {staged: [...], initramfs: "how"}. */
JsonNode *molt_module_install (const gchar *dir, gboolean initramfs, GError **error);
/* Loads FILE: by finit_module when it is a plain .ko, else (compressed)
 * by modprobe NAME, which knows the kernel's compression. */
gboolean molt_module_load_file (const gchar *file, const gchar *name, GError **error);

G_END_DECLS
