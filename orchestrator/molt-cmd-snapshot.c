/* molt snapshot list|create|revert|delete DOMAIN [NAME]: whole-VM snapshots. */
#include "molt-cli.h"
#include "molt-commands.h"
#include "molt-domain-lock.h"
#include "molt-host-error.h"
#include "molt-quiesce.h"
#include "molt-snapshot-chain.h"
#include "molt-snapshot-external.h"
#include "molt-snapshot.h"
#include "molt-state-dir.h"

static int
list (MoltCli *cli, virDomainPtr dom)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) snaps = molt_snapshot_list (dom, &error);
  g_autoptr (JsonArray) array = json_array_new ();

  if (snaps == NULL)
    return molt_cli_fail (cli, virDomainGetName (dom), error);
  if (!cli->json)
    g_print ("%-44s %-20s %-9s %s\n", "NAME", "CREATED (UTC)", "STATE", "DESCRIPTION");
  for (guint i = 0; i < snaps->len; i++)
    {
      MoltSnapshotInfo *info = g_ptr_array_index (snaps, i);
      g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (info->creation_time);
      g_autofree gchar *when = g_date_time_format (dt, "%F %T");
      g_autoptr (JsonObject) obj = json_object_new ();

      json_object_set_string_member (obj, "name", info->name);
      json_object_set_int_member (obj, "creation-time", info->creation_time);
      json_object_set_string_member (obj, "state", info->state);
      json_object_set_string_member (obj, "description", info->description);
      json_array_add_object_element (array, g_steal_pointer (&obj));
      if (!cli->json)
        g_print ("%-44s %-20s %-9s %s\n", info->name, when, info->state != NULL ? info->state : "?",
                 info->description != NULL ? info->description : "");
    }
  if (cli->json)
    {
      g_autoptr (JsonObject) out = json_object_new ();
      g_autoptr (JsonNode) node = NULL;
      json_object_set_string_member (out, "domain", virDomainGetName (dom));
      json_object_set_array_member (out, "snapshots", g_steal_pointer (&array));
      node = json_node_init_object (json_node_alloc (), out);
      molt_cli_print_json (node);
    }
  return MOLT_EXIT_OK;
}

/* After a revert the guest is as it was in the snapshot: if that was a
 * quiesced one, its jobs and filesystems are frozen. Thaw them. */
static gchar *
thaw_after_revert (MoltCli *cli, virDomainPtr dom)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MoltAgentClient) client = NULL;
  g_autoptr (JsonNode) thawed = NULL;
  MoltTransport *transport;

  if (virDomainIsActive (dom) != 1)
    return g_strdup ("the domain is not running");
  transport = molt_libvirt_open_agent (dom, &error);
  if (transport != NULL)
    {
      client = molt_agent_client_new (transport);
      molt_agent_client_set_timeout (client, (guint) cli->timeout_s * 1000);
      thawed = molt_agent_client_call (client, "thaw", NULL, &error);
    }
  return thawed != NULL
             ? g_strdup ("guest thawed")
             : g_strdup_printf ("could not thaw (the agent thaws by itself): %s", error->message);
}

