/* molt: upgrade the kernel of a running libvirt guest without losing its jobs.
 *
 *   molt [-c URI] [--json] COMMAND [ARGS...]
 */
#include <locale.h>

#include "molt-cli.h"
#include "molt-commands.h"

static const MoltCliCommand *const commands[] = {
  &molt_cmd_ping,     &molt_cmd_info,   &molt_cmd_jobs,   &molt_cmd_exec,
  &molt_cmd_logs,     &molt_cmd_stop,   &molt_cmd_switch, &molt_cmd_rollback,
  &molt_cmd_snapshot, &molt_cmd_policy, &molt_cmd_setup,  NULL,
};

static const MoltCliCommand *
find_command (const gchar *name)
{
  for (guint i = 0; commands[i] != NULL; i++)
    if (g_str_equal (commands[i]->name, name))
      return commands[i];
  return NULL;
}

static gchar *
commands_description (void)
{
  GString *text = g_string_new ("Commands:\n");

  for (guint i = 0; commands[i] != NULL; i++)
    g_string_append_printf (text, "  %-8s %s\n", commands[i]->name, commands[i]->summary);
  g_string_append (text,
                   "\n'molt COMMAND --help' describes a command. Exit codes: 0 success, 1 the "
                   "operation failed,\n2 unknown domain, 3 libvirt or the agent cannot be "
                   "reached, 4 a switch failed and was rolled back,\n5 a switch and its "
                   "rollback failed, 6 another molt operation holds the domain, 64 bad command "
                   "line.\nSee molt(1).");
  return g_string_free (text, FALSE);
}

int
main (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *description = commands_description ();
  gboolean version = FALSE;
  MoltCli cli = { 0 };
  const MoltCliCommand *cmd;
  const GOptionEntry entries[] = {
    { "version", 'V', 0, G_OPTION_ARG_NONE, &version, "print the version and exit", NULL },
    { NULL },
  };
  int ret;

  setlocale (LC_ALL, "");
  context = g_option_context_new ("COMMAND [ARGS...]");
  g_option_context_set_summary (context, "Switch the kernel of a running libvirt guest while "
                                         "its jobs keep running.");
  g_option_context_set_description (context, description);
  molt_cli_add_common_entries (&cli, context);
  g_option_context_add_main_entries (context, entries, NULL);
  /* Stop at the command name: the rest belongs to the command. */
  g_option_context_set_strict_posix (context, TRUE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("molt: %s ('molt --help' for usage)\n", error->message);
      return MOLT_EXIT_USAGE;
    }
  if (version)
    {
      g_print ("molt %s\n", MOLT_VERSION);
      return MOLT_EXIT_OK;
    }
  if (argc < 2)
    {
      g_autofree gchar *help = g_option_context_get_help (context, TRUE, NULL);
      g_printerr ("%s", help);
      return MOLT_EXIT_USAGE;
    }
  if (g_str_equal (argv[1], "help"))
    {
      if (argc >= 3 && (cmd = find_command (argv[2])) != NULL)
        {
          char *help_argv[] = { argv[2], (char *) "--help", NULL };
          return cmd->run (&cli, 2, help_argv);
        }
      g_autofree gchar *help = g_option_context_get_help (context, TRUE, NULL);
      g_print ("%s", help);
      return MOLT_EXIT_OK;
    }
  cmd = find_command (argv[1]);
  if (cmd == NULL)
    {
      g_printerr ("molt: unknown command '%s' ('molt --help' lists the commands)\n", argv[1]);
      return MOLT_EXIT_USAGE;
    }
  ret = cmd->run (&cli, argc - 1, argv + 1);
  g_free (cli.uri);
  return ret;
}
