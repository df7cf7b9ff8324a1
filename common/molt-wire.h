/* Names both sides of the wire must spell the same: the channel, the
 * guest's local socket and state directory, and the members of a job in
 * job-list replies (docs/protocol.md). One definition, used by the agent
 * that writes them and the host that reads them. */
#pragma once

/* The virtio-serial port the host reaches the agent on. */
#define MOLT_WIRE_CHANNEL "org.molt.agent.0"
/* Where molt-run reaches the agent inside the guest. */
#define MOLT_WIRE_LOCAL_SOCKET "/run/molt/agent.sock"
/* The agent's registry, job logs and checkpoint images, in the guest. */
#define MOLT_WIRE_GUEST_STATE_DIR "/var/lib/molt"

/* The agent gives kexec -l this long (it reads and checks the image:
 * seconds, not minutes); the host's kexec and kexec-load calls wait a
 * little longer, for the agent's own answer. */
#define MOLT_WIRE_KEXEC_LOAD_TIMEOUT_S 120

/* A job, as job-list and job-start report it. */
#define MOLT_JOB_KEY_NAME                  "name"
#define MOLT_JOB_KEY_ARGV                  "argv"
#define MOLT_JOB_KEY_CWD                   "cwd"
#define MOLT_JOB_KEY_ENV                   "env"
#define MOLT_JOB_KEY_LOG                   "log"
#define MOLT_JOB_KEY_USER                  "user"
#define MOLT_JOB_KEY_PID                   "pid"
#define MOLT_JOB_KEY_NS_PID                "ns-pid"
#define MOLT_JOB_KEY_PROC_STARTTIME        "proc-starttime"
#define MOLT_JOB_KEY_START_TIME            "start-time"
#define MOLT_JOB_KEY_STATE                 "state"
#define MOLT_JOB_KEY_EXIT_STATUS           "exit-status"
#define MOLT_JOB_KEY_IMAGES                "images"
#define MOLT_JOB_KEY_RESTORE_ERROR         "restore-error"
#define MOLT_JOB_KEY_NS_PIDS_AT_CHECKPOINT "ns-pids-at-checkpoint"
#define MOLT_JOB_KEY_NS_PIDS_AT_RESTORE    "ns-pids-at-restore"
#define MOLT_JOB_KEY_FROZEN_AT_US          "frozen-at-us"
#define MOLT_JOB_KEY_RESUMED_AT_US         "resumed-at-us"
#define MOLT_JOB_KEY_HOLD_AFTER_RESTORE    "hold-after-restore"
#define MOLT_JOB_KEY_TCP_CLOSE_ON_RESTORE  "tcp-close-on-restore"
