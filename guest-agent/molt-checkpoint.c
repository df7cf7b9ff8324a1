#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <criu/criu.h>
#include <gio/gio.h>

#include "molt-checkpoint.h"
#include "molt-protocol-error.h"

#define MOLT_CRIU_DUMP_LOG     "dump.log"
#define MOLT_CRIU_PRE_DUMP_LOG "pre-dump.log"
#define MOLT_CRIU_RESTORE_LOG  "restore.log"

/* CRIU's first error line says why (a full disk: "... No space left on
 * device"); its last one what failed ("Dumping FAILED."): both, when they
 * differ. */
gchar *
molt_checkpoint_log_error (const gchar *log_path)
{
  g_autofree gchar *contents = NULL;
  g_auto (GStrv) lines = NULL;
  const gchar *first = NULL, *last = NULL;

  if (!g_file_get_contents (log_path, &contents, NULL, NULL))
    return NULL;
  lines = g_strsplit (contents, "\n", 0);
  for (guint i = 0; lines[i] != NULL; i++)
    if (strstr (lines[i], "Error") != NULL)
      {
        g_strstrip (lines[i]);
        if (first == NULL)
          first = lines[i];
        last = lines[i];
      }
  if (first == NULL)
    return NULL;
  if (first == last)
    return g_strdup (first);
  return g_strdup_printf ("%s ... %s", first, last);
}

static criu_opts *
new_opts (const gchar *images_dir, const gchar *log_name, gint *dir_fd, GError **error)
{
  criu_opts *opts = NULL;

  if (g_mkdir_with_parents (images_dir, 0700) != 0
      || (*dir_fd = open (images_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
    {
      int saved_errno = errno;
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                   "cannot use image directory %s: %s", images_dir, g_strerror (saved_errno));
      return NULL;
    }
  if (criu_local_init_opts (&opts) < 0)
    {
      close (*dir_fd);
      g_set_error_literal (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                           "libcriu could not allocate its options");
      return NULL;
    }
  criu_local_set_service_binary (opts, "criu");
  criu_local_set_images_dir_fd (opts, *dir_fd);
  criu_local_set_work_dir_fd (opts, *dir_fd);
  criu_local_set_log_file (opts, (char *) log_name);
  /* Warnings and errors (CRIU's default, as the CLI): the debug level
   * writes a line per memory area and slows a large dump noticeably. The
   * "Error" lines molt reports are kept at this level. */
  criu_local_set_log_level (opts, 2);
  criu_local_set_file_locks (opts, true);
  criu_local_set_tcp_established (opts, true);
  /* CRIU's default lock runs iptables, which a guest may lack; molt holds
   * its own lock around CRIU's anyway (molt-net-lock.h). */
  criu_local_set_network_lock (opts, CRIU_NETWORK_LOCK_NFTABLES);
  criu_local_set_ext_unix_sk (opts, true);
  /* A job's cgroup is not part of it: a restored job lands in the
   * restorer's group and its unit's molt-run --wait takes it back
   * (job-attach). CRIU's own handling would recreate a systemd unit's
   * group before systemd starts the unit. */
  criu_local_set_manage_cgroups_mode (opts, CRIU_CG_MODE_IGNORE);
  return opts;
}

/* Why CRIU failed when its log does not say: the log is written where the
 * images go, so on a full filesystem the line that would say "No space left
 * on device" may be the write that did not fit. Less than a few blocks
 * free there is that cause; anything else stays "no error line". */
gchar *
molt_checkpoint_silent_failure (const gchar *images_dir)
{
  struct statvfs fs;

  if (statvfs (images_dir, &fs) != 0 || fs.f_bavail >= MOLT_CHECKPOINT_FULL_BLOCKS)
    return g_strdup ("no error line in CRIU's log");
  return g_strdup_printf ("no error line in CRIU's log, and the filesystem holding %s "
                          "has %" G_GUINT64_FORMAT " KiB free: %s",
                          images_dir, (guint64) fs.f_bavail * fs.f_frsize / 1024,
                          g_strerror (ENOSPC));
}

static void
set_criu_error (GError **error, const gchar *what, gint ret, const gchar *images_dir,
                const gchar *log_name)
{
  g_autofree gchar *log_path = g_build_filename (images_dir, log_name, NULL);
  g_autofree gchar *why = molt_checkpoint_log_error (log_path);

  if (why == NULL)
    why = molt_checkpoint_silent_failure (images_dir);

  /* -EBADE is libcriu's "CRIU said it failed", not an errno worth showing
   * ("Invalid exchange"): the log says why. */
  if (ret == -EBADE)
    g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                 "CRIU %s failed: %s (log: %s)", what, why, log_path);
  else
    g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                 "CRIU %s failed (%s): %s (log: %s)", what, g_strerror (-ret), why, log_path);
}

