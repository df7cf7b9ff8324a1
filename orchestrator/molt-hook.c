#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>

#include "molt-host-error.h"
#include "molt-hook.h"

/* In the child: its own process group, so that a timeout kills what the
 * hook started too (a script's children). A hook that ends in time may
 * leave processes behind on purpose (a pre hook starting what the post
 * hook stops): those are its business. */
static void
own_group (gpointer data G_GNUC_UNUSED)
{
  setpgid (0, 0);
}

/* Keeps the last MOLT_HOOK_OUTPUT_MAX bytes: a hook that prints without
 * end costs neither memory nor the report's readability. */
static void
keep_tail (GString *tail, const gchar *buf, gsize n)
{
  g_string_append_len (tail, buf, (gssize) n);
  if (tail->len > MOLT_HOOK_OUTPUT_MAX)
    g_string_erase (tail, 0, (gssize) (tail->len - MOLT_HOOK_OUTPUT_MAX));
}

static gchar *
last_line (const gchar *output)
{
  g_autofree gchar *copy = g_strstrip (g_strdup (output));
  const gchar *nl = strrchr (copy, '\n');

  return g_strdup (nl != NULL ? nl + 1 : copy);
}

/* Reads the output until the hook exits (not until EOF: a daemon the
 * hook started may hold the pipe open), or the deadline; FALSE on the
 * deadline. */
static gboolean
wait_for_exit (GPid pid, int fd, gint64 deadline, GString *tail, int *status)
{
  gchar buf[4096];
  gboolean open = TRUE;

  for (;;)
    {
      struct pollfd p = { .fd = fd, .events = POLLIN };
      pid_t r = waitpid (pid, status, WNOHANG);
      gssize n;

      if (r == pid || (r < 0 && errno != EINTR))
        {
          /* What it wrote just before it exited. */
          while (open && poll (&p, 1, 0) > 0 && (n = read (fd, buf, sizeof buf)) > 0)
            keep_tail (tail, buf, (gsize) n);
          return TRUE;
        }
      if (g_get_monotonic_time () >= deadline)
        return FALSE;
      if (!open)
        {
          g_usleep (20 * 1000);
          continue;
        }
      if (poll (&p, 1, 50) <= 0)
        continue;
      n = read (fd, buf, sizeof buf);
      if (n > 0)
        keep_tail (tail, buf, (gsize) n);
      else if (n == 0 || errno != EINTR)
        open = FALSE;
    }
}

gboolean
molt_hook_run (const gchar *what, const gchar *command, guint timeout_s, const gchar *const *env,
               gchar **output, GError **error)
{
  g_auto (GStrv) argv = NULL;
  g_auto (GStrv) envp = g_get_environ ();
  g_autoptr (GString) tail = g_string_new (NULL);
  g_autoptr (GError) local_error = NULL;
  g_autofree gchar *line = NULL;
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_s * G_USEC_PER_SEC;
  gboolean in_time;
  GPid pid;
  int pipe_fds[2] = { -1, -1 };
  int out_fd, status = 0;

  *output = NULL;
  if (!g_shell_parse_argv (command, NULL, &argv, &local_error))
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED, "%s hook '%s': %s", what,
                   command, local_error->message);
      return FALSE;
    }
  for (guint i = 0; env != NULL && env[i] != NULL; i++)
    {
      g_auto (GStrv) kv = g_strsplit (env[i], "=", 2);
      envp = g_environ_setenv (envp, kv[0], kv[1] != NULL ? kv[1] : "", TRUE);
    }
  /* stdout and stderr both into one pipe: what the hook says, in order. */
  if (!g_unix_open_pipe (pipe_fds, FD_CLOEXEC, &local_error)
      || !g_spawn_async_with_pipes_and_fds (
          NULL, (const gchar *const *) argv, (const gchar *const *) envp,
          G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDIN_FROM_DEV_NULL, own_group,
          NULL, -1, pipe_fds[1], pipe_fds[1], NULL, NULL, 0, &pid, NULL, NULL, NULL, &local_error))
    {
      if (pipe_fds[0] >= 0)
        {
          close (pipe_fds[0]);
          close (pipe_fds[1]);
        }
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED, "%s hook %s cannot start: %s",
                   what, argv[0], local_error->message);
      return FALSE;
    }
  close (pipe_fds[1]);
  out_fd = pipe_fds[0];
  in_time = wait_for_exit (pid, out_fd, deadline, tail, &status);
  close (out_fd);
  if (!in_time)
    {
      kill (-pid, SIGKILL);
      waitpid (pid, &status, 0);
    }
  g_spawn_close_pid (pid);
  *output = g_strdup (tail->str);
  line = last_line (tail->str);
  if (!in_time)
    g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                 "%s hook %s did not finish within %u s (killed)%s%s", what, argv[0], timeout_s,
                 line[0] != '\0' ? "; its last output: " : "", line);
  else if (WIFSIGNALED (status))
    g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                 "%s hook %s was killed by signal %d (%s)%s%s", what, argv[0], WTERMSIG (status),
                 g_strsignal (WTERMSIG (status)), line[0] != '\0' ? ": " : "", line);
  else if (WEXITSTATUS (status) != 0)
    g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                 "%s hook %s exited with status %d%s%s", what, argv[0], WEXITSTATUS (status),
                 line[0] != '\0' ? ": " : "", line);
  else
    return TRUE;
  return FALSE;
}
