/* The live path of a driver-set switch: see molt-module-reload.h. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "molt-depmod.h"
#include "molt-module-initrd.h"
#include "molt-module-inspect.h"
#include "molt-module-reload.h"
#include "molt-netdev-state.h"
#include "molt-protocol-error.h"

typedef struct
{
  MoltModuleCandidate *c; /* borrowed */
  gchar *old_file;        /* where the loaded module came from; NULL: unknown */
  gchar *moved_from;      /* an updates/ file moved aside for the staging */
  gchar *moved_to;
  gchar *staged;
  gboolean unloaded, loaded_new;
  gchar *old_version, *old_srcversion;
  GPtrArray *netdevs; /* the interfaces it drove, to put back after the load */
  gdouble unload_s, load_s;
} Step;

/* A reload held for the host's probe: what a revert puts back. One at a
 * time; it lives until the host commits or reverts it (or the agent
 * restarts: then the new modules stay, their files staged). */
typedef struct
{
  GPtrArray *cands;
  GArray *steps;
  gchar *aside_dir;
  gchar *release;
  gchar *dir;
} Pending;

static Pending *pending;

/* How long a reloaded NIC driver may take to bring its interfaces back. */
#define MOLT_NETDEV_RETURN_MS 10000

static void
step_clear (gpointer data)
{
  Step *s = data;
  g_free (s->old_file);
  g_free (s->moved_from);
  g_free (s->moved_to);
  g_free (s->staged);
  g_free (s->old_version);
  g_free (s->old_srcversion);
  g_clear_pointer (&s->netdevs, g_ptr_array_unref);
}

static gboolean
unload (const gchar *name, GError **error)
{
  g_autofree gchar *module = molt_module_canonical_name (name);

  if (syscall (SYS_delete_module, module, O_NONBLOCK) != 0)
    {
      gint saved_errno = errno;
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                   "cannot unload module %s: %s", module, g_strerror (saved_errno));
      return FALSE;
    }
  return TRUE;
}

/* ARGV (its program looked up in PATH) run to its end; FALSE with its
 * standard error when it fails ("modprobe x failed: ..."). */
static gboolean
run_tool (const gchar *const *argv, GError **error)
{
  g_autofree gchar *err = NULL, *program = g_path_get_basename (argv[0]);
  gint status;

  if (!g_spawn_sync (NULL, (gchar **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                     NULL, NULL, NULL, &err, &status, error))
    return FALSE;
  if (!g_spawn_check_wait_status (status, NULL))
    {
      g_autofree gchar *args = g_strjoinv (" ", (gchar **) argv + 1);
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC, "%s %s failed: %s",
                   program, args, g_strstrip (err));
      return FALSE;
    }
  return TRUE;
}

gboolean
molt_module_load_file (const gchar *file, const gchar *name, GError **error)
{
  gint fd;

  if (!g_str_has_suffix (file, ".ko"))
    {
      const gchar *argv[] = { "modprobe", name, NULL };
      molt_depmod_settle (); /* modprobe reads the index */
      return run_tool (argv, error);
    }
  if ((fd = open (file, O_RDONLY | O_CLOEXEC)) < 0 || syscall (SYS_finit_module, fd, "", 0) != 0)
    {
      gint saved_errno = errno;
      if (fd >= 0)
        close (fd);
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC, "cannot load %s: %s%s",
                   file, g_strerror (saved_errno),
                   saved_errno == EIO || saved_errno == ENODEV || saved_errno == EINVAL
                       ? " (the kernel's log says why)"
                       : "");
      return FALSE;
    }
  close (fd);
  return TRUE;
}

static gboolean
copy_file (const gchar *from, const gchar *to, GError **error)
{
  g_autoptr (GFile) src = g_file_new_for_path (from);
  g_autoptr (GFile) dst = g_file_new_for_path (to);

  return g_file_copy (src, dst, G_FILE_COPY_OVERWRITE, NULL, NULL, NULL, error);
}

