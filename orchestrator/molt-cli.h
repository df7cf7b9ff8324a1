/* What every molt subcommand shares: global options, reaching a domain's
 * agent, printing results and errors, exit codes. */
#pragma once

#include <json-glib/json-glib.h>

#include "molt-agent-client.h"
#include "molt-libvirt.h"

G_BEGIN_DECLS

/* Exit codes: documented in docs/molt.1. */
typedef enum
{
  MOLT_EXIT_OK = 0,
  MOLT_EXIT_FAILED = 1,      /* the operation failed (the agent said no, ...) */
  MOLT_EXIT_NOT_FOUND = 2,   /* unknown domain */
  MOLT_EXIT_UNREACHABLE = 3, /* libvirt or the agent cannot be reached */
  MOLT_EXIT_ROLLED_BACK = 4, /* a switch failed and was rolled back */
  MOLT_EXIT_BROKEN = 5,      /* a switch failed and so did its rollback */
  MOLT_EXIT_BUSY = 6,        /* another molt operation holds the domain */
  MOLT_EXIT_USAGE = 64,      /* bad command line */
} MoltExitCode;

typedef struct
{
  gchar *uri;
  gboolean json;
  gint timeout_s;
  gboolean verbose;
} MoltCli;

typedef struct
{
  const gchar *name;
  const gchar *parameters; /* shown after "molt NAME" */
  const gchar *summary;
  const gchar *description; /* longer text for --help; may be NULL */
  int (*run) (MoltCli *cli, int argc, char **argv);
} MoltCliCommand;

/* Options every subcommand accepts (-c, --json, --timeout, --verbose). */
void molt_cli_add_common_entries (MoltCli *cli, GOptionContext *context);
/* Parses a subcommand's options; on --help or an error returns FALSE and
 * sets *exit_code. */
gboolean molt_cli_parse (MoltCli *cli, const MoltCliCommand *cmd, const GOptionEntry *entries,
                         int *argc, char ***argv, int *exit_code);
/* Connects, finds the domain and opens its agent, synced. */
MoltAgentClient *molt_cli_open_agent (MoltCli *cli, const gchar *domain, GError **error);

/* info, once the agent's background CRIU check has a verdict (or the
 * timeout passed), rather than "checking". */
JsonNode *molt_cli_info_settled (MoltCli *cli, MoltAgentClient *client, GError **error);
/* "molt: WHAT: MESSAGE" on stderr, control characters escaped. */
void molt_cli_print_error (const gchar *what, const gchar *message);
/* Prints the error (and a JSON error object with --json); returns the exit code. */
int molt_cli_fail (MoltCli *cli, const gchar *what, const GError *error);
int molt_cli_usage (const MoltCliCommand *cmd, const gchar *message);
void molt_cli_print_json (JsonNode *node);

G_END_DECLS
