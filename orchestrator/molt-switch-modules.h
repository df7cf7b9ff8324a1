/* molt switch DOMAIN --modules DIR: a driver set (fixed builds of kernel
 * modules for the kernel the guest runs) installed while the jobs wait.
 *
 * The preflight asks the agent about each module of DIR (modules-inspect:
 * vermagic and depends against the running kernel, the module it replaces
 * and who holds it) and refuses with the reason before anything is
 * frozen. The live path: the jobs are frozen, the agent swaps the modules
 * (modules-reload, which puts the old ones back itself if a new one fails
 * to load), the jobs are thawed. No kexec, no CRIU. The same-kernel kexec
 * path, for a module that cannot be unloaded (the root disk's driver) or
 * when asked: the agent writes the guest's initramfs with the new modules
 * appended (molt-module-initrd.h, in /run), and the ordinary kernel switch
 * boots the running kernel again with it, its rollback layers unchanged
 * (nothing on the guest's disk changed); on the new boot every module must
 * run its new build (modules-settle) before the probe; the commit stages
 * the files under updates/molt and updates the initramfs
 * (modules-install). */
#pragma once

#include <json-glib/json-glib.h>

#include "molt-switch.h"

G_BEGIN_DECLS

typedef enum
{
  MOLT_SWITCH_MODULES_AUTO,  /* live when every module can be unloaded, else kexec */
  MOLT_SWITCH_MODULES_LIVE,  /* --live: refused at preflight when not possible */
  MOLT_SWITCH_MODULES_KEXEC, /* --kexec */
} MoltSwitchModulesPath;

typedef struct
{
  const gchar *uri;
  const gchar *domain;
  const gchar *dir; /* in the guest */
  const gchar *state_dir;
  gboolean dry_run;
  guint agent_timeout_s;
  MoltSwitchProgressFunc progress;
  MoltSwitchModulesPath path;
  /* The kexec path's switch: its timeouts, probe, snapshot and the rest;
   * kernel, initrd and hooks are set here. */
  const MoltSwitchOptions *kexec;
} MoltSwitchModulesOptions;

/* Fills REPORT (domain, path, reason, modules, steps, downtime-s, result). */
MoltSwitchResult molt_switch_modules (const MoltSwitchModulesOptions *o, JsonObject *report,
                                      GError **error);

G_END_DECLS
