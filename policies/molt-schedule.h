/* When a schedule was last due. All times are UTC. */
#pragma once

#include "molt-policy.h"

G_BEGIN_DECLS

/* The latest scheduled instant at or before now (seconds since the epoch). */
gint64 molt_schedule_last_due (const MoltSchedule *schedule, gint64 now);

/* The first scheduled instant after now. */
gint64 molt_schedule_next_due (const MoltSchedule *schedule, gint64 now);
/* The longest time between two scheduled instants (a month: 31 days). */
gint64 molt_schedule_period (const MoltSchedule *schedule);
/* Parses "hourly [:MM]", "daily HH:MM", "weekly DAY HH:MM", "monthly D HH:MM";
 * *why says what is wrong. */
gboolean molt_schedule_parse (const gchar *text, MoltSchedule *out, gchar **why);

G_END_DECLS
