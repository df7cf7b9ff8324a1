/* The per-domain journal of a switch, on the host.
 *
 * STATE_DIR/journal/UUID.json (never a path from user or guest text). Each
 * step is written (and fsynced) before it starts, so an orchestrator killed
 * in the middle leaves a record that `molt rollback` and `molt switch
 * --resume` can act on. Read it only while holding the domain's lock. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef enum
{
  MOLT_JOURNAL_NONE,        /* no journal, or one without a state */
  MOLT_JOURNAL_IN_PROGRESS, /* a switch runs, or was interrupted */
  MOLT_JOURNAL_COMMITTED,
  MOLT_JOURNAL_ROLLED_BACK,
  MOLT_JOURNAL_FAILED, /* the switch failed and so did its rollback */
  MOLT_JOURNAL_LAST
} MoltJournalState;

const gchar *molt_journal_state_to_string (MoltJournalState state);
/* In progress or failed: the rollback point may still be needed. */
gboolean molt_journal_state_is_unresolved (MoltJournalState state);

typedef struct _MoltJournal MoltJournal;

MoltJournal *molt_journal_new (const gchar *state_dir, const gchar *uuid, const gchar *domain);
void molt_journal_free (MoltJournal *journal);
/* A missing journal is G_FILE_ERROR_NOENT, naming the path. */
gboolean molt_journal_load (MoltJournal *journal, GError **error);
gboolean molt_journal_save (MoltJournal *journal, GError **error);

MoltJournalState molt_journal_get_state (MoltJournal *journal);
/* Sets the state and saves. */
gboolean molt_journal_set_state (MoltJournal *journal, MoltJournalState state, GError **error);
void molt_journal_set_string (MoltJournal *journal, const gchar *key, const gchar *value);
const gchar *molt_journal_get_string (MoltJournal *journal, const gchar *key);
/* Takes a reference to array. */
void molt_journal_set_array (MoltJournal *journal, const gchar *key, JsonArray *array);
JsonArray *molt_journal_get_array (MoltJournal *journal, const gchar *key);
/* Records that STEP starts now, and saves. */
gboolean molt_journal_begin_step (MoltJournal *journal, const gchar *step, GError **error);
const gchar *molt_journal_get_path (MoltJournal *journal);
/* The step the journal last began (NULL: none) and when (seconds since
 * the epoch; may be NULL). */
const gchar *molt_journal_get_last_step (MoltJournal *journal, gint64 *since);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MoltJournal, molt_journal_free)

G_END_DECLS
