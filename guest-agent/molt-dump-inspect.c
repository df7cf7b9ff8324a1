/* Finds what CRIU (3.17, Debian 12's, with the options molt-checkpoint.c
 * sets) refuses to dump, by reading /proc while the jobs run: a preflight
 * that names the job and the reason costs nothing, a checkpoint that fails
 * costs a freeze and a thaw. Only what is certain to fail is reported (a
 * false alarm would refuse a switch that works); the checkpoint itself
 * has the last word on everything else. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "molt-dump-inspect.h"
#include "molt-job-freezer.h"
#include "molt-socket-inspect.h"
#include "molt-unix-peers.h"

/* The anonymous-inode files CRIU 3.17 dumps (criu/files.c); any other
 * (io_uring, userfaultfd, perf_event, pidfd, kvm...) is "unsupported".
 * bpf-map is dumped when CRIU was built with libbpf: never flagged. */
static const gchar *const dumpable_anon[] = {
  "[eventfd]", "[eventpoll]", "inotify", "[fanotify]", "[signalfd]", "[timerfd]", "bpf-map", NULL,
};

/* Mappings of deleted files that are not files a user deleted: shared
 * anonymous memory, System V and POSIX shared memory, memfd, AIO rings. */
static const gchar *const kernel_backed_prefixes[] = {
  "/dev/zero", "/SYSV", "/memfd:", "/[aio]", "/dev/shm/", NULL,
};

/* A unix socket a process of the tree holds, for the peer check. */
typedef struct
{
  guint32 inode;
  gint pid;
  gchar *fd_name;
} HeldUnixSocket;

typedef struct
{
  GPtrArray *reasons;
  gint64 ghost_limit;
  gint pid;
  gchar *comm;
  GArray *unix_held;       /* of HeldUnixSocket */
  GHashTable *tree_inodes; /* every socket inode the tree holds */
  GHashTable *other_jobs;  /* socket inode -> the other job holding it, or NULL */
} Inspection;

static gboolean
full (const Inspection *in)
{
  return in->reasons->len >= MOLT_DUMP_INSPECT_MAX_REASONS;
}

G_GNUC_PRINTF (2, 3)
static void
add_reason (Inspection *in, const gchar *format, ...)
{
  va_list ap;
  g_autofree gchar *what = NULL;

  if (full (in))
    return;
  va_start (ap, format);
  what = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_ptr_array_add (in->reasons, g_strdup_printf ("pid %d (%s) %s", in->pid, in->comm, what));
}

static gboolean
has_prefix_in (const gchar *text, const gchar *const *prefixes)
{
  for (guint i = 0; prefixes[i] != NULL; i++)
    if (g_str_has_prefix (text, prefixes[i]))
      return TRUE;
  return FALSE;
}

/* CRIU's own checks (criu/files.c dump_chrdev, criu/tty.c): memory devices
 * (/dev/null, /dev/zero, /dev/urandom...), terminals and ptys, /dev/net/tun. */
static gboolean
chrdev_is_dumpable (dev_t rdev)
{
  guint maj = major (rdev), min = minor (rdev);

  return maj == 1 || maj == 4 || maj == 5 || (maj >= 128 && maj <= 143)
         || (maj == 10 && min == 200);
}

/* "2.0 MiB" (g_format_size puts a no-break space in: not for logs). */
static gchar *
human_size (gint64 bytes)
{
  return g_strdup_printf ("%.1f MiB", (gdouble) bytes / (1024.0 * 1024.0));
}

/* WHAT says how the process holds PATH: "has PATH open (fd 3)". */
static void
check_deleted (Inspection *in, const gchar *path, const struct stat *st, const gchar *what)
{
  g_autofree gchar *size = NULL, *limit = NULL;

  if (!S_ISREG (st->st_mode) || st->st_nlink != 0 || st->st_size <= in->ghost_limit
      || has_prefix_in (path, kernel_backed_prefixes))
    return;
  size = human_size (st->st_size);
  limit = human_size (in->ghost_limit);
  add_reason (in,
              "%s: %s, deleted since; CRIU saves at most %s of a deleted file (its ghost-file "
              "limit): close it, or restart the job if an upgrade replaced it",
              what, size, limit);
}

