#include <string.h>
#include <sys/xattr.h>

#include "molt-job-freezer.h"
#include "molt-socket-census.h"

/* The tree's sockets: inode -> protocol name ("TCP", "UDPv6",
 * "UNIX-STREAM", "NETLINK"...), as the socket itself says
 * (system.sockprotoname): unbound unix sockets (a socket pair) are in no
 * /proc/net table. */
static GHashTable *
tree_sockets (gint root_pid)
{
  g_autoptr (GArray) tree = molt_process_tree (root_pid);
  GHashTable *sockets = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);

  for (guint i = 0; i < tree->len; i++)
    {
      g_autofree gchar *dir_path = g_strdup_printf ("/proc/%d/fd", g_array_index (tree, gint, i));
      g_autoptr (GDir) dir = g_dir_open (dir_path, 0, NULL);
      const gchar *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree gchar *fd_path = g_build_filename (dir_path, name, NULL);
          g_autofree gchar *target = g_file_read_link (fd_path, NULL);
          gchar proto[64] = "";
          ssize_t len;
          gint64 *inode;

          if (target == NULL || !g_str_has_prefix (target, "socket:["))
            continue;
          len = getxattr (fd_path, "system.sockprotoname", proto, sizeof proto - 1);
          proto[len > 0 ? len : 0] = '\0';
          inode = g_new (gint64, 1);
          *inode = g_ascii_strtoll (target + strlen ("socket:["), NULL, 10);
          /* Shared sockets count once (an inode already there is replaced). */
          g_hash_table_replace (sockets, inode, g_strdup (proto));
        }
    }
  return sockets;
}

/* /proc/net/tcp{,6}: "sl local rem st tx_queue:rx_queue ... uid timeout
 * inode ...": inode -> state ("01" established, "0A" listen) for the tree's
 * sockets. A listening socket's rx_queue is its accept queue's length. */
static void
read_tcp_states (const gchar *path, GHashTable *sockets, GHashTable *states, guint *queued)
{
  g_autofree gchar *text = NULL;
  g_auto (GStrv) lines = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 1; lines[i] != NULL; i++)
    {
      g_auto (GStrv) f = g_strsplit_set (g_strstrip (lines[i]), " ", -1);
      const gchar *words[10];
      guint n = 0;
      gint64 inode;

      for (guint j = 0; f[j] != NULL && n < G_N_ELEMENTS (words); j++)
        if (f[j][0] != '\0')
          words[n++] = f[j];
      if (n < G_N_ELEMENTS (words))
        continue;
      inode = g_ascii_strtoll (words[9], NULL, 10);
      if (!g_hash_table_contains (sockets, &inode))
        continue;
      g_hash_table_insert (states, g_memdup2 (&inode, sizeof inode), g_strdup (words[3]));
      if (g_str_equal (words[3], "0A") && strchr (words[4], ':') != NULL)
        *queued += (guint) g_ascii_strtoull (strchr (words[4], ':') + 1, NULL, 16);
    }
}

void
molt_socket_census_tree (gint root_pid, MoltSocketCensus *census)
{
  g_autoptr (GHashTable) sockets = tree_sockets (root_pid);
  g_autoptr (GHashTable) states
      = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  /* The tables of the job's own network namespace. */
  g_autofree gchar *tcp = g_strdup_printf ("/proc/%d/net/tcp", root_pid);
  g_autofree gchar *tcp6 = g_strdup_printf ("/proc/%d/net/tcp6", root_pid);
  GHashTableIter iter;
  gpointer key, value;

  *census = (MoltSocketCensus){ 0 };
  read_tcp_states (tcp, sockets, states, &census->tcp_queued);
  read_tcp_states (tcp6, sockets, states, &census->tcp_queued);
  g_hash_table_iter_init (&iter, sockets);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      const gchar *proto = value;

      if (g_str_has_prefix (proto, "TCP"))
        {
          const gchar *state = g_hash_table_lookup (states, key);
          if (g_strcmp0 (state, "01") == 0)
            census->tcp_established++;
          else if (g_strcmp0 (state, "0A") == 0)
            census->tcp_listen++;
          else
            census->tcp_other++;
        }
      else if (g_str_has_prefix (proto, "UDP"))
        census->udp++;
      else if (g_str_has_prefix (proto, "UNIX"))
        census->unix_++;
      else
        census->other++;
    }
}

JsonObject *
molt_socket_census_to_json (const MoltSocketCensus *census)
{
  JsonObject *obj = json_object_new ();

  json_object_set_int_member (obj, "tcp-established", census->tcp_established);
  json_object_set_int_member (obj, "tcp-listen", census->tcp_listen);
  json_object_set_int_member (obj, "tcp-other", census->tcp_other);
  json_object_set_int_member (obj, "udp", census->udp);
  json_object_set_int_member (obj, "unix", census->unix_);
  json_object_set_int_member (obj, "other", census->other);
  return obj;
}
