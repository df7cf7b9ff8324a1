/* The last rollback layer of a live driver-set reload: when the agent's own
 * rollback could not load an old module again (its init failing where it
 * loaded before, say a device the failed hotfix left stuck), the running
 * kernel is booted again by the ordinary kernel switch with the disk's
 * initramfs (/boot/vmlinuz-RELEASE, /boot/initrd.img-RELEASE): the jobs are
 * checkpointed and restored as for any switch, and on the fresh boot the
 * old modules load from the disk, whose files the agent's rollback put
 * back (modules-load). Its own rollback layers stay those of the kernel
 * switch. */
#pragma once

#include <json-glib/json-glib.h>

#include "molt-switch.h"

G_BEGIN_DECLS

/* KEXEC: the switch's options (timeouts, snapshot); kernel, initrd, probe
 * and hooks are set here. LOADED: the set's modules loaded before the
 * reload; BEFORE: name -> the preflight's view of it (its loaded build).
 * CAUSE: what failed, kept at the head of the error. Fills REPORT (the
 * kernel switch's report, "modules" the old ones after the boot). Returns
 * ROLLED_BACK when every old module runs again, BROKEN otherwise. */
MoltSwitchResult molt_switch_modules_fall_back (const MoltSwitchOptions *kexec,
                                                const gchar *release, const gchar *const *loaded,
                                                JsonObject *before, const gchar *cause,
                                                JsonObject *report, GError **error);

G_END_DECLS
