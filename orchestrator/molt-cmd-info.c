/* molt info DOMAIN: the agent's view of the guest. */
#include "molt-cli.h"
#include "molt-commands.h"
#include "molt-message.h"
#include "molt-reply.h"

/* LABEL: the guest's string, escaped; "?" when the agent did not say. */
static gboolean
print_string (const gchar *label, JsonObject *obj, const gchar *what, const gchar *member,
              GError **error)
{
  const gchar *value = "?";
  g_autofree gchar *shown = NULL;

  if (!molt_reply_get_string (obj, what, member, MOLT_REPLY_OPTIONAL, &value, error))
    return FALSE;
  shown = molt_text_excerpt (value, 256);
  g_print ("%-16s %s\n", label, shown);
  return TRUE;
}

static gboolean
print_info (JsonNode *info, GError **error)
{
  JsonObject *obj = molt_reply_as_object (info, "info", error);
  JsonObject *criu = NULL;
  gboolean works = FALSE;
  gint64 version = 0;
  const gchar *state = "?", *reason = "no reason given";
  g_autofree gchar *state_shown = NULL;
  g_autofree gchar *reason_shown = NULL;
  JsonNode *uptime;

  if (obj == NULL || !print_string ("Agent version:", obj, "info", "version", error)
      || !print_string ("Kernel release:", obj, "info", "kernel-release", error)
      || !print_string ("Boot id:", obj, "info", "boot-id", error)
      || !molt_reply_get_object (obj, "info", "criu", MOLT_REPLY_OPTIONAL, &criu, error))
    return FALSE;
  uptime = json_object_get_member (obj, "uptime");
  if (uptime != NULL && JSON_NODE_HOLDS_VALUE (uptime))
    g_print ("%-16s %.1f s\n", "Uptime:", json_node_get_double (uptime));
  if (criu == NULL)
    {
      g_print ("%-16s not reported\n", "CRIU:");
      return TRUE;
    }
  if (!molt_reply_get_bool (criu, "info.criu", "works", MOLT_REPLY_OPTIONAL, &works, error)
      || !molt_reply_get_int (criu, "info.criu", "version", 0, G_MAXINT32, MOLT_REPLY_OPTIONAL,
                              &version, error)
      || !molt_reply_get_string (criu, "info.criu", "state", MOLT_REPLY_OPTIONAL, &state, error)
      || !molt_reply_get_string (criu, "info.criu", "error", MOLT_REPLY_OPTIONAL, &reason, error))
    return FALSE;
  if (works)
    {
      g_print ("%-16s works (version %" G_GINT64_FORMAT ")\n", "CRIU:", version);
      return TRUE;
    }
  state_shown = molt_text_excerpt (state, 32);
  reason_shown = molt_text_excerpt (reason, 1024);
  g_print ("%-16s %s: %s\n", "CRIU:", state_shown, reason_shown);
  return TRUE;
}

static int
run_info (MoltCli *cli, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MoltAgentClient) client = NULL;
  g_autoptr (JsonNode) info = NULL;

  if (!molt_cli_parse (cli, &molt_cmd_info, NULL, &argc, &argv, &(int){ 0 }))
    return MOLT_EXIT_USAGE;
  if (argc != 2)
    return molt_cli_usage (&molt_cmd_info, "expected one DOMAIN");
  client = molt_cli_open_agent (cli, argv[1], &error);
  if (client == NULL)
    return molt_cli_fail (cli, argv[1], error);
  info = molt_cli_info_settled (cli, client, &error);
  if (info == NULL)
    return molt_cli_fail (cli, argv[1], error);
  if (cli->json)
    {
      molt_cli_print_json (info);
      return MOLT_EXIT_OK;
    }
  g_print ("%-16s %s\n", "Domain:", argv[1]);
  if (!print_info (info, &error))
    return molt_cli_fail (cli, argv[1], error);
  return MOLT_EXIT_OK;
}

const MoltCliCommand molt_cmd_info = {
  .name = "info",
  .parameters = "DOMAIN",
  .summary = "Show the guest's kernel, boot id, uptime and whether CRIU works there.",
  .description = "If the agent is still checking CRIU (it does so once after it starts),\n"
                 "waits up to --timeout seconds for the verdict.",
  .run = run_info,
};
