/* Files a job holds open, recorded at checkpoint and verified before
 * restore: a file that changed or vanished in between must fail the
 * restore by name, not restore a job onto data it never wrote. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Writes IMAGES_DIR/molt-files.json: path, size, mtime and inode of every
 * regular file open in the tree rooted at pid. */
gboolean molt_file_check_record (gint pid, const gchar *images_dir, GError **error);
/* Compares the record with the files as they are now; the error names the
 * first file that differs and how. */
gboolean molt_file_check_verify (const gchar *images_dir, GError **error);
/* The first recorded file not under skip_prefix (test fault hook). */
gchar *molt_file_check_first_path (const gchar *images_dir, const gchar *skip_suffix);

G_END_DECLS
