#include "molt-state-dir.h"

#ifndef MOLT_STATEDIR
#define MOLT_STATEDIR "/var/lib/molt"
#endif

const gchar *
molt_state_dir (void)
{
  const gchar *dir = g_getenv ("MOLT_STATE_DIR");
  return dir != NULL && dir[0] != '\0' ? dir : MOLT_STATEDIR;
}