/* The new file where the next boot finds it; an older file of the same
 * module under updates/ (which would compete with it) moved aside. */
static gboolean
stage (Step *s, const gchar *release, const gchar *aside_dir, GError **error)
{
  g_autofree gchar *updates = g_build_filename ("/lib/modules", release, "updates", NULL);
  g_autofree gchar *molt_dir = g_build_filename (updates, "molt", NULL);
  g_autofree gchar *base = g_strconcat (s->c->info->name, ".ko", NULL);
  g_autofree gchar *aside = g_strconcat (s->c->info->name, ".aside", NULL);

  if (s->old_file != NULL && g_str_has_prefix (s->old_file, updates))
    {
      s->moved_from = g_strdup (s->old_file);
      s->moved_to = g_build_filename (aside_dir, aside, NULL);
      if (g_rename (s->moved_from, s->moved_to) != 0)
        {
          gint saved_errno = errno;
          g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                       "cannot move %s aside: %s", s->moved_from, g_strerror (saved_errno));
          g_clear_pointer (&s->moved_from, g_free);
          return FALSE;
        }
    }
  s->staged = g_build_filename (molt_dir, base, NULL);
  if (g_mkdir_with_parents (molt_dir, 0755) != 0)
    {
      gint saved_errno = errno;
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC, "cannot create %s: %s",
                   molt_dir, g_strerror (saved_errno));
      g_clear_pointer (&s->staged, g_free);
      return FALSE;
    }
  if (!copy_file (s->c->file, s->staged, error))
    {
      g_clear_pointer (&s->staged, g_free);
      return FALSE;
    }
  return TRUE;
}

/* Everything put back, newest first; what could not be is appended to
 * HOW (the message says how the rollback went). TRUE when all of it was. */
static gboolean
roll_back (GArray *steps, const gchar *release, GString *how, const gchar *aside_dir)
{
  gboolean all = TRUE;

  for (guint i = steps->len; i-- > 0;)
    {
      Step *s = &g_array_index (steps, Step, i);
      g_autoptr (GError) local = NULL;

      if (s->loaded_new && !unload (s->c->info->name, &local))
        {
          g_string_append_printf (how, "; %s", local->message);
          all = FALSE;
          g_clear_error (&local);
        }
      if (s->staged != NULL)
        g_unlink (s->staged);
      if (s->moved_from != NULL && g_rename (s->moved_to, s->moved_from) != 0)
        {
          g_string_append_printf (how, "; cannot put %s back: %s", s->moved_from,
                                  g_strerror (errno));
          all = FALSE;
        }
    }
  g_rmdir (aside_dir);
  molt_depmod_run (release);
  for (guint i = 0; i < steps->len; i++)
    {
      Step *s = &g_array_index (steps, Step, i);
      g_autoptr (GError) local = NULL;

      if (!s->unloaded)
        continue;
      if (s->old_file == NULL)
        {
          g_string_append_printf (how,
                                  "; the old %s came from no file of the kernel's module "
                                  "tree: load it again yourself",
                                  s->c->info->name);
          all = FALSE;
        }
      else if (!molt_module_load_file (s->old_file, s->c->info->name, &local))
        {
          g_string_append_printf (how, "; %s", local->message);
          all = FALSE;
        }
      else if (!molt_netdev_restore (s->netdevs, MOLT_NETDEV_RETURN_MS, &local))
        {
          g_string_append_printf (how, "; %s", local->message);
          all = FALSE;
        }
    }
  g_string_prepend (how, all ? "rolled back: the old modules are loaded again, the staged files "
                               "removed"
                             : "the rollback was incomplete");
  return all;
}

/* FAILURE, then how its rollback went, as the class the host keys on. */
static void
set_rolled_back_error (GError **error, gboolean complete, const GError *failure, const GString *how)
{
  g_set_error (error, MOLT_PROTOCOL_ERROR,
               complete ? MOLT_PROTOCOL_ERROR_ROLLED_BACK : MOLT_PROTOCOL_ERROR_ROLLBACK_INCOMPLETE,
               "%s; %s", failure->message, how->str);
}

