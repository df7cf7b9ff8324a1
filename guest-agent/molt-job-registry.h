/* The set of managed jobs, persisted on the guest's disk.
 *
 * The registry must survive an agent restart and a kernel switch, so every
 * change is written through atomically (rename over the old file). */
#pragma once

#include "molt-job.h"

G_BEGIN_DECLS

typedef struct _MoltJobRegistry MoltJobRegistry;

MoltJobRegistry *molt_job_registry_new (const gchar *path);
void molt_job_registry_free (MoltJobRegistry *registry);
/* A missing file is an empty registry; a broken one is an error. */
gboolean molt_job_registry_load (MoltJobRegistry *registry, GError **error);
gboolean molt_job_registry_save (MoltJobRegistry *registry, GError **error);

MoltJob *molt_job_registry_lookup (MoltJobRegistry *registry, const gchar *name);
/* Takes ownership of job; fails if a job of that name exists and still runs. */
gboolean molt_job_registry_add (MoltJobRegistry *registry, MoltJob *job, GError **error);
gboolean molt_job_registry_remove (MoltJobRegistry *registry, const gchar *name);
/* Jobs sorted by start time, then name; the registry keeps ownership. */
GPtrArray *molt_job_registry_list (MoltJobRegistry *registry);
/* Refreshes every job's liveness; returns TRUE if anything changed. */
gboolean molt_job_registry_refresh (MoltJobRegistry *registry);
/* How many jobs are in state. */
guint molt_job_registry_count_state (MoltJobRegistry *registry, MoltJobState state);
const gchar *molt_job_registry_get_path (MoltJobRegistry *registry);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MoltJobRegistry, molt_job_registry_free)

G_END_DECLS
