/* The host state directory: journals and locks. */
#pragma once

#include <glib.h>

/* $MOLT_STATE_DIR, else the build option statedir (/var/lib/molt). */
const gchar *molt_state_dir (void);
