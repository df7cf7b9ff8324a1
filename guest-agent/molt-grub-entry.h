/* Finds the GRUB menu entry that boots a given kernel, in a grub.cfg as
 * update-grub writes it, for GRUB's one-shot next_entry.
 *
 * Before a kexec to a new kernel, the switch points GRUB's next boot at the
 * old kernel: if the new kernel hangs and the host restarts the domain (or
 * it panics and reboots), GRUB boots the old kernel once, whatever the
 * default entry is (an installed kernel package makes itself the default),
 * and the old kernel's boot restores the jobs. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The entry (submenu ids and the entry's id joined by '>', as grub-reboot
 * takes it; a title where an entry has no id) whose linux line loads
 * vmlinuz-RELEASE, recovery-mode entries left out; NULL with an error
 * naming the release when none does. cfg is LENGTH bytes, not necessarily
 * NUL-terminated (the caller caps what it reads). */
gchar *molt_grub_find_entry (const gchar *cfg, gsize length, const gchar *release, GError **error);

G_END_DECLS
