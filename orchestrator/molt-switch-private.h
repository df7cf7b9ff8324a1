/* What the switch and its way back share: the state of one switch (a run,
 * a resume or a rollback) and the steps both use. Private to
 * molt-switch.c (the way forward) and molt-switch-rollback.c (the way
 * back); the rest of molt sees molt-switch.h. */
#pragma once

#include <libvirt/libvirt.h>

#include "molt-agent-client.h"
#include "molt-domain-lock.h"
#include "molt-journal.h"
#include "molt-switch-step.h"
#include "molt-switch.h"

G_BEGIN_DECLS

/* How often to knock while the new kernel boots. */
#define MOLT_BOOT_POLL_S 3
/* How long a restarting libvirtd may take to accept connections again. */
#define MOLT_RECONNECT_WAIT_S 60
/* How long a rollback waits for a checkpoint still running in the guest,
 * when the options do not say (molt rollback). */
#define MOLT_CHECKPOINT_WAIT_DEFAULT_S 600
/* How long a preflight waits for the agent's CRIU check after its start. */
#define MOLT_CRIU_CHECK_WAIT_S 60
/* How long a reverted guest may take to answer again. */
#define MOLT_REVERT_AGENT_WAIT_S 60
/* Bounds on what a guest may report as a wait status. */
#define MOLT_WAIT_STATUS_MIN G_MININT32
#define MOLT_WAIT_STATUS_MAX G_MAXINT32

typedef struct
{
  const MoltSwitchOptions *o;
  JsonObject *report;
  JsonArray *steps; /* the report's, borrowed */
  virConnectPtr conn;
  virDomainPtr dom;
  gchar *name; /* libvirt's name for the domain, not the argument as typed */
  gchar *uuid;
  MoltDomainLock *lock;
  MoltDomainLock *channel_lock; /* a dry run shares the domain with other readers */
  MoltJournal *journal;
  gboolean journal_started; /* steps are journaled from the freeze on */
  gboolean kexec_sent;      /* the kexec request went out (its reply may not come) */
  gint64 start;
  gint64 step_start;
  MoltSwitchStep step;           /* MOLT_SWITCH_STEP_LAST: none running */
  MoltSwitchStep journaled_step; /* where a loaded switch stopped */
  MoltSwitchMethod method;       /* the options', or the loaded switch's */
  gint64 frozen_host_us;         /* host monotonic time of the freeze's reply */
  /* What the way back needs; from the run itself or from the journal. */
  gchar *snapshot;
  gchar *snapshot_xml; /* libvirt's record of it, which a destroy may drop */
  gchar *tag;          /* the checkpoint images' directory in the guest */
  gchar *old_boot;
  gchar *old_release;
  gchar *expected_release; /* what the new kernel reports; NULL: unknown */
  /* The way back to the old kernel: loaded again by kexec from the guest
   * (image NULL: not loadable there), or the domain restarted from its
   * definition from before the switch. */
  gchar *old_image;
  gchar *old_initrd;
  gchar *old_append;
  gchar *live_xml;
  gchar *inactive_xml; /* a persistent domain's definition before a reboot switch */
  JsonArray *jobs_before;
  /* molt rollback: jobs found running on the new kernel go back by a new
   * switch (a resume keeps them there). */
  gboolean back_by_new_switch;
} MoltSwitch;

/* Defined in molt-switch.c: the state, the steps' bookkeeping, the agent. */
void molt_switch_begin_step_recorded (MoltSwitch *sw, MoltSwitchStep step);
JsonArray *molt_switch_call_job_list (MoltAgentClient *client, GError **error);
JsonObject *molt_switch_call_object (MoltAgentClient *client, const gchar *execute,
                                     JsonObject *args, GError **error);
void molt_switch_end_step (MoltSwitch *sw);
gboolean molt_switch_ensure_connected (MoltSwitch *sw, GError **error);
MoltSwitchResult molt_switch_finish (MoltSwitch *sw, GError **error);
void molt_switch_progress (MoltSwitch *sw, const gchar *format, ...) G_GNUC_PRINTF (2, 3);
void molt_switch_clear (MoltSwitch *sw);
void molt_switch_init (MoltSwitch *sw, const MoltSwitchOptions *o, JsonObject *report);
gboolean molt_switch_load (MoltSwitch *sw, const gchar *operation, GError **error);
gboolean molt_switch_open (MoltSwitch *sw, MoltLockMode mode, const gchar *operation,
                           GError **error);
MoltAgentClient *molt_switch_wait_for_agent (MoltSwitch *sw, guint wait_s, GError **error);
/* The least a rollback waits for the old kernel's agent (the default
 * --boot-timeout). */
#define MOLT_OLD_KERNEL_BOOT_FLOOR_S 180

MoltAgentClient *molt_switch_wait_for_boot_other_than (MoltSwitch *sw, const gchar *not_boot,
                                                       gboolean old_kernel, JsonObject **info_out,
                                                       GError **error);
void molt_switch_warn (MoltSwitch *sw, const gchar *what, const GError *cause);
JsonObject *molt_switch_call_kexec (MoltSwitch *sw, MoltAgentClient *client, const gchar *command,
                                    JsonObject *args, GError **error);
gboolean molt_switch_kexec_may_have_happened (MoltSwitch *sw, const gchar *from,
                                              const GError *cause);

/* Defined in molt-switch-boot-entry.c: GRUB's next boot names the old
 * kernel from before the kexec until the switch is resolved. */
void molt_switch_pin_boot_entry (MoltSwitch *sw, MoltAgentClient *client);
void molt_switch_unpin_boot_entry (MoltSwitch *sw, MoltAgentClient *client);

/* Defined in molt-switch-rollback.c: the way back and its clean-up. */
void molt_switch_drop_images (MoltSwitch *sw, MoltAgentClient *client);
gboolean molt_switch_drop_snapshot (MoltSwitch *sw, GError **error);
MoltSwitchResult molt_switch_fail_and_roll_back (MoltSwitch *sw, GError *cause, GError **error);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (MoltSwitch, molt_switch_clear)

G_END_DECLS
