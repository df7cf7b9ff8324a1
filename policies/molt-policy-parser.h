/* Policy files: INI, one or more [policy NAME] sections.
 *
 *   [policy nightly]
 *   domains = web-*, db1
 *   schedule = daily 02:30
 *   memory = true
 *   quiesce = best-effort
 *   keep-daily = 7
 *
 * Every problem is reported as "FILE:LINE: KEY: what is wrong, what is
 * allowed"; a file with any problem yields no policy. Own parser (not
 * GKeyFile) because errors must carry line numbers. */
#pragma once

#include "molt-policy.h"

G_BEGIN_DECLS

#define MOLT_POLICY_FILE_MAX (1024 * 1024)

/* Parses text (from file, for messages). Appends policies and error lines;
 * returns FALSE if there was any error. */
gboolean molt_policy_parse_text (const gchar *file, const gchar *text, gsize len,
                                 GPtrArray *policies, GPtrArray *errors);
gboolean molt_policy_parse_file (const gchar *path, GPtrArray *policies, GPtrArray *errors);
/* All *.conf in dir, sorted by name; duplicate policy names are errors. */
gboolean molt_policy_load_dir (const gchar *dir, GPtrArray *policies, GPtrArray *errors);

G_END_DECLS
