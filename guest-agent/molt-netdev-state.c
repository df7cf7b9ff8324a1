/* Network interfaces kept across their driver's reload: see
 * molt-netdev-state.h. */
#include <string.h>

#include <gio/gio.h>

#include "molt-netdev-state.h"
#include "molt-protocol-error.h"

#define MOLT_NETDEV_POLL_MS 100

struct _MoltNetdevState
{
  gchar *name;
  gchar *mac;
  gchar *mtu;
  gboolean up;
  GPtrArray *addrs;  /* "10.0.2.15/24", "fd00::1/64" */
  GPtrArray *routes; /* `ip route` lines without the device: put back with
                      * `ip route replace` (the subnet route an address
                      * brings, which busybox shows without its "proto
                      * kernel", is there already) */
};

void
molt_netdev_state_free (MoltNetdevState *state)
{
  if (state == NULL)
    return;
  g_free (state->name);
  g_free (state->mac);
  g_free (state->mtu);
  g_ptr_array_unref (state->addrs);
  g_ptr_array_unref (state->routes);
  g_free (state);
}

static gchar *
sysfs_net (const gchar *name, const gchar *attribute)
{
  g_autofree gchar *path = g_build_filename ("/sys/class/net", name, attribute, NULL);
  gchar *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  return g_strstrip (text);
}

/* `ip ARGS...`: its output, or NULL with the error. */
static gchar *
ip (GError **error, const gchar *first, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autofree gchar *out = NULL, *err = NULL;
  const gchar *arg;
  va_list args;
  gint status;

  g_ptr_array_add (argv, (gpointer) "ip");
  va_start (args, first);
  for (arg = first; arg != NULL; arg = va_arg (args, const gchar *))
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);
  if (!g_spawn_sync (NULL, (gchar **) argv->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out,
                     &err, &status, error))
    return NULL;
  if (!g_spawn_check_wait_status (status, NULL))
    {
      g_autofree gchar *line = g_strjoinv (" ", (gchar **) argv->pdata);
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC, "'%s' failed: %s", line,
                   g_strstrip (err));
      return NULL;
    }
  return g_steal_pointer (&out);
}

/* The driver module behind an interface, from sysfs. */
static gchar *
module_of (const gchar *name)
{
  g_autofree gchar *path = g_build_filename ("/sys/class/net", name, "device/driver/module", NULL);
  g_autofree gchar *target = g_file_read_link (path, NULL);

  return target != NULL ? g_path_get_basename (target) : NULL;
}

static MoltNetdevState *
save_one (const gchar *name)
{
  MoltNetdevState *s = g_new0 (MoltNetdevState, 1);
  g_autofree gchar *flags = sysfs_net (name, "flags");
  g_autofree gchar *addrs = ip (NULL, "-o", "addr", "show", "dev", name, NULL);
  g_autofree gchar *routes = ip (NULL, "route", "show", "dev", name, NULL);
  g_auto (GStrv) lines = NULL;

  s->name = g_strdup (name);
  s->mac = sysfs_net (name, "address");
  s->mtu = sysfs_net (name, "mtu");
  s->up = flags != NULL && (g_ascii_strtoull (flags, NULL, 16) & 1) != 0; /* IFF_UP */
  s->addrs = g_ptr_array_new_with_free_func (g_free);
  s->routes = g_ptr_array_new_with_free_func (g_free);
  lines = g_strsplit (addrs != NULL ? addrs : "", "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto (GStrv) words = g_strsplit_set (lines[i], " \t", -1);
      for (guint w = 0; words[w] != NULL; w++)
        if ((g_str_equal (words[w], "inet") || g_str_equal (words[w], "inet6"))
            && words[w + 1] != NULL && strstr (lines[i], "scope link") == NULL)
          {
            g_ptr_array_add (s->addrs, g_strdup (words[w + 1]));
            break;
          }
    }
  g_strfreev (lines);
  lines = g_strsplit (routes != NULL ? routes : "", "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr (GString) route = g_string_new (g_strstrip (lines[i]));
      /* The kernel's own (an address's subnet) come back with the address. */
      if (route->len == 0 || strstr (route->str, "proto kernel") != NULL)
        continue;
      g_string_replace (route, " linkdown", "", 0);
      /* Named again at the restore: a reload may rename the interface. */
      {
        g_autofree gchar *dev = g_strconcat (" dev ", name, NULL);
        g_string_replace (route, dev, "", 0);
      }
      g_ptr_array_add (s->routes, g_string_free (g_steal_pointer (&route), FALSE));
    }
  return s;
}

