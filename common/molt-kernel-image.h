/* The release a kernel image will report (uname -r), read from the image
 * itself: x86 bzImages carry it in their setup header ("HdrS", protocol
 * 2.00 and later: kernel_version at 0x20E points to "6.1.0-56-cloud-amd64
 * (debian-kernel@...) #1 SMP ..."). The switch compares it with what the
 * guest reports after the switch: a new kernel that panics and reboots
 * into the old one must not pass for a switch. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The release, or NULL with an error naming the file and what is wrong. */
gchar *molt_kernel_image_release (const gchar *path, GError **error);
/* The same from the image's first bytes (at least 0x200 + the string). */
gchar *molt_kernel_image_release_from_data (const guint8 *data, gsize len, GError **error);

G_END_DECLS
