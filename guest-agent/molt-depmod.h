/* The running kernel's module index (modules.dep), rebuilt by depmod.
 *
 * A live reload rebuilds it after its reply, in the background (seconds
 * under TCG: the whole module tree). Whoever reads the index next must
 * not see the one from before that reload: a second reload would take
 * the module's old place for its current file and fail to move it
 * aside. molt_depmod_settle() is that wait; the index's readers call it. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* depmod -a RELEASE now; a warning naming the cause when it fails (the
 * running kernel has the right modules either way). */
void molt_depmod_run (const gchar *release);

/* depmod -a RELEASE in the background; one at a time (a second call
 * first waits for the first). */
void molt_depmod_run_later (const gchar *release);

/* Waits for the background depmod, if one runs. */
void molt_depmod_settle (void);

G_END_DECLS
