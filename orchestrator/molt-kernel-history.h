/* Per domain, the kernel releases a switch committed on: STATE_DIR/kernels/
 * UUID, one release per line, newest last, at most MOLT_KERNEL_HISTORY_MAX.
 *
 * --snapshot auto takes its whole-VM snapshot only before a kernel's first
 * switch on a domain: an untried kernel is what might damage the disks (a
 * filesystem bug, a driver that writes garbage); a kernel that already ran
 * there is as safe as the rollback layers make it. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define MOLT_KERNEL_HISTORY_MAX 64

/* FALSE also when the history cannot be read: the safe side for auto is to
 * take the snapshot. */
gboolean molt_kernel_history_has (const gchar *state_dir, const gchar *uuid, const gchar *release);
/* Adds release (moved to the end if it is there already). */
gboolean molt_kernel_history_add (const gchar *state_dir, const gchar *uuid, const gchar *release,
                                  GError **error);

G_END_DECLS