static int
run_snapshot (MoltCli *cli, int argc, char **argv)
{
  g_autofree gchar *description = NULL;
  g_autofree gchar *quiesce_text = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (virConnect) conn = NULL;
  g_autoptr (virDomain) dom = NULL;
  g_autoptr (MoltDomainLock) lock = NULL;
  g_autofree gchar *name = NULL;
  g_autofree gchar *note = NULL;
  g_autofree gchar *type = NULL;
  gboolean no_memory = FALSE, ok;
  MoltQuiesce quiesce = MOLT_QUIESCE_BEST_EFFORT;
  const gchar *action;
  const GOptionEntry entries[] = {
    { "description", 'D', 0, G_OPTION_ARG_STRING, &description, "create: a description", "TEXT" },
    { "no-memory", 0, 0, G_OPTION_ARG_NONE, &no_memory,
      "create: disk only (the domain must be shut off)", NULL },
    { "quiesce", 'q', 0, G_OPTION_ARG_STRING, &quiesce_text,
      "create: required, best-effort (default) or off", "MODE" },
    { "type", 0, 0, G_OPTION_ARG_STRING, &type,
      "create: internal (default), external (overlays and a memory file, reverted and deleted "
      "by molt: for UEFI domains, which libvirt takes no internal snapshot of), or auto "
      "(external where internal ones are refused)",
      "TYPE" },
    { NULL },
  };

  if (!molt_cli_parse (cli, &molt_cmd_snapshot, entries, &argc, &argv, &(int){ 0 }))
    return MOLT_EXIT_USAGE;
  if (argc < 3)
    return molt_cli_usage (&molt_cmd_snapshot, "expected an action and a DOMAIN");
  action = argv[1];
  if (quiesce_text != NULL && !molt_quiesce_from_string (quiesce_text, &quiesce))
    return molt_cli_usage (&molt_cmd_snapshot, "--quiesce must be required, best-effort or off");
  if (type != NULL && !g_str_equal (type, "internal") && !g_str_equal (type, "external")
      && !g_str_equal (type, "auto"))
    return molt_cli_usage (&molt_cmd_snapshot, "--type must be internal, external or auto");
  if (!g_str_equal (action, "list") && !g_str_equal (action, "create")
      && !g_str_equal (action, "revert") && !g_str_equal (action, "delete"))
    return molt_cli_usage (&molt_cmd_snapshot, "the action is list, create, revert or delete");
  if ((g_str_equal (action, "revert") || g_str_equal (action, "delete")) && argc != 4)
    return molt_cli_usage (&molt_cmd_snapshot, "revert and delete need DOMAIN NAME");
  conn = molt_libvirt_connect (cli->uri, &error);
  if (conn == NULL || (dom = molt_libvirt_lookup_domain (conn, argv[2], &error)) == NULL)
    return molt_cli_fail (cli, argv[2], error);
  if (g_str_equal (action, "list"))
    return list (cli, dom);

  lock = molt_domain_lock_acquire (molt_state_dir (), dom, MOLT_LOCK_EXCLUSIVE, "snapshot", &error);
  if (lock == NULL)
    return molt_cli_fail (cli, argv[2], error);
  if (g_str_equal (action, "create"))
    {
      g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
      g_autofree gchar *warning = NULL;
      g_autoptr (GError) thaw_error = NULL;
      MoltAgentClient *quiesced;

      name = argc >= 4 ? g_strdup (argv[3]) : g_date_time_format (now, "snap-%Y%m%dT%H%M%SZ");
      quiesced = molt_quiesce_begin (dom, quiesce, (guint) cli->timeout_s, &warning, &error);
      if (quiesced == NULL && error != NULL)
        return molt_cli_fail (cli, argv[2], error);
      {
        g_autofree gchar *why = NULL;
        gboolean external
            = g_strcmp0 (type, "external") == 0
              || (g_strcmp0 (type, "auto") == 0 && molt_snapshot_needs_external (dom, &why));
        ok = external
                 ? molt_snapshot_chain_create (dom, name, description != NULL ? description : "",
                                               !no_memory, &error)
                 : molt_snapshot_create_full (dom, name, description != NULL ? description : "",
                                              !no_memory, &error);
      }
      if (!molt_quiesce_end (quiesced, &thaw_error))
        g_printerr ("molt: warning: %s\n", thaw_error->message);
      note = g_strdup (warning != NULL ? warning : quiesced != NULL ? "quiesced" : "not quiesced");
    }
  else if (g_str_equal (action, "revert"))
    {
      g_auto (GStrv) dropped = NULL;

      name = g_strdup (argv[3]);
      /* External: the chain's revert (the policies' snapshots), which
       * keeps the snapshot and drops the newer ones. */
      ok = molt_snapshot_is_external (dom, name)
               ? molt_snapshot_chain_revert (dom, name, &dropped, &error)
               : molt_snapshot_revert (dom, name, &error);
      if (ok)
        note = thaw_after_revert (cli, dom);
      if (ok && dropped != NULL && dropped[0] != NULL)
        {
          g_autofree gchar *names = g_strjoinv (", ", dropped);
          gchar *with = g_strdup_printf ("%s; the newer external snapshots were built on what the "
                                         "revert dropped and are gone: %s",
                                         note != NULL ? note : "reverted", names);
          g_free (note);
          note = with;
        }
    }
  else
    {
      name = g_strdup (argv[3]);
      ok = molt_snapshot_is_external (dom, name) ? molt_snapshot_chain_delete (dom, name, &error)
                                                 : molt_snapshot_delete (dom, name, &error);
    }
  if (!ok)
    return molt_cli_fail (cli, argv[2], error);
  if (cli->json)
    {
      g_autoptr (JsonObject) out = json_object_new ();
      g_autoptr (JsonNode) node = NULL;
      json_object_set_string_member (out, "domain", argv[2]);
      json_object_set_string_member (out, "action", action);
      json_object_set_string_member (out, "snapshot", name);
      if (note != NULL)
        json_object_set_string_member (out, "note", note);
      node = json_node_init_object (json_node_alloc (), out);
      molt_cli_print_json (node);
    }
  else
    g_print ("%s %s of %s%s%s%s\n", action, name, argv[2], note != NULL ? " (" : "",
             note != NULL ? note : "", note != NULL ? ")" : "");
  return MOLT_EXIT_OK;
}

const MoltCliCommand molt_cmd_snapshot = {
  .name = "snapshot",
  .parameters = "list DOMAIN | create DOMAIN [NAME] | revert DOMAIN NAME | delete DOMAIN NAME",
  .summary = "List, take, revert to or delete whole-VM snapshots (memory + disk).",
  .description = "create quiesces the guest through the agent first (--quiesce); revert thaws the\n"
                 "guest afterwards if the snapshot was quiesced. Internal snapshots only.",
  .run = run_snapshot,
};
