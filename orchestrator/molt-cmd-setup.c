/* molt setup DOMAIN: makes a domain ready for molt without editing its XML
 * by hand: the agent channel added where it is missing (live and to the
 * persistent definition), then the guest checked: does an agent answer,
 * does CRIU work. Says what is missing in the guest when not. */
#include "molt-agent-channel.h"
#include "molt-cli.h"
#include "molt-commands.h"
#include "molt-host-error.h"
#include "molt-message.h"
#include "molt-reply.h"

#define MOLT_SETUP_WAIT_DEFAULT_S 120

/* An agent that answers, within wait_s: the guest may be loading the
 * port's driver and starting the agent for a channel just added. */
static MoltAgentClient *
wait_for_agent (MoltCli *cli, const gchar *domain, guint wait_s, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) wait_s * G_USEC_PER_SEC;

  for (;;)
    {
      g_autoptr (GError) local_error = NULL;
      g_autoptr (MoltAgentClient) client = molt_cli_open_agent (cli, domain, &local_error);

      if (client != NULL && molt_agent_client_sync (client, &local_error))
        return g_steal_pointer (&client);
      /* Another molt operation holds the domain: not the guest's fault. */
      if (g_error_matches (local_error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_BUSY)
          || g_get_monotonic_time () >= deadline)
        {
          if (!g_error_matches (local_error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_BUSY))
            g_prefix_error (
                &local_error,
                "the channel is there, but no molt-agent answered within %u s. In the guest, "
                "install the agent (Debian, Ubuntu: 'apt-get install molt-guest-agent'; it "
                "starts when the channel appears), or see 'systemctl status molt-agent': ",
                wait_s);
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
      g_usleep (2 * G_USEC_PER_SEC);
    }
}

static void
print_channel (const gchar *domain, MoltChannelState live, MoltChannelState config)
{
  g_autofree gchar *shown = molt_text_excerpt (domain, 256);

  g_print ("%-10s %s\n", "Domain:", shown);
  g_print ("%-10s running domain: %s; persistent definition: %s\n", "Channel:",
           live == MOLT_CHANNEL_ADDED     ? "added"
           : live == MOLT_CHANNEL_PRESENT ? "present"
                                          : "not running",
           config == MOLT_CHANNEL_ADDED     ? "added"
           : config == MOLT_CHANNEL_PRESENT ? "present"
                                            : "none (transient domain)");
}

/* What the guest says: the agent's version and kernel, and CRIU's verdict.
 * FALSE (with what to do) when CRIU cannot work there. */
static gboolean
check_guest (JsonObject *info, gboolean print, JsonObject *out, GError **error)
{
  JsonObject *criu = NULL;
  const gchar *version = "?", *release = "?", *state = "?", *reason = "no reason given";
  gboolean works = FALSE;
  g_autofree gchar *version_shown = NULL, *release_shown = NULL, *reason_shown = NULL;

  if (!molt_reply_get_string (info, "info", "version", MOLT_REPLY_OPTIONAL, &version, error)
      || !molt_reply_get_string (info, "info", "kernel-release", MOLT_REPLY_OPTIONAL, &release,
                                 error)
      || !molt_reply_get_object (info, "info", "criu", MOLT_REPLY_OPTIONAL, &criu, error)
      || (criu != NULL
          && (!molt_reply_get_bool (criu, "info.criu", "works", MOLT_REPLY_OPTIONAL, &works, error)
              || !molt_reply_get_string (criu, "info.criu", "state", MOLT_REPLY_OPTIONAL, &state,
                                         error)
              || !molt_reply_get_string (criu, "info.criu", "error", MOLT_REPLY_OPTIONAL, &reason,
                                         error))))
    return FALSE;
  version_shown = molt_text_excerpt (version, 64);
  release_shown = molt_text_excerpt (release, 128);
  reason_shown = molt_text_excerpt (reason, 1024);
  json_object_set_string_member (out, "agent-version", version);
  json_object_set_string_member (out, "kernel-release", release);
  json_object_set_boolean_member (out, "criu-works", works);
  if (!works)
    json_object_set_string_member (out, "criu-error", reason);
  if (print)
    g_print ("%-10s molt-agent %s answers (kernel %s)\n", "Agent:", version_shown, release_shown);
  if (!works)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "CRIU cannot checkpoint jobs in this guest (%s): %s. Install Debian's criu "
                   "package (molt-guest-agent depends on it) and run a kernel with "
                   "CONFIG_CHECKPOINT_RESTORE (Debian's have it)",
                   state, reason_shown);
      return FALSE;
    }
  if (print)
    g_print ("%-10s works\n", "CRIU:");
  return TRUE;
}