static void
inspect_fd (Inspection *in, const gchar *fd_path, const gchar *fd_name)
{
  g_autofree gchar *target = g_file_read_link (fd_path, NULL);
  struct stat st;

  if (target == NULL || stat (fd_path, &st) != 0)
    return;
  if (S_ISSOCK (st.st_mode))
    {
      g_autofree gchar *why = molt_socket_inspect_fd (in->pid, fd_path, fd_name);
      HeldUnixSocket held = { (guint32) st.st_ino, in->pid, g_strdup (fd_name) };

      if (why != NULL)
        add_reason (in, "%s", why);
      g_hash_table_add (in->tree_inodes, GUINT_TO_POINTER (held.inode));
      g_array_append_val (in->unix_held, held);
      return;
    }
  if (g_str_has_prefix (target, "anon_inode:"))
    {
      const gchar *kind = target + strlen ("anon_inode:");
      if (!g_strv_contains (dumpable_anon, kind))
        add_reason (in, "has an anonymous %s file open (fd %s); CRIU cannot checkpoint that kind",
                    kind, fd_name);
      return;
    }
  if (S_ISBLK (st.st_mode))
    add_reason (in, "has the block device %s open (fd %s); CRIU cannot checkpoint block devices",
                target, fd_name);
  else if (S_ISCHR (st.st_mode) && !chrdev_is_dumpable (st.st_rdev))
    add_reason (in, "has the device %s (%u:%u) open (fd %s); CRIU cannot checkpoint it", target,
                major (st.st_rdev), minor (st.st_rdev), fd_name);
  else if (g_str_has_suffix (target, " (deleted)"))
    {
      g_autofree gchar *path = g_strndup (target, strlen (target) - strlen (" (deleted)"));
      g_autofree gchar *what = g_strdup_printf ("has %s open (fd %s)", path, fd_name);
      check_deleted (in, path, &st, what);
    }
}

static void
inspect_fds (Inspection *in)
{
  g_autofree gchar *dir_path = g_strdup_printf ("/proc/%d/fd", in->pid);
  g_autoptr (GDir) dir = g_dir_open (dir_path, 0, NULL);
  const gchar *name;

  while (dir != NULL && !full (in) && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree gchar *fd_path = g_build_filename (dir_path, name, NULL);
      inspect_fd (in, fd_path, name);
    }
}

/* A mapping: "START-END PERMS OFFSET MAJ:MIN INODE PATH". Only mappings
 * of deleted files and of devices can fail; the file behind one is
 * /proc/PID/map_files/START-END (readable by root). */
static void
inspect_mapping (Inspection *in, const gchar *line, GHashTable *seen)
{
  g_auto (GStrv) fields = g_strsplit_set (line, " ", 6);
  const gchar *path;
  g_autofree gchar *file = NULL;
  struct stat st;
  gboolean deleted;

  if (g_strv_length (fields) < 6)
    return;
  path = g_strstrip (fields[5]);
  deleted = g_str_has_suffix (path, " (deleted)");
  if (path[0] != '/' || (!deleted && !g_str_has_prefix (path, "/dev/"))
      || g_str_has_prefix (path, "/dev/zero") || g_hash_table_contains (seen, path))
    return;
  g_hash_table_add (seen, g_strdup (path));
  file = g_strdup_printf ("/proc/%d/map_files/%s", in->pid, fields[0]);
  if (stat (file, &st) != 0)
    return;
  if (deleted)
    {
      g_autofree gchar *name = g_strndup (path, strlen (path) - strlen (" (deleted)"));
      g_autofree gchar *what = g_strconcat ("maps ", name, NULL);
      check_deleted (in, name, &st, what);
    }
  else if (S_ISCHR (st.st_mode) || S_ISBLK (st.st_mode))
    add_reason (in, "maps the device %s into its memory; CRIU cannot checkpoint device mappings",
                path);
}

static void
inspect_mappings (Inspection *in)
{
  g_autofree gchar *maps_path = g_strdup_printf ("/proc/%d/maps", in->pid);
  g_autofree gchar *maps = NULL;
  g_auto (GStrv) lines = NULL;
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  if (!g_file_get_contents (maps_path, &maps, NULL, NULL))
    return;
  lines = g_strsplit (maps, "\n", 0);
  for (guint i = 0; lines[i] != NULL && !full (in); i++)
    inspect_mapping (in, lines[i], seen);
}

static gchar *
read_comm (gint pid)
{
  g_autofree gchar *path = g_strdup_printf ("/proc/%d/comm", pid);
  gchar *comm = NULL;

  if (!g_file_get_contents (path, &comm, NULL, NULL))
    return g_strdup ("?");
  return g_strchomp (comm);
}

static void
held_unix_socket_clear (gpointer data)
{
  g_free (((HeldUnixSocket *) data)->fd_name);
}

/* A connected unix stream (or seqpacket) socket whose other end no process
 * of the tree holds: CRIU, dumping the tree alone, cannot dump half a
 * connection. A stream connection to another job of the switch is carried
 * by the agent (molt-unix-links.h). Datagram sockets and unconnected ones
 * are fine. */
