/* Who holds a module, for the preflight's refusal of a live reload: the
 * processes with one of its devices open and the filesystems mounted from
 * one of them. A device belongs to the module whose driver binds it or
 * one of its parents in sysfs (a disk's partition, the disk, its virtio
 * device), or, for a virtual device with no driver (a misc device), whose
 * name it bears; and the network interfaces it drives. */
#pragma once

#include <sys/types.h>

#include <glib.h>

G_BEGIN_DECLS

/* "pid 179 (sleep) has /dev/molt_testdrv open; / is mounted from
 * /dev/vda; network interface eth0", or NULL when nothing is found. */
gchar *molt_module_users_describe (const gchar *module);
/* Whether the device RDEV (a block device when BLOCK) belongs to MODULE. */
gboolean molt_module_owns_device (dev_t rdev, gboolean block, const gchar *module);

G_END_DECLS
