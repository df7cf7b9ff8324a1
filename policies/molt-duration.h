/* Durations as people write them in policy files and read them in
 * `molt policy status`: "90m", "36h", "2d", "1w", "1d12h". */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Ten years: anything longer is a typo, not a threshold. */
#define MOLT_DURATION_MAX ((gint64) 10 * 366 * 86400)

/* NUMBER UNIT, repeated (units s, m, h, d, w, each at most once, largest
 * first); *why says what is wrong. */
gboolean molt_duration_parse (const gchar *text, gint64 *seconds, gchar **why);
/* The two largest units that are not zero, in days at most: "1d12h",
 * "1d15m", "36m", "5s" (the rest is cut, not rounded). */
gchar *molt_duration_format (gint64 seconds);

G_END_DECLS
