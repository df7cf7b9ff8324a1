/* Finds out, once and off the main loop, whether CRIU works in this guest.
 *
 * `criu check` takes a noticeable time under TCG, so the agent starts the
 * probe at start-up and `info` reports "checking" until it is done. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct _MoltCriuProbe MoltCriuProbe;

MoltCriuProbe *molt_criu_probe_new (const gchar *work_dir);
/* Drops the caller's reference; a check still running keeps its own. */
void molt_criu_probe_free (MoltCriuProbe *probe);
void molt_criu_probe_start (MoltCriuProbe *probe);
/* {"state": "checking"|"ok"|"failed", "version": N, "error": "..."} */
JsonNode *molt_criu_probe_to_json (MoltCriuProbe *probe);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MoltCriuProbe, molt_criu_probe_free)

G_END_DECLS
