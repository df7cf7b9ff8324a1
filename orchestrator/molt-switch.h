/* The kernel switch workflow (docs/switch.md):
 * preflight -> freeze -> [snapshot] -> checkpoint -> switch -> restore ->
 * verify -> commit, or on any failure after the freeze: rollback, by the
 * least destructive layer that works (thaw in place, switch back, restart
 * on the old kernel, revert the snapshot if one was asked for).
 *
 * Every step is journaled before it starts (STATE_DIR/journal/UUID.json),
 * under the domain's exclusive lock; everything read from the guest goes
 * through typed, checked getters (molt-reply.h). */
#pragma once

#include <json-glib/json-glib.h>
#include <libvirt/libvirt.h>

#include "molt-agent-client.h"
#include "molt-transport.h"

G_BEGIN_DECLS

typedef enum
{
  MOLT_SWITCH_METHOD_KEXEC,  /* paths in the guest; kexec from the running kernel */
  MOLT_SWITCH_METHOD_REBOOT, /* paths on the host; a new QEMU with a new direct-boot kernel */
} MoltSwitchMethod;

typedef enum
{
  MOLT_SWITCH_SNAPSHOT_NEVER,  /* the default: the jobs' rollback layers only */
  MOLT_SWITCH_SNAPSHOT_ALWAYS, /* also a whole-VM external snapshot, the last resort */
  MOLT_SWITCH_SNAPSHOT_AUTO,   /* that snapshot only before a kernel's first switch on the
                                  domain (molt-kernel-history.h); if it fails, without */
} MoltSwitchSnapshot;

/* One progress line ("checkpoint: dumping the jobs with CRIU"); it may hold
 * guest text: escape it before a terminal sees it. */
typedef void (*MoltSwitchProgressFunc) (const gchar *line, gpointer data);
/* Opens a transport to DOM's agent; the default is its libvirt channel.
 * Unit tests hand in a scripted agent. */
typedef MoltTransport *(*MoltSwitchOpenAgentFunc) (virDomainPtr dom, gpointer data, GError **error);

/* A driver-set switch's own check on the new boot (before the probe) and
 * its commit (molt-switch-modules.c). A failed check rolls the switch
 * back; a failed commit is a warning. */
typedef gboolean (*MoltSwitchHookFunc) (MoltAgentClient *client, JsonObject *report, gpointer data,
                                        GError **error);

typedef struct
{
  const gchar *uri;
  MoltSwitchMethod method;
  const gchar *domain; /* as typed: a name, a UUID or an id */
  const gchar *kernel; /* in the guest (kexec) or on the host (reboot) */
  const gchar *initrd; /* likewise; may be NULL */
  const gchar *append; /* NULL: the current command line */
  const gchar *state_dir;
  MoltSwitchSnapshot snapshot;
  gboolean keep_snapshot;
  gboolean keep_images; /* the jobs' checkpoint images in the guest, after commit or rollback */
  gboolean tcp_close;   /* the jobs' TCP connections come back closed, not re-created */
  gboolean dry_run;
  guint agent_timeout_s; /* each short agent call */
  guint checkpoint_timeout_s;
  guint kexec_load_timeout_s; /* kexec and kexec-load; 0: the agent's own bound, and a little */
  guint boot_timeout_s;       /* new kernel to agent answering */
  const gchar *probe;         /* a shell command in the guest that must exit 0; NULL: none */
  guint probe_timeout_s;
  guint rollback_settle_ms;        /* after a rollback's thaw, before the jobs are checked */
  MoltSwitchProgressFunc progress; /* NULL: silent */
  gpointer progress_data;
  MoltSwitchOpenAgentFunc open_agent; /* NULL: the domain's channel */
  gpointer open_agent_data;
  MoltSwitchHookFunc verify_hook; /* NULL: none */
  MoltSwitchHookFunc commit_hook; /* NULL: none */
  gpointer hook_data;
} MoltSwitchOptions;

typedef enum
{
  MOLT_SWITCH_COMMITTED,
  MOLT_SWITCH_DRY_RUN,
  MOLT_SWITCH_NOTHING_DONE, /* failed before anything changed, or undone in place */
  MOLT_SWITCH_ROLLED_BACK,  /* failed, and the VM and its jobs are back as they were */
  MOLT_SWITCH_BROKEN,       /* failed, and so did the rollback (or a job did not survive it) */
} MoltSwitchResult;

/* Fills report (see docs/switch.md for its fields) in every case. */
MoltSwitchResult molt_switch_run (const MoltSwitchOptions *options, JsonObject *report,
                                  GError **error);
/* Undoes an interrupted switch from its journal: revert (if the snapshot
 * was taken), thaw, verify the jobs, drop the snapshot. */
MoltSwitchResult molt_switch_rollback (const MoltSwitchOptions *options, JsonObject *report,
                                       GError **error);
/* Finishes an interrupted switch from its journal: if the kernel switch had
 * begun, waits for the new boot, verifies and commits (or rolls back);
 * otherwise rolls back. */
MoltSwitchResult molt_switch_resume (const MoltSwitchOptions *options, JsonObject *report,
                                     GError **error);

G_END_DECLS