static int
run_setup (MoltCli *cli, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (virConnect) conn = NULL;
  g_autoptr (virDomain) dom = NULL;
  g_autoptr (MoltAgentClient) client = NULL;
  g_autoptr (JsonNode) info = NULL;
  g_autoptr (JsonObject) out = json_object_new ();
  g_autoptr (JsonObject) guest = json_object_new ();
  MoltChannelState live, config;
  JsonObject *info_obj;
  gint wait_s = MOLT_SETUP_WAIT_DEFAULT_S;
  gboolean ready = FALSE;
  const GOptionEntry entries[] = {
    { "wait", 'w', 0, G_OPTION_ARG_INT, &wait_s,
      "seconds to wait for the agent to answer (default 120)", "SECONDS" },
    { NULL },
  };

  if (!molt_cli_parse (cli, &molt_cmd_setup, entries, &argc, &argv, &(int){ 0 }))
    return MOLT_EXIT_USAGE;
  if (argc != 2)
    return molt_cli_usage (&molt_cmd_setup, "expected one DOMAIN");
  if (wait_s <= 0)
    return molt_cli_usage (&molt_cmd_setup, "--wait must be positive");
  if ((conn = molt_libvirt_connect (cli->uri, &error)) == NULL
      || (dom = molt_libvirt_lookup_domain (conn, argv[1], &error)) == NULL
      || !molt_agent_channel_ensure (dom, &live, &config, &error))
    return molt_cli_fail (cli, argv[1], error);
  json_object_set_string_member (out, "domain", argv[1]);
  json_object_set_string_member (out, "channel-live", molt_channel_state_to_string (live));
  json_object_set_string_member (out, "channel-config", molt_channel_state_to_string (config));
  if (!cli->json)
    print_channel (argv[1], live, config);
  if (live == MOLT_CHANNEL_ABSENT_NA)
    {
      /* Shut off: the guest is checked when it runs. */
      if (!cli->json)
        g_print ("%-10s not running: start it, then run 'molt setup' again to check the guest\n",
                 "Guest:");
    }
  else if ((client = wait_for_agent (cli, argv[1], (guint) wait_s, &error)) == NULL
           || (info = molt_cli_info_settled (cli, client, &error)) == NULL
           || (info_obj = molt_reply_as_object (info, "info", &error)) == NULL)
    ;
  else
    ready = check_guest (info_obj, !cli->json, guest, &error);
  json_object_set_object_member (out, "guest", g_steal_pointer (&guest));
  json_object_set_boolean_member (out, "ready", ready);
  if (error != NULL)
    {
      if (cli->json)
        json_object_set_string_member (out, "error", error->message);
      else
        molt_cli_print_error (argv[1], error->message);
    }
  if (cli->json)
    {
      g_autoptr (JsonNode) root = json_node_init_object (json_node_alloc (), json_object_ref (out));
      molt_cli_print_json (root);
    }
  else if (ready)
    g_print ("%-10s yes: 'molt switch %s --kernel ...' can switch its managed jobs\n",
             "Ready:", argv[1]);
  if (error != NULL)
    return g_error_matches (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_BUSY) ? MOLT_EXIT_BUSY
                                                                          : MOLT_EXIT_FAILED;
  return MOLT_EXIT_OK;
}

const MoltCliCommand molt_cmd_setup = {
  .name = "setup",
  .parameters = "DOMAIN [--wait SECONDS]",
  .summary = "Make DOMAIN ready for molt: add the agent channel, check the guest.",
  .description = "Adds the org.molt.agent.0 channel where DOMAIN lacks it: hot-plugged into the\n"
                 "running domain and written to its persistent definition (no XML to edit).\n"
                 "Then waits for molt-agent in the guest to answer (--wait) and checks that\n"
                 "CRIU works there. Says what is missing in the guest when something is: the\n"
                 "agent (apt-get install molt-guest-agent), CRIU or the kernel's support for it.\n"
                 "Exit 0 when ready (or shut off, with the channel in its definition), 1 when\n"
                 "the guest lacks something, 2 for an unknown domain, 3 when libvirt cannot be\n"
                 "reached, 6 while another molt operation holds the domain.",
  .run = run_setup,
};
