#include <string.h>
#include <unistd.h>

#include <gio/gio.h>

#include "molt-net-lock.h"
#include "molt-protocol-error.h"

/* Runs nft with script on its standard input; *out gets its output. */
static gboolean
run_nft (const gchar *const *argv, const gchar *script, gchar **out, GError **error)
{
  g_autoptr (GSubprocess) proc = NULL;
  g_autofree gchar *stdout_text = NULL;
  g_autofree gchar *stderr_text = NULL;
  g_autoptr (GError) local_error = NULL;

  proc = g_subprocess_newv (argv,
                            G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                            &local_error);
  if (proc == NULL)
    {
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                   "cannot run nft (Debian package nftables): %s", local_error->message);
      return FALSE;
    }
  if (!g_subprocess_communicate_utf8 (proc, script, NULL, &stdout_text, &stderr_text, &local_error))
    {
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC, "nft: %s",
                   local_error->message);
      return FALSE;
    }
  if (!g_subprocess_get_successful (proc))
    {
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC, "nft failed: %s",
                   stderr_text != NULL && stderr_text[0] != '\0' ? g_strstrip (stderr_text)
                                                                 : "no message");
      return FALSE;
    }
  if (out != NULL)
    *out = g_steal_pointer (&stdout_text);
  return TRUE;
}

gboolean
molt_net_lock_needed (void)
{
  g_autoptr (GDir) dir = g_dir_open ("/sys/class/net", 0, NULL);
  const gchar *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree gchar *path = g_build_filename ("/sys/class/net", name, "flags", NULL);
      g_autofree gchar *flags = NULL;

      if (g_str_equal (name, "lo") || !g_file_get_contents (path, &flags, NULL, NULL))
        continue;
      /* IFF_UP */
      if (g_ascii_strtoull (flags, NULL, 16) & 0x1)
        return TRUE;
    }
  return FALSE;
}

gboolean
molt_net_lock (GError **error)
{
  static const gchar *const argv[] = { "nft", "-f", "-", NULL };
  /* Declared, flushed and filled in one transaction: taking it twice
   * leaves one set of rules. Priority -400 runs before any other filter
   * (and before conntrack), so nothing answers for the sockets. */
  static const gchar script[]
      = "table inet " MOLT_NET_LOCK_TABLE " {}\n"
        "flush table inet " MOLT_NET_LOCK_TABLE "\n"
        "table inet " MOLT_NET_LOCK_TABLE " {\n"
        "  chain input { type filter hook input priority -400; policy drop; iifname \"lo\" accept; "
        "}\n"
        "  chain output { type filter hook output priority -400; policy drop; oifname \"lo\" "
        "accept; }\n"
        "}\n";

  if (!run_nft (argv, script, NULL, error))
    {
      g_prefix_error (error, "cannot lock the network: ");
      return FALSE;
    }
  if (!g_file_set_contents (MOLT_NET_LOCK_MARK, "", 0, error))
    {
      g_prefix_error (error, "network locked, but cannot record it: ");
      return FALSE;
    }
  return TRUE;
}

/* The names of the tables to drop: molt's and CRIU's, as "FAMILY NAME". */
static GPtrArray *
lock_tables (GError **error)
{
  static const gchar *const argv[] = { "nft", "list", "tables", NULL };
  g_autofree gchar *listing = NULL;
  g_auto (GStrv) lines = NULL;
  GPtrArray *tables;

  if (!run_nft (argv, NULL, &listing, error))
    return NULL;
  tables = g_ptr_array_new_with_free_func (g_free);
  lines = g_strsplit (listing, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto (GStrv) words = g_strsplit (g_strstrip (lines[i]), " ", 0);

      if (g_strv_length (words) != 3 || !g_str_equal (words[0], "table"))
        continue;
      if (g_str_equal (words[2], MOLT_NET_LOCK_TABLE) || g_str_has_prefix (words[2], "CRIU-"))
        g_ptr_array_add (tables, g_strdup_printf ("%s %s", words[1], words[2]));
    }
  return tables;
}

gboolean
molt_net_unlock (gboolean always, GError **error)
{
  static const gchar *const argv[] = { "nft", "-f", "-", NULL };
  g_autoptr (GPtrArray) tables = NULL;
  g_autoptr (GString) script = g_string_new (NULL);
  g_autofree gchar *nft = g_find_program_in_path ("nft");

  /* No nft: no lock was taken (molt_net_lock would have failed). */
  if (nft == NULL || (!always && !g_file_test (MOLT_NET_LOCK_MARK, G_FILE_TEST_EXISTS)))
    return TRUE;
  tables = lock_tables (error);
  if (tables == NULL)
    {
      g_prefix_error (error, "cannot unlock the network: ");
      return FALSE;
    }
  for (guint i = 0; i < tables->len; i++)
    g_string_append_printf (script, "delete table %s\n", (gchar *) g_ptr_array_index (tables, i));
  if (script->len > 0 && !run_nft (argv, script->str, NULL, error))
    {
      g_prefix_error (error, "cannot unlock the network: ");
      return FALSE;
    }
  unlink (MOLT_NET_LOCK_MARK);
  return TRUE;
}
