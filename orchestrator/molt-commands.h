/* The table of molt subcommands, one file each. */
#pragma once

#include "molt-cli.h"

extern const MoltCliCommand molt_cmd_ping;
extern const MoltCliCommand molt_cmd_info;
extern const MoltCliCommand molt_cmd_jobs;
extern const MoltCliCommand molt_cmd_exec;
extern const MoltCliCommand molt_cmd_logs;
extern const MoltCliCommand molt_cmd_stop;
extern const MoltCliCommand molt_cmd_switch;
extern const MoltCliCommand molt_cmd_rollback;
extern const MoltCliCommand molt_cmd_snapshot;
extern const MoltCliCommand molt_cmd_policy;
extern const MoltCliCommand molt_cmd_setup;
