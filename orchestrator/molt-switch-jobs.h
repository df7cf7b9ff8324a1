/* What a switch or a rollback did to the jobs, judged from the agent's job
 * lists before (frozen) and after. Pure: JSON in, report entries and
 * errors out; every member read through the typed getters. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* After a switch: every job frozen before runs again under the same name,
 * with the same PID in its namespace (read from the restored process) and
 * the same namespace PIDs as at its checkpoint. Appends one report entry
 * per job (name, pids, downtime) to report_jobs. The downtime is the
 * guest's (resumed-at minus frozen-at); when the guest's clock cannot give
 * it (it went back across the kernel switch: a new kernel reads the RTC),
 * host_bound_s, what the host measured from the freeze to now, stands in as
 * an upper bound ("downtime-clock": "host"). */
gboolean molt_switch_jobs_verify_switch (JsonArray *before, JsonArray *after, gdouble host_bound_s,
                                         JsonArray *report_jobs, GError **error);

/* After a rollback: one report entry per job frozen (or running) before, its "state"
 * saying what is true: "running" (same PID in its namespace), "gone" (with
 * its exit status or signal), or "unknown" (after NULL: the agent could not
 * be asked). Returns how many are not running; *summary (may be NULL) says
 * which, for a message. */
guint molt_switch_jobs_verify_rollback (JsonArray *before, JsonArray *after,
                                        const GError *list_error, JsonArray *report_jobs,
                                        gchar **summary);

/* Every running job can be restored after a switch: one started without
 * its own PID namespace (its PID there is its guest PID) would collide
 * with the new boot's PIDs. FALSE names the first that cannot. */
gboolean molt_switch_jobs_check_restorable (JsonArray *jobs, GError **error);

/* The jobs the agent's preflight found CRIU certain to refuse
 * (switch-preflight's "checkpoint-blockers": [{job, reasons: [TEXT...]}]).
 * FALSE names them with the agent's reasons (the first few, and how many
 * more); an agent that does not inspect (no member) passes. */
gboolean molt_switch_jobs_check_blockers (JsonObject *preflight, GError **error);

/* How many jobs of a guest's list are in state (members of the wrong type
 * count as no state). */
guint molt_switch_jobs_count_state (JsonArray *jobs, const gchar *state);

/* A job frozen before the switch runs on the new kernel now: its images
 * are behind it, so switching back to them would lose its work. */
gboolean molt_switch_jobs_ran_on_new_kernel (JsonArray *before, JsonArray *after);

/* Every entry of a job list is well formed (typed members, in range). */
gboolean molt_switch_jobs_check_list (JsonArray *jobs, const gchar *what, GError **error);

G_END_DECLS
