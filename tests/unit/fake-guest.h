/* A scripted guest for unit tests of the switch workflow: a molt-agent
 * that answers on socketpairs (one per connection, each served by a
 * thread), keeps a tiny model of one guest (its boot, one job, whether the
 * job is frozen) and breaks the replies it is told to, like libvirt's
 * qemuagenttest does for the QEMU guest agent. */
#pragma once

#include <libvirt/libvirt.h>

#include "molt-transport.h"

typedef enum
{
  FAKE_FAULT_NONE,
  FAKE_FAULT_ERROR,      /* an error reply, its text full of escape sequences */
  FAKE_FAULT_MISSING,    /* every member of the reply (or of its elements) removed */
  FAKE_FAULT_WRONG_TYPE, /* every member replaced by an object */
  FAKE_FAULT_ESCAPES,    /* every string replaced by terminal escape sequences */
  FAKE_FAULT_HUGE,       /* every integer replaced by G_MAXINT64 */
  FAKE_FAULT_TIMEOUT,    /* no reply at all */
  FAKE_FAULT_LAST
} FakeFault;

const char *fake_fault_to_string (FakeFault fault);

typedef struct _FakeGuest FakeGuest;

FakeGuest *fake_guest_new (void);
void fake_guest_free (FakeGuest *guest);
/* Breaks the reply to the Nth call (from 1) of COMMAND. */
void fake_guest_set_fault (FakeGuest *guest, const char *command, unsigned nth, FakeFault fault);
/* info says CRIU does not work. */
void fake_guest_set_criu_broken (FakeGuest *guest);
/* The preflight finds that CRIU cannot dump job "a". */
void fake_guest_set_blocked (FakeGuest *guest);
/* The probe job exits with this wait status and its log reply is {}. */
void fake_guest_set_probe_status (FakeGuest *guest, int status);
/* What modules-load answers (JSON text); unset, the command is unknown. */
void fake_guest_set_modules_load (FakeGuest *guest, const char *reply);
/* A MoltSwitchOpenAgentFunc: data is the FakeGuest. */
MoltTransport *fake_guest_connect (virDomainPtr dom, gpointer data, GError **error);
/* The state of job "a" ("running", "frozen", ...). */
const char *fake_guest_job_state (FakeGuest *guest);
unsigned fake_guest_calls (FakeGuest *guest, const char *command);
/* GRUB's one-shot entry as boot-once left it: NULL when cleared. */
const char *fake_guest_next_entry (FakeGuest *guest);
/* The new kernel's boot cannot restore the job (the old one can). */
void fake_guest_set_restore_fails (FakeGuest *guest, gboolean fails);
/* Restores the job running even when the checkpoint asked for a hold. */
void fake_guest_set_ignore_hold (FakeGuest *guest, gboolean ignore);
/* 1 at first, one more for each kexec. */
int fake_guest_boot (FakeGuest *guest);
