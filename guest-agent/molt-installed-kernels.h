/* The kernels installed in the guest, as Debian's packages lay them out in
 * /boot (vmlinuz-RELEASE, initrd.img-RELEASE): what `molt switch --kernel
 * installed` chooses from. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* At most this many reported: a /boot of thousands of files is not a
 * reason to send them all. */
#define MOLT_INSTALLED_KERNELS_MAX 32

/* [{release, image, initrd?}], newest release first (version order: 6.1.0-56
 * after 6.1.0-9), readable images only. */
JsonArray *molt_installed_kernels (const gchar *boot_dir);

G_END_DECLS
