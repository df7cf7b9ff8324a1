/* Who holds a module: see molt-module-users.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <gio/gio.h>

#include "molt-module-info.h"
#include "molt-module-users.h"

/* Bounds on the scan: a guest with more is named in part. */
#define MOLT_USERS_MAX_PROCS 8192
#define MOLT_USERS_MAX_FDS   4096
#define MOLT_USERS_MAX_NAMED 4

/* The module bound to the driver of DIR, or NULL. */
static gchar *
driver_module (const gchar *dir)
{
  g_autofree gchar *link = g_build_filename (dir, "driver", "module", NULL);
  g_autofree gchar *target = g_file_read_link (link, NULL);

  return target != NULL ? g_path_get_basename (target) : NULL;
}

gboolean
molt_module_owns_device (dev_t rdev, gboolean block, const gchar *module)
{
  g_autofree gchar *path
      = g_strdup_printf ("/sys/dev/%s/%u:%u", block ? "block" : "char", major (rdev), minor (rdev));
  g_autofree gchar *wanted = molt_module_canonical_name (module);
  g_autofree gchar *real = realpath (path, NULL);
  g_autofree gchar *base = NULL;

  if (real == NULL)
    return FALSE;
  for (g_autofree gchar *dir = g_strdup (real);
       g_str_has_prefix (dir, "/sys/devices/") && strlen (dir) > strlen ("/sys/devices/");)
    {
      g_autofree gchar *owner = driver_module (dir);
      gchar *up;

      if (owner != NULL)
        return g_str_equal (owner, wanted);
      up = g_path_get_dirname (dir);
      g_free (dir);
      dir = up;
    }
  base = g_path_get_basename (real);
  return g_str_equal (base, wanted);
}

static void
add_user (GPtrArray *users, guint *more, gchar *text)
{
  if (users->len < MOLT_USERS_MAX_NAMED)
    g_ptr_array_add (users, text);
  else
    {
      (*more)++;
      g_free (text);
    }
}

static void
scan_processes (const gchar *module, GPtrArray *users, guint *more)
{
  g_autoptr (GDir) proc = g_dir_open ("/proc", 0, NULL);
  const gchar *pid;
  guint seen = 0;

  while (proc != NULL && (pid = g_dir_read_name (proc)) != NULL && seen < MOLT_USERS_MAX_FDS)
    {
      g_autofree gchar *fd_dir = NULL;
      g_autoptr (GDir) fds = NULL;
      const gchar *fd;

      if (!g_ascii_isdigit (pid[0]))
        continue;
      fd_dir = g_build_filename ("/proc", pid, "fd", NULL);
      fds = g_dir_open (fd_dir, 0, NULL);
      while (fds != NULL && (fd = g_dir_read_name (fds)) != NULL && seen++ < MOLT_USERS_MAX_FDS)
        {
          g_autofree gchar *link = g_build_filename (fd_dir, fd, NULL);
          g_autofree gchar *target = NULL, *comm_path = NULL, *comm = NULL;
          struct stat st;

          if (stat (link, &st) != 0 || !(S_ISCHR (st.st_mode) || S_ISBLK (st.st_mode))
              || !molt_module_owns_device (st.st_rdev, S_ISBLK (st.st_mode), module))
            continue;
          target = g_file_read_link (link, NULL);
          comm_path = g_build_filename ("/proc", pid, "comm", NULL);
          g_file_get_contents (comm_path, &comm, NULL, NULL);
          add_user (users, more,
                    g_strdup_printf ("pid %s (%s) has %s open", pid,
                                     comm != NULL ? g_strstrip (comm) : "?",
                                     target != NULL ? target : "a device"));
          break;
        }
    }
}

/* mountinfo: ID PARENT MAJ:MIN ROOT MOUNTPOINT ... - TYPE SOURCE ... */
static void
scan_mounts (const gchar *module, GPtrArray *users, guint *more)
{
  g_autofree gchar *text = NULL;
  g_auto (GStrv) lines = NULL;

  if (!g_file_get_contents ("/proc/self/mountinfo", &text, NULL, NULL))
    return;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto (GStrv) fields = g_strsplit (lines[i], " ", -1);
      const gchar *source = NULL;
      guint maj, min;

      if (g_strv_length (fields) < 5 || sscanf (fields[2], "%u:%u", &maj, &min) != 2 || maj == 0
          || !molt_module_owns_device (makedev (maj, min), TRUE, module))
        continue;
      for (guint f = 5; fields[f] != NULL; f++)
        if (g_str_equal (fields[f], "-") && fields[f + 1] != NULL)
          source = fields[f + 2];
      add_user (users, more,
                g_strdup_printf ("%s is mounted from %s", fields[4],
                                 source != NULL ? source : fields[2]));
    }
}

static void
scan_interfaces (const gchar *module, GPtrArray *users, guint *more)
{
  g_autoptr (GDir) net = g_dir_open ("/sys/class/net", 0, NULL);
  g_autofree gchar *wanted = molt_module_canonical_name (module);
  const gchar *name;

  while (net != NULL && (name = g_dir_read_name (net)) != NULL)
    {
      g_autofree gchar *device = g_build_filename ("/sys/class/net", name, "device", NULL);
      g_autofree gchar *owner = driver_module (device);

      if (owner != NULL && g_str_equal (owner, wanted))
        add_user (users, more, g_strdup_printf ("network interface %s", name));
    }
}

gchar *
molt_module_users_describe (const gchar *module)
{
  g_autoptr (GPtrArray) users = g_ptr_array_new_with_free_func (g_free);
  guint more = 0;
  g_autofree gchar *joined = NULL;

  scan_processes (module, users, &more);
  scan_mounts (module, users, &more);
  scan_interfaces (module, users, &more);
  if (users->len == 0)
    return NULL;
  g_ptr_array_add (users, NULL);
  joined = g_strjoinv ("; ", (gchar **) users->pdata);
  return more > 0 ? g_strdup_printf ("%s; and %u more", joined, more) : g_steal_pointer (&joined);
}
