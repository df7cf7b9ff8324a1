/* The driver set a `molt switch --modules DIR` would install, against the
 * running kernel: each .ko of DIR (vermagic, depends), and the module it
 * replaces (loaded or not, built in, its version, who holds it). */
#pragma once

#include <json-glib/json-glib.h>

#include "molt-module-info.h"

G_BEGIN_DECLS

typedef struct
{
  gchar *file;
  MoltModuleInfo *info;
  gboolean loaded;
  gboolean builtin;
  gchar *loaded_version;    /* NULL when none or not loaded */
  gchar *loaded_srcversion; /* likewise */
  gchar *loaded_build_id;   /* likewise (hex) */
  gint refcnt;              /* -1 when not loaded */
  GStrv holders;            /* modules that use it (never NULL) */
} MoltModuleCandidate;

void molt_module_candidate_free (MoltModuleCandidate *c);

/* The .ko files of DIR, in dependency order (a module after those of DIR
 * it depends on), each against the running kernel. *problems (strings)
 * gets what makes the set impossible to install: a vermagic for another
 * release, a dependency neither loaded, known to the running kernel nor
 * in DIR, a module built into the kernel. NULL with an error when DIR
 * cannot be read or a file is not a module. */
GPtrArray *molt_module_inspect_dir (const gchar *dir, const gchar *release, GPtrArray *problems,
                                    GError **error);
/* Why the loaded module of C cannot be unloaded now (used by N, held by
 * modules ...), or NULL when it can (or is not loaded). */
/* molt_module_inspect_dir against the running kernel, its problems made
 * the error ("the driver set cannot be installed: ..."); *release set. */
GPtrArray *molt_module_inspect_installable (const gchar *dir, gchar **release, GError **error);
gchar *molt_module_busy_reason (const MoltModuleCandidate *c);
JsonObject *molt_module_candidate_to_json (const MoltModuleCandidate *c);
/* The module's attribute in /sys/module/NAME (version, srcversion...),
 * stripped; NULL when absent. */
gchar *molt_module_sysfs (const gchar *name, const gchar *attribute);
/* NAME's file in RELEASE's modules.dep (absolute), or NULL. */
gchar *molt_module_file (const gchar *release, const gchar *name);
/* The loaded module's build id (hex), from its notes in sysfs; NULL. */
gchar *molt_module_loaded_build_id (const gchar *name);

G_END_DECLS
