/* molt switch DOMAIN --modules DIR: a driver set (fixed builds of kernel
 * modules for the kernel the guest runs) installed while the jobs wait.
 *
 * The preflight asks the agent about each module of DIR (modules-inspect:
 * vermagic and depends against the running kernel, the module it replaces
 * and who holds it) and refuses with the reason before anything is
 * frozen. The live path: the jobs are frozen, the agent swaps the modules
 * (modules-reload, which puts the old ones back itself if a new one fails
 * to load), the jobs are thawed. No kexec, no CRIU. The same-kernel kexec
 * path (for a module that cannot be unloaded) is not built yet: such a
 * set is refused, naming the holder. */
#pragma once

#include <json-glib/json-glib.h>

#include "molt-switch.h"

G_BEGIN_DECLS

typedef struct
{
  const gchar *uri;
  const gchar *domain;
  const gchar *dir; /* in the guest */
  const gchar *state_dir;
  gboolean dry_run;
  guint agent_timeout_s;
  MoltSwitchProgressFunc progress;
} MoltSwitchModulesOptions;

/* Fills REPORT (domain, path, reason, modules, steps, downtime-s, result). */
MoltSwitchResult molt_switch_modules (const MoltSwitchModulesOptions *o, JsonObject *report,
                                      GError **error);

G_END_DECLS