static JsonObject *
step_to_json (Step *s)
{
  JsonObject *obj = json_object_new ();
  g_autofree gchar *new_version = molt_module_sysfs (s->c->info->name, "version");
  g_autofree gchar *new_srcversion = molt_module_sysfs (s->c->info->name, "srcversion");

  json_object_set_string_member (obj, "name", s->c->info->name);
  if (s->old_version != NULL)
    json_object_set_string_member (obj, "old-version", s->old_version);
  if (s->old_srcversion != NULL)
    json_object_set_string_member (obj, "old-srcversion", s->old_srcversion);
  if (new_version != NULL)
    json_object_set_string_member (obj, "new-version", new_version);
  if (new_srcversion != NULL)
    json_object_set_string_member (obj, "new-srcversion", new_srcversion);
  json_object_set_boolean_member (obj, "was-loaded", s->c->loaded);
  json_object_set_double_member (obj, "unload-s", s->unload_s);
  json_object_set_double_member (obj, "load-s", s->load_s);
  json_object_set_string_member (obj, "staged", s->staged);
  if (s->netdevs != NULL && s->netdevs->len > 0)
    {
      JsonArray *ifaces = json_array_new ();
      for (guint i = 0; i < s->netdevs->len; i++)
        {
          g_autofree gchar *text = molt_netdev_state_describe (s->netdevs->pdata[i]);
          json_array_add_string_element (ifaces, text);
        }
      json_object_set_array_member (obj, "interfaces", ifaces);
    }
  return obj;
}

static gdouble
seconds_since (gint64 start)
{
  return (gdouble) ((g_get_monotonic_time () - start) / 1000) / 1000;
}

/* Unload the old ones (dependents first), load the new ones (dependencies
 * first); FALSE at the first failure. */
static gboolean
swap (GArray *steps, GError **error)
{
  for (guint i = steps->len; i-- > 0;)
    {
      Step *s = &g_array_index (steps, Step, i);
      gint64 start = g_get_monotonic_time ();

      if (!s->c->loaded)
        continue;
      s->netdevs = molt_netdev_save_for_module (s->c->info->name);
      if (!unload (s->c->info->name, error))
        return FALSE;
      s->unloaded = TRUE;
      s->unload_s = seconds_since (start);
    }
  for (guint i = 0; i < steps->len; i++)
    {
      Step *s = &g_array_index (steps, Step, i);
      gint64 start = g_get_monotonic_time ();
      g_autofree gchar *refcnt = NULL;

      if (!molt_module_load_file (s->staged, s->c->info->name, error))
        return FALSE;
      s->loaded_new = TRUE;
      s->load_s = seconds_since (start);
      if ((refcnt = molt_module_sysfs (s->c->info->name, "refcnt")) == NULL)
        {
          g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                       "module %s loaded but is not in /sys/module", s->c->info->name);
          return FALSE;
        }
    }
  for (guint i = 0; i < steps->len; i++)
    {
      Step *s = &g_array_index (steps, Step, i);
      if (!molt_netdev_restore (s->netdevs, MOLT_NETDEV_RETURN_MS, error))
        {
          g_prefix_error (error, "after loading the new %s: ", s->c->info->name);
          return FALSE;
        }
    }
  return TRUE;
}

/* Beside the modules (a rename does not cross filesystems); depmod skips
 * what it holds (no ".ko" in its names). */
static gchar *
make_aside_dir (const gchar *release, GError **error)
{
  g_autofree gchar *dir = g_strdup_printf ("/lib/modules/%s/.molt-aside-XXXXXX", release);

  if (g_mkdtemp (dir) == NULL)
    {
      gint saved_errno = errno;
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC, "cannot create %s: %s",
                   dir, g_strerror (saved_errno));
      return NULL;
    }
  return g_steal_pointer (&dir);
}

