/* The per-domain journal of a switch, on the host.
 *
 * Each step is written (and fsynced) before it starts, so an orchestrator
 * killed in the middle leaves a record that `molt rollback` and
 * `molt switch --resume` can act on. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct _MoltJournal MoltJournal;

/* STATE_DIR/journal/DOMAIN.json */
MoltJournal *molt_journal_new (const gchar *state_dir, const gchar *domain);
void molt_journal_free (MoltJournal *journal);
/* A missing journal is an error naming the path. */
gboolean molt_journal_load (MoltJournal *journal, GError **error);
gboolean molt_journal_save (MoltJournal *journal, GError **error);

void molt_journal_set_string (MoltJournal *journal, const gchar *key, const gchar *value);
const gchar *molt_journal_get_string (MoltJournal *journal, const gchar *key);
/* Takes a reference to array. */
void molt_journal_set_array (MoltJournal *journal, const gchar *key, JsonArray *array);
JsonArray *molt_journal_get_array (MoltJournal *journal, const gchar *key);
/* Records that STEP starts now, and saves. */
gboolean molt_journal_begin_step (MoltJournal *journal, const gchar *step, GError **error);
const gchar *molt_journal_get_path (MoltJournal *journal);
/* The step the journal last began. */
const gchar *molt_journal_get_last_step (MoltJournal *journal);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MoltJournal, molt_journal_free)

G_END_DECLS
