/* Freezes the guest's block-device filesystems (FIFREEZE), for a
 * consistent disk snapshot. While they are frozen the agent must not write
 * to them (it defers its registry writes) and still answers sync and thaw. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Freezes every mounted filesystem on a block device, last mounted first;
 * on failure thaws what it froze. Returns the mount points frozen. */
GStrv molt_fs_freeze_all (GError **error);
/* Thaws the given mount points (first mounted first); returns how many. */
guint molt_fs_thaw_all (const GStrv mounts);

G_END_DECLS