static void
pending_free (Pending *p)
{
  g_ptr_array_unref (p->cands);
  g_array_unref (p->steps);
  g_free (p->aside_dir);
  g_free (p->release);
  g_free (p->dir);
  g_free (p);
}

/* Replaced for good: the old files moved aside go; the next boot's index
 * after the reply (the jobs need not wait for it: seconds under TCG, the
 * whole module tree). */
static void
finish_reload (GArray *steps, const gchar *aside_dir, const gchar *release)
{
  for (guint i = 0; i < steps->len; i++)
    {
      Step *st = &g_array_index (steps, Step, i);
      if (st->moved_to != NULL)
        g_unlink (st->moved_to);
    }
  g_rmdir (aside_dir);
  molt_depmod_run_later (release);
}

JsonNode *
molt_module_reload_commit (GError **error)
{
  g_autoptr (JsonObject) obj = json_object_new ();

  if (pending == NULL)
    {
      g_set_error_literal (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                           "no reload awaits its commit");
      return NULL;
    }
  finish_reload (pending->steps, pending->aside_dir, pending->release);
  json_object_set_string_member (obj, "dir", pending->dir);
  g_clear_pointer (&pending, pending_free);
  return json_node_init_object (json_node_alloc (), obj);
}

JsonNode *
molt_module_reload_revert (GError **error)
{
  g_autoptr (GString) how = g_string_new (NULL);
  g_autoptr (JsonObject) obj = json_object_new ();
  gboolean complete;

  if (pending == NULL)
    {
      g_set_error_literal (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                           "no reload awaits its revert");
      return NULL;
    }
  complete = roll_back (pending->steps, pending->release, how, pending->aside_dir);
  g_clear_pointer (&pending, pending_free);
  if (!complete)
    {
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_ROLLBACK_INCOMPLETE, "%s",
                   how->str);
      return NULL;
    }
  json_object_set_string_member (obj, "how", how->str);
  return json_node_init_object (json_node_alloc (), obj);
}

JsonNode *
molt_module_reload (const gchar *dir, gboolean hold, GError **error)
{
  g_autoptr (GPtrArray) cands = NULL;
  g_autoptr (GArray) steps = g_array_new (FALSE, TRUE, sizeof (Step));
  g_autofree gchar *aside_dir = NULL;
  g_autoptr (JsonArray) results = json_array_new ();
  g_autofree gchar *release = NULL;

  g_array_set_clear_func (steps, step_clear);
  if (pending != NULL)
    {
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                   "the reload of %s awaits its commit or revert (modules-reload-commit, "
                   "modules-reload-revert); nothing was changed",
                   pending->dir);
      return NULL;
    }
  if ((cands = molt_module_inspect_installable (dir, &release, error)) == NULL)
    return NULL;
  for (guint i = 0; i < cands->len; i++)
    {
      g_autofree gchar *busy = molt_module_busy_reason (cands->pdata[i]);
      if (busy != NULL)
        {
          g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                       "no live reload: %s; nothing was changed", busy);
          return NULL;
        }
    }
  if ((aside_dir = make_aside_dir (release, error)) == NULL)
    return NULL;
  for (guint i = 0; i < cands->len; i++)
    {
      Step s = { 0 };
      s.c = cands->pdata[i];
      s.old_file = s.c->loaded ? molt_module_file (release, s.c->info->name) : NULL;
      s.old_version = g_strdup (s.c->loaded_version);
      s.old_srcversion = g_strdup (s.c->loaded_srcversion);
      g_array_append_val (steps, s);
    }
  {
    g_autoptr (GError) failure = NULL;
    g_autoptr (GString) how = g_string_new (NULL);

    for (guint i = 0; i < steps->len && failure == NULL; i++)
      stage (&g_array_index (steps, Step, i), release, aside_dir, &failure);
    if (failure == NULL && swap (steps, &failure))
      {
        for (guint i = 0; i < steps->len; i++)
          json_array_add_object_element (results, step_to_json (&g_array_index (steps, Step, i)));
        if (hold)
          {
            pending = g_new0 (Pending, 1);
            pending->cands = g_steal_pointer (&cands);
            pending->steps = g_steal_pointer (&steps);
            pending->aside_dir = g_steal_pointer (&aside_dir);
            pending->release = g_strdup (release);
            pending->dir = g_strdup (dir);
          }
        else
          finish_reload (steps, aside_dir, release);
        return json_node_init_array (json_node_alloc (), results);
      }
    /* Files moved aside are back before its depmod: the directory goes
     * empty. */
    set_rolled_back_error (error, roll_back (steps, release, how, aside_dir), failure, how);
    return NULL;
  }
}