GPtrArray *
molt_netdev_save_for_module (const gchar *module)
{
  GPtrArray *saved = g_ptr_array_new_with_free_func ((GDestroyNotify) molt_netdev_state_free);
  g_autoptr (GDir) dir = g_dir_open ("/sys/class/net", 0, NULL);
  g_autofree gchar *wanted = g_strdup (module);
  const gchar *name;

  g_strdelimit (wanted, "-", '_');
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree gchar *driver = module_of (name);
      if (driver != NULL && g_str_equal (driver, wanted))
        g_ptr_array_add (saved, save_one (name));
    }
  return saved;
}

/* The interface with MAC now, or NULL. */
static gchar *
find_by_mac (const gchar *mac)
{
  g_autoptr (GDir) dir = g_dir_open ("/sys/class/net", 0, NULL);
  const gchar *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree gchar *address = sysfs_net (name, "address");
      if (g_strcmp0 (address, mac) == 0)
        return g_strdup (name);
    }
  return NULL;
}

static gboolean
restore_one (const MoltNetdevState *s, guint timeout_ms, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  g_autofree gchar *name = NULL;
  g_autofree gchar *out = NULL;

  while ((name = find_by_mac (s->mac)) == NULL && g_get_monotonic_time () < deadline)
    g_usleep (MOLT_NETDEV_POLL_MS * 1000);
  if (name == NULL)
    {
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                   "interface %s (%s) did not come back within %u ms", s->name, s->mac, timeout_ms);
      return FALSE;
    }
  if (s->mtu != NULL && (out = ip (error, "link", "set", "dev", name, "mtu", s->mtu, NULL)) == NULL)
    return FALSE;
  for (guint i = 0; i < s->addrs->len; i++)
    {
      g_autoptr (GError) local = NULL;
      g_autofree gchar *added
          = ip (&local, "addr", "add", (const gchar *) s->addrs->pdata[i], "dev", name, NULL);
      /* Already there: autoconfiguration (IPv6 SLAAC) was first. */
      if (added == NULL && strstr (local->message, "File exists") == NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
    }
  if (s->up)
    {
      g_autofree gchar *up = ip (error, "link", "set", "dev", name, "up", NULL);
      if (up == NULL)
        return FALSE;
    }
  for (guint i = 0; i < s->routes->len; i++)
    {
      g_autofree gchar *line
          = g_strdup_printf ("route replace %s dev %s", (const gchar *) s->routes->pdata[i], name);
      g_auto (GStrv) words = g_strsplit_set (line, " ", -1);
      g_autoptr (GPtrArray) argv = g_ptr_array_new ();
      g_autofree gchar *added = NULL, *err = NULL;
      gint status;

      g_ptr_array_add (argv, (gpointer) "ip");
      for (guint w = 0; words[w] != NULL; w++)
        if (words[w][0] != '\0')
          g_ptr_array_add (argv, words[w]);
      g_ptr_array_add (argv, NULL);
      if (!g_spawn_sync (NULL, (gchar **) argv->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                         &added, &err, &status, error))
        return FALSE;
      if (!g_spawn_check_wait_status (status, NULL))
        {
          g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                       "'ip %s' failed: %s", line, g_strstrip (err));
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
molt_netdev_restore (GPtrArray *saved, guint timeout_ms, GError **error)
{
  for (guint i = 0; saved != NULL && i < saved->len; i++)
    if (!restore_one (saved->pdata[i], timeout_ms, error))
      {
        g_prefix_error (error, "network interface not restored: ");
        return FALSE;
      }
  return TRUE;
}

gchar *
molt_netdev_state_describe (const MoltNetdevState *state)
{
  g_autoptr (GString) text = g_string_new (NULL);

  g_string_append_printf (text, "%s (%s", state->name, state->mac != NULL ? state->mac : "?");
  for (guint i = 0; i < state->addrs->len; i++)
    g_string_append_printf (text, ", %s", (const gchar *) state->addrs->pdata[i]);
  g_string_append (text, ")");
  return g_string_free (g_steal_pointer (&text), FALSE);
}