static void
inspect_unix_peers (Inspection *in)
{
  g_autoptr (GHashTable) sockets = NULL;
  /* One reason per connection, however many fds share it. */
  g_autoptr (GHashTable) named = g_hash_table_new (g_direct_hash, g_direct_equal);

  if (in->unix_held->len == 0 || (sockets = molt_unix_sockets_read (NULL)) == NULL)
    return;
  for (guint i = 0; i < in->unix_held->len && !full (in); i++)
    {
      HeldUnixSocket *held = &g_array_index (in->unix_held, HeldUnixSocket, i);
      MoltUnixSocket *sock = g_hash_table_lookup (sockets, GUINT_TO_POINTER (held->inode));
      g_autofree gchar *other = NULL, *holder_comm = NULL;
      const gchar *peer_job;
      gint holder;

      if (sock == NULL || sock->peer == 0 || sock->type == SOCK_DGRAM
          || g_hash_table_contains (in->tree_inodes, GUINT_TO_POINTER (sock->peer))
          || !g_hash_table_add (named, GUINT_TO_POINTER (held->inode)))
        continue;
      peer_job = in->other_jobs != NULL
                     ? g_hash_table_lookup (in->other_jobs, GUINT_TO_POINTER (sock->peer))
                     : NULL;
      if (peer_job != NULL && sock->type == SOCK_STREAM)
        continue;
      in->pid = held->pid;
      g_free (in->comm);
      in->comm = read_comm (held->pid);
      if (peer_job != NULL)
        {
          add_reason (in,
                      "has a unix seqpacket connection (fd %s) to job %s; molt carries only "
                      "stream connections from one job to another: run both ends in one job",
                      held->fd_name, peer_job);
          continue;
        }
      holder = molt_unix_socket_holder (sock->peer);
      if (holder > 0)
        holder_comm = read_comm (holder);
      other = holder > 0 ? g_strdup_printf ("pid %d (%s)", holder, holder_comm)
                         : g_strdup ("no process");
      add_reason (in,
                  "has a unix stream connection (fd %s) whose other end is outside the job, "
                  "held by %s, which is in no job; CRIU cannot checkpoint half a connection: "
                  "run the other end as a job too (molt exec), or run both ends in one job",
                  held->fd_name, other);
    }
  g_clear_pointer (&in->comm, g_free);
}

/* CRIU's parasite needs the task's /proc to be of the task's own PID
 * namespace, or CAP_SYS_ADMIN to mount one ("can't dump unprivileged task
 * whose /proc doesn't belong to it"): a job in its own namespace shares the
 * guest's /proc, so each of its processes must keep that capability. */
#define MOLT_CAP_SYS_ADMIN 21

static void
inspect_privilege (Inspection *in, const gchar *own_pid_ns)
{
  g_autofree gchar *ns_path = g_strdup_printf ("/proc/%d/ns/pid", in->pid);
  g_autofree gchar *status_path = g_strdup_printf ("/proc/%d/status", in->pid);
  g_autofree gchar *ns = g_file_read_link (ns_path, NULL);
  g_autofree gchar *status = NULL;
  const gchar *cap_eff, *uid;
  guint64 caps;

  if (ns == NULL || own_pid_ns == NULL || g_str_equal (ns, own_pid_ns)
      || !g_file_get_contents (status_path, &status, NULL, NULL)
      || (cap_eff = strstr (status, "\nCapEff:")) == NULL)
    return;
  caps = g_ascii_strtoull (cap_eff + strlen ("\nCapEff:"), NULL, 16);
  if (caps & (G_GUINT64_CONSTANT (1) << MOLT_CAP_SYS_ADMIN))
    return;
  uid = strstr (status, "\nUid:");
  add_reason (in,
              "pid %d (%s) runs without CAP_SYS_ADMIN (uid %d) in the job's own PID namespace: "
              "CRIU cannot dump it there (the guest's /proc is not its namespace's); start the "
              "job as root (no --user)",
              in->pid, in->comm,
              uid != NULL ? (gint) g_ascii_strtoll (uid + strlen ("\nUid:"), NULL, 10) : -1);
}

GPtrArray *
molt_dump_inspect_tree (gint root_pid, gint64 ghost_limit, GHashTable *other_jobs)
{
  g_autoptr (GArray) tree = molt_process_tree (root_pid);
  g_autoptr (GArray) unix_held = g_array_new (FALSE, FALSE, sizeof (HeldUnixSocket));
  g_autoptr (GHashTable) tree_inodes = g_hash_table_new (g_direct_hash, g_direct_equal);
  g_autofree gchar *own_pid_ns = g_file_read_link ("/proc/self/ns/pid", NULL);
  Inspection in = { g_ptr_array_new_with_free_func (g_free),
                    ghost_limit,
                    0,
                    NULL,
                    unix_held,
                    tree_inodes,
                    other_jobs };

  g_array_set_clear_func (unix_held, held_unix_socket_clear);
  for (guint i = 0; i < tree->len && !full (&in); i++)
    {
      in.pid = g_array_index (tree, gint, i);
      in.comm = read_comm (in.pid);
      inspect_privilege (&in, own_pid_ns);
      inspect_fds (&in);
      inspect_mappings (&in);
      g_clear_pointer (&in.comm, g_free);
    }
  inspect_unix_peers (&in);
  return in.reasons;
}
