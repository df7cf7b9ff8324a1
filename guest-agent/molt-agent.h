/* The guest agent's state: configuration, job registry, CRIU probe.
 *
 * Transport-free: sessions hand it request lines and write back what it
 * returns, which is also how the unit tests drive it. */
#pragma once

#include <json-glib/json-glib.h>

#include "molt-criu-probe.h"
#include "molt-job-launcher.h"
#include "molt-job-registry.h"

G_BEGIN_DECLS

#define MOLT_AGENT_MAX_REQUEST (256 * 1024)

typedef struct
{
  gchar *state_dir;    /* registry, job logs, CRIU work files */
  gchar *unshare_path; /* NULL: from PATH */
  gchar *setsid_path;  /* NULL: from PATH */
  gchar *cgroup_root;  /* NULL: /sys/fs/cgroup (unit tests use a directory) */
  gchar *grub_dir;     /* NULL: /boot/grub (grub.cfg, grubenv) */
  gboolean probe_criu; /* FALSE in unit tests */
} MoltAgentConfig;

typedef struct _MoltAgent MoltAgent;

MoltAgent *molt_agent_new (const MoltAgentConfig *config, GError **error);
void molt_agent_free (MoltAgent *agent);

MoltJobRegistry *molt_agent_get_registry (MoltAgent *agent);
MoltCriuProbe *molt_agent_get_criu_probe (MoltAgent *agent);
const MoltJobLauncherConfig *molt_agent_get_launcher_config (MoltAgent *agent);
const gchar *molt_agent_get_grub_dir (MoltAgent *agent);
/* The jobs are frozen (SIGSTOP): separate from the filesystems' freeze. */
gboolean molt_agent_is_frozen (MoltAgent *agent);
void molt_agent_set_frozen (MoltAgent *agent, gboolean frozen);
/* A command running off the main loop ("checkpoint", "freeze", "kexec",
 * "job-start"), or NULL. While one runs, only commands flagged
 * ALLOWED_WHILE_BUSY are served; an auto-thaw that falls due during a
 * checkpoint waits for it to end, and runs at once during anything else. */
const gchar *molt_agent_get_busy (MoltAgent *agent);
void molt_agent_set_busy (MoltAgent *agent, const gchar *what);
/* Jobs a running checkpoint dumps: an exit meanwhile is recorded when the
 * dump ends, after the dump's own changes to the registry. */
void molt_agent_set_dumping (MoltAgent *agent, GStrv names);
void molt_agent_end_dumping (MoltAgent *agent);
gboolean molt_agent_is_dumping (MoltAgent *agent);
const gchar *molt_agent_get_state_dir (MoltAgent *agent);
/* Writes the registry; failures are logged, never fatal for the caller. */
void molt_agent_save_registry (MoltAgent *agent);
/* Called from the launcher when a job's tree ends. */
void molt_agent_job_exited (const gchar *name, gint wait_status, gpointer agent);

/* Filesystem freeze (FIFREEZE) of every block-device mount, done by a
 * thread: between begin and end the filesystems may be frozen, so the
 * registry is not written. end takes the mounts frozen (NULL: none). */
void molt_agent_begin_fs_freeze (MoltAgent *agent);
void molt_agent_end_fs_freeze (MoltAgent *agent, GStrv mounts);
void molt_agent_thaw_filesystems (MoltAgent *agent);
GStrv molt_agent_get_frozen_mounts (MoltAgent *agent);
/* If the host does not thaw within seconds (it may be gone), thaw anyway. */
void molt_agent_arm_auto_thaw (MoltAgent *agent, guint seconds);
void molt_agent_disarm_auto_thaw (MoltAgent *agent);

/* The loaded kernel runs after delay_ms (run is called then, once): the
 * reply to kexec goes out first. A thaw before that (or while the kernel
 * loads) cancels it: the host came back and takes the old boot as it is. */
void molt_agent_schedule_kexec (MoltAgent *agent, guint delay_ms, GSourceFunc run);
/* Around kexec -l: end says whether the kernel is still wanted (no thaw
 * called the switch off while it loaded). */
void molt_agent_begin_kexec_load (MoltAgent *agent);
gboolean molt_agent_end_kexec_load (MoltAgent *agent);
/* A kernel loaded ahead (kexec-load, before the jobs freeze), described by
 * WHAT: take says whether WHAT is the one loaded, and forgets it. A thaw
 * cancels it like a kexec due (and the kernel is unloaded). */
void molt_agent_set_kexec_preloaded (MoltAgent *agent, const gchar *what);
gboolean molt_agent_take_kexec_preloaded (MoltAgent *agent, const gchar *what);
gboolean molt_agent_cancel_kexec (MoltAgent *agent);
gboolean molt_agent_kexec_pending (MoltAgent *agent);

/* Where a reply goes: the reply line (with its newline), and whether a
 * 0xFF byte must precede it. */
typedef void (*MoltReplyFunc) (const gchar *reply, gboolean delimited, gpointer data);
/* Handles one request line. The reply goes to REPLY at once, or later from
 * the main loop for a command that runs off it (a CRIU dump); DESTROY frees
 * DATA after the reply, which lets the session vanish meanwhile. */
void molt_agent_handle_line_async (MoltAgent *agent, const gchar *line, MoltReplyFunc reply,
                                   gpointer data, GDestroyNotify destroy);
/* The same, waiting for the reply (iterating the default main context):
 * for the unit tests. */
gchar *molt_agent_handle_line (MoltAgent *agent, const gchar *line, gboolean *delimited);
/* The reply for a line that was too long to parse. */
gchar *molt_agent_oversized_reply (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MoltAgent, molt_agent_free)

G_END_DECLS
