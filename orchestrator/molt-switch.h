/* The kernel switch workflow (DESIGN.md "The kernel switch"):
 * preflight -> freeze -> snapshot -> checkpoint -> switch -> restore ->
 * verify -> commit, or on any failure after the snapshot: rollback. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef enum
{
  MOLT_SWITCH_METHOD_KEXEC,  /* paths in the guest; kexec from the running kernel */
  MOLT_SWITCH_METHOD_REBOOT, /* paths on the host; a new QEMU with a new direct-boot kernel */
} MoltSwitchMethod;

typedef struct
{
  const gchar *uri;
  MoltSwitchMethod method;
  const gchar *domain;
  const gchar *kernel; /* in the guest (kexec) or on the host (reboot) */
  const gchar *initrd; /* likewise; may be NULL */
  const gchar *append; /* NULL: the current command line */
  const gchar *state_dir;
  gboolean keep_snapshot;
  gboolean dry_run;
  gboolean quiet;        /* no progress lines */
  guint agent_timeout_s; /* each short agent call */
  guint checkpoint_timeout_s;
  guint boot_timeout_s; /* new kernel to agent answering */
  const gchar *probe;   /* a shell command in the guest that must exit 0; NULL: none */
  guint probe_timeout_s;
} MoltSwitchOptions;

typedef enum
{
  MOLT_SWITCH_COMMITTED,
  MOLT_SWITCH_DRY_RUN,
  MOLT_SWITCH_NOTHING_DONE, /* failed before anything changed */
  MOLT_SWITCH_ROLLED_BACK,  /* failed, and the VM is back as it was */
  MOLT_SWITCH_BROKEN,       /* failed, and so did the rollback */
} MoltSwitchResult;

/* Fills report (see docs/switch.md for its fields) in every case. */
MoltSwitchResult molt_switch_run (const MoltSwitchOptions *options, JsonObject *report,
                                  GError **error);
/* Undoes an interrupted switch from its journal: revert, thaw, drop the
 * snapshot. */
MoltSwitchResult molt_switch_rollback (const MoltSwitchOptions *options, JsonObject *report,
                                       GError **error);

/* Finishes an interrupted switch from its journal: if the kernel switch had
 * begun, waits for the new boot, verifies and commits (or rolls back);
 * otherwise rolls back. */
MoltSwitchResult molt_switch_resume (const MoltSwitchOptions *options, JsonObject *report,
                                     GError **error);

G_END_DECLS
