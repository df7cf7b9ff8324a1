/* A managed job: one process tree in its own PID namespace. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef enum
{
  MOLT_JOB_STATE_RUNNING,
  MOLT_JOB_STATE_STOPPING,
  MOLT_JOB_STATE_EXITED,
  MOLT_JOB_STATE_FROZEN,         /* stopped by molt for a snapshot/checkpoint */
  MOLT_JOB_STATE_CHECKPOINTED,   /* dumped by CRIU; restored at the next boot */
  MOLT_JOB_STATE_RESTORE_FAILED, /* the restore at boot failed: restore_error */
  MOLT_JOB_STATE_LAST
} MoltJobState;

typedef struct
{
  gchar *name;
  GStrv argv;
  gchar *cwd;
  GStrv env;
  gchar *user; /* runs as this user; NULL: as the agent (root) */
  gchar *log_path;
  gint host_pid;          /* PID of the namespace's init, seen from the agent */
  gint ns_pid;            /* the same process, seen inside its namespace */
  guint64 proc_starttime; /* /proc/PID/stat field 22: tells PID reuse apart */
  gint64 start_time;      /* wall clock, seconds since the epoch */
  MoltJobState state;
  gint exit_status;              /* wait status, valid when state is EXITED */
  gboolean exit_known;           /* FALSE when the job ended while the agent was away */
  gchar *images_dir;             /* CRIU images of the last checkpoint */
  gchar *restore_error;          /* why the last restore failed */
  gint64 frozen_at;              /* wall clock, microseconds; 0 when not frozen */
  gint64 resumed_at;             /* wall clock, microseconds, of the last thaw */
  gchar *ns_pids_dumped;         /* sorted namespace PIDs of the tree at checkpoint */
  gchar *ns_pids_restored;       /* the same, right after the restore */
  gboolean hold_after_restore;   /* restored stopped, until the host thaws */
  gboolean tcp_close_on_restore; /* its TCP connections come back closed (--tcp close) */
} MoltJob;

const gchar *molt_job_state_to_string (MoltJobState state);
gboolean molt_job_state_from_string (const gchar *text, MoltJobState *state);

/* Job names are path components of the job directory: keep them tame. */
gboolean molt_job_name_is_valid (const gchar *name, GError **error);

MoltJob *molt_job_new (const gchar *name);
void molt_job_free (MoltJob *job);

JsonNode *molt_job_to_json (const MoltJob *job);
MoltJob *molt_job_from_json (JsonNode *node, GError **error);

/* Reads /proc/PID/stat field 22 (start time in clock ticks since boot). */
gboolean molt_proc_read_starttime (gint pid, guint64 *starttime, GError **error);
/* "1 2 5": the sorted namespace PIDs of the tree rooted at pid. */
gchar *molt_job_tree_ns_pids (gint pid);
/* The PID of a process inside its own (innermost) PID namespace, or -1. */
gint molt_proc_read_ns_pid (gint pid);
/* Marks a RUNNING/STOPPING job EXITED when its process is gone or was replaced. */
gboolean molt_job_refresh (MoltJob *job);
/* The job's recorded init still runs, the same process (PID and start
 * time): not a PID that a new boot gave to something else. */
gboolean molt_job_tree_is_alive (const MoltJob *job);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MoltJob, molt_job_free)

G_END_DECLS
