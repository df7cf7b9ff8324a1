/* molt switch --kernel installed: the newest kernel installed in the guest
 * (its switch-preflight reply's installed-kernels), of the running
 * kernel's flavour when there is one (cloud-amd64 stays cloud-amd64). */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The word `molt switch --kernel` takes for it. */
#define MOLT_KERNEL_INSTALLED "installed"

/* running: the guest's kernel release. FALSE with what to do when the
 * guest reports none, or when the newest is the one running. */
gboolean molt_installed_kernel_pick (JsonObject *preflight, const gchar *running, gchar **image,
                                     gchar **initrd, gchar **release, GError **error);

G_END_DECLS