/* update-initramfs where the guest has it (Debian, Ubuntu: it rebuilds
 * from the staged tree); else the new files appended to the initramfs as
 * for the kexec (molt-module-initrd.h). */
static gboolean
update_initramfs (GPtrArray *cands, const gchar *release, gchar **how, GError **error)
{
  g_autofree gchar *tool = g_find_program_in_path ("update-initramfs");
  g_autofree gchar *base = g_strdup_printf ("/boot/initrd.img-%s", release);
  g_autoptr (GBytes) overlay = NULL;

  if (tool != NULL)
    {
      const gchar *argv[] = { tool, "-u", "-k", release, NULL };

      if (!run_tool (argv, error))
        return FALSE;
      *how = g_strdup_printf ("rebuilt by update-initramfs -u -k %s", release);
      return TRUE;
    }
  if ((overlay = molt_module_initrd_overlay (cands, release, error)) == NULL
      || !molt_module_initrd_write (base, overlay, base, error))
    return FALSE;
  *how = g_strdup_printf ("the new modules appended to %s (no update-initramfs)", base);
  return TRUE;
}

JsonNode *
molt_module_install (const gchar *dir, gboolean initramfs, GError **error)
{
  g_autoptr (GPtrArray) cands = NULL;
  g_autoptr (GArray) steps = g_array_new (FALSE, TRUE, sizeof (Step));
  g_autoptr (GError) failure = NULL;
  g_autoptr (GString) how = g_string_new (NULL);
  g_autoptr (JsonObject) obj = json_object_new ();
  g_autofree gchar *aside_dir = NULL, *initramfs_how = NULL;
  JsonArray *staged;
  g_autofree gchar *release = NULL;

  g_array_set_clear_func (steps, step_clear);
  if ((cands = molt_module_inspect_installable (dir, &release, error)) == NULL)
    return NULL;
  if ((aside_dir = make_aside_dir (release, error)) == NULL)
    return NULL;
  for (guint i = 0; i < cands->len; i++)
    {
      Step s = { 0 };
      s.c = cands->pdata[i];
      s.old_file = molt_module_file (release, s.c->info->name);
      g_array_append_val (steps, s);
    }
  for (guint i = 0; i < steps->len && failure == NULL; i++)
    stage (&g_array_index (steps, Step, i), release, aside_dir, &failure);
  if (failure != NULL)
    {
      set_rolled_back_error (error, roll_back (steps, release, how, aside_dir), failure, how);
      return NULL;
    }
  staged = json_array_new ();
  for (guint i = 0; i < steps->len; i++)
    {
      Step *st = &g_array_index (steps, Step, i);
      if (st->moved_to != NULL)
        g_unlink (st->moved_to);
      json_array_add_string_element (staged, st->staged);
    }
  g_rmdir (aside_dir);
  json_object_set_array_member (obj, "staged", staged);
  molt_depmod_run (release);
  if (initramfs && !update_initramfs (cands, release, &initramfs_how, error))
    {
      g_prefix_error (error,
                      "the modules are staged under /lib/modules/%s/updates/molt, but the "
                      "initramfs still has the old ones, which the next cold boot loads: ",
                      release);
      return NULL;
    }
  json_object_set_string_member (obj, "initramfs",
                                 initramfs_how != NULL ? initramfs_how
                                                       : "unchanged (no module of "
                                                         "the set loads from it)");
  return json_node_init_object (json_node_alloc (), obj);
}