gboolean
molt_checkpoint_dump (gint pid, const gchar *images_dir, gboolean drop_waiting,
                      GArray *external_unix, GError **error)
{
  gint dir_fd = -1, ret;
  criu_opts *opts = new_opts (images_dir, MOLT_CRIU_DUMP_LOG, &dir_fd, error);

  if (opts == NULL)
    return FALSE;
  criu_local_set_pid (opts, pid);
  /* Ends of connections to other jobs: the agent carries them
   * (molt-unix-links.h), CRIU dumps this end only. */
  for (guint i = 0; external_unix != NULL && i < external_unix->len; i++)
    {
      g_autofree gchar *key
          = g_strdup_printf ("unix[%u]", g_array_index (external_unix, guint32, i));
      criu_local_add_external (opts, key);
    }
  /* The tree stays as it was (stopped: CRIU puts a stopped task back
   * stopped), so a switch that fails before its kexec only has to thaw it. */
  criu_local_set_leave_running (opts, true);
  /* Connections no process accepted yet: dropped (their clients see a
   * reset) instead of failing the dump. */
  if (drop_waiting)
    criu_local_set_tcp_skip_in_flight (opts, true);
  /* After a pre-dump only the pages written since are dumped here (CRIU
   * tracks them with the kernel's soft-dirty bits); the restore reads the
   * rest through the "parent" link CRIU leaves in images_dir. */
  {
    g_autofree gchar *pre = molt_checkpoint_pre_dump_dir (images_dir);
    g_autofree gchar *inventory = g_build_filename (pre, "inventory.img", NULL);
    g_autofree gchar *base = g_path_get_basename (pre);
    g_autofree gchar *parent = g_build_filename ("..", base, NULL);
    if (g_file_test (inventory, G_FILE_TEST_EXISTS))
      {
        criu_local_set_track_mem (opts, true);
        criu_local_set_parent_images (opts, parent);
      }
  }
  ret = criu_local_dump (opts);
  criu_local_free_opts (opts);
  close (dir_fd);
  if (ret < 0)
    {
      set_criu_error (error, "dump", ret, images_dir, MOLT_CRIU_DUMP_LOG);
      return FALSE;
    }
  return TRUE;
}

gchar *
molt_checkpoint_pre_dump_dir (const gchar *images_dir)
{
  return g_strconcat (images_dir, ".pre", NULL);
}

gboolean
molt_checkpoint_pre_dump (gint pid, const gchar *images_dir, GError **error)
{
  g_autofree gchar *pre = molt_checkpoint_pre_dump_dir (images_dir);
  gint dir_fd = -1, ret;
  criu_opts *opts = new_opts (pre, MOLT_CRIU_PRE_DUMP_LOG, &dir_fd, error);

  if (opts == NULL)
    return FALSE;
  criu_local_set_pid (opts, pid);
  criu_local_set_track_mem (opts, true);
  /* READ: the tree is stopped only to list its memory and reset the dirty
   * bits; the pages are read while it runs on. */
  criu_local_set_pre_dump_mode (opts, CRIU_PRE_DUMP_READ);
  ret = criu_local_pre_dump (opts);
  criu_local_free_opts (opts);
  close (dir_fd);
  if (ret < 0)
    {
      set_criu_error (error, "pre-dump", ret, pre, MOLT_CRIU_PRE_DUMP_LOG);
      return FALSE;
    }
  return TRUE;
}

gint
molt_checkpoint_restore (const gchar *images_dir, gboolean tcp_close, GArray *inherit,
                         GError **error)
{
  gint dir_fd = -1, pid;
  criu_opts *opts = new_opts (images_dir, MOLT_CRIU_RESTORE_LOG, &dir_fd, error);

  if (opts == NULL)
    return -1;
  for (guint i = 0; inherit != NULL && i + 1 < inherit->len; i += 2)
    {
      g_autofree gchar *key
          = g_strdup_printf ("socket:[%u]", (guint32) g_array_index (inherit, gint, i + 1));
      criu_local_add_inherit_fd (opts, g_array_index (inherit, gint, i), key);
    }
  if (tcp_close)
    criu_local_set_tcp_close (opts, true);
  /* restore_child: the tree becomes our child; when the restoring process
   * exits, init adopts it, as it had adopted the job's launcher before. */
  pid = criu_local_restore_child (opts);
  criu_local_free_opts (opts);
  close (dir_fd);
  if (pid < 0)
    {
      set_criu_error (error, "restore", pid, images_dir, MOLT_CRIU_RESTORE_LOG);
      return -1;
    }
  return pid;
}
