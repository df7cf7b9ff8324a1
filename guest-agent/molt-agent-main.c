/* molt-agent: the in-guest half of molt.
 *
 * Serves the molt protocol on the virtio-serial port org.molt.agent.0 (to the
 * host) and on a local unix socket (molt-run inside the guest). */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib-unix.h>

#include "molt-agent-session.h"
#include "molt-agent.h"
#include "molt-restore.h"
#include "molt-wire.h"

#define MOLT_PORT_NAME         MOLT_WIRE_CHANNEL
#define MOLT_DEFAULT_SOCKET    MOLT_WIRE_LOCAL_SOCKET
#define MOLT_DEFAULT_STATE_DIR MOLT_WIRE_GUEST_STATE_DIR
#define MOLT_PORT_WAIT_S       30

typedef struct
{
  MoltAgent *agent;
  GMainLoop *loop;
  GPtrArray *sessions; /* MoltAgentSession, owned */
  GSocketService *service;
} MoltAgentDaemon;

static void
session_closed_cb (MoltAgentSession *session, gpointer data)
{
  MoltAgentDaemon *daemon = data;
  g_ptr_array_remove (daemon->sessions, session);
}

/* Only root may start jobs through the local socket: the socket file's mode
 * says so, and the peer's credentials are checked as well, in case the
 * file's mode or directory is ever loosened. */
static gboolean
peer_is_root (GSocket *socket)
{
  g_autoptr (GCredentials) creds = g_socket_get_credentials (socket, NULL);
  uid_t uid = creds != NULL ? g_credentials_get_unix_user (creds, NULL) : (uid_t) -1;

  return uid == 0;
}

static gboolean
incoming_cb (GSocketService *service, GSocketConnection *connection, GObject *source, gpointer data)
{
  MoltAgentDaemon *daemon = data;
  GSocket *socket = g_socket_connection_get_socket (connection);

  if (!peer_is_root (socket))
    {
      g_message ("refused a local client that is not root");
      g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
      return TRUE;
    }
  g_ptr_array_add (daemon->sessions,
                   molt_agent_session_new (daemon->agent, g_socket_get_fd (socket), FALSE,
                                           connection, session_closed_cb, daemon));
  return TRUE;
}

/* Without udev there is no /dev/virtio-ports/NAME link: look the name up in
 * sysfs, where each port lists its name. */
static gchar *
find_port_device (const gchar *name)
{
  g_autofree gchar *link = g_build_filename ("/dev/virtio-ports", name, NULL);
  g_autoptr (GDir) dir = NULL;
  const gchar *entry;

  if (g_file_test (link, G_FILE_TEST_EXISTS))
    return g_steal_pointer (&link);
  dir = g_dir_open ("/sys/class/virtio-ports", 0, NULL);
  if (dir == NULL)
    return NULL;
  while ((entry = g_dir_read_name (dir)) != NULL)
    {
      g_autofree gchar *name_path
          = g_build_filename ("/sys/class/virtio-ports", entry, "name", NULL);
      g_autofree gchar *port_name = NULL;
      if (g_file_get_contents (name_path, &port_name, NULL, NULL)
          && g_str_equal (g_strstrip (port_name), name))
        return g_build_filename ("/dev", entry, NULL);
    }
  return NULL;
}

static gint
open_port (const gchar *device, const gchar *name, GError **error)
{
  g_autofree gchar *path = NULL;
  gint64 deadline = g_get_monotonic_time () + MOLT_PORT_WAIT_S * G_USEC_PER_SEC;
  gint fd;

  /* The virtio_console module may still be probing when we start. */
  while ((path = device != NULL ? g_strdup (device) : find_port_device (name)) == NULL
         && g_get_monotonic_time () < deadline)
    g_usleep (100000);
  if (path == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "no virtio-serial port named %s (is virtio_console loaded and the "
                   "domain's <channel> target named %s?)",
                   name, name);
      return -1;
    }
  fd = open (path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    {
      int saved_errno = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), "cannot open %s: %s",
                   path, g_strerror (saved_errno));
      return -1;
    }
  g_message ("serving the host on %s", path);
  return fd;
}

static gboolean
listen_socket (MoltAgentDaemon *daemon, const gchar *path, GError **error)
{
  g_autofree gchar *dir = g_path_get_dirname (path);
  g_autoptr (GSocketAddress) address = NULL;

  mode_t old_umask;
  gboolean listening;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), "cannot create %s: %s",
                   dir, g_strerror (saved_errno));
      return FALSE;
    }
  unlink (path);
  address = g_unix_socket_address_new (path);
  daemon->service = g_socket_service_new ();
  /* Created 0600 from the start: a chmod after bind would leave a window
   * in which anyone could connect. */
  old_umask = umask (077);
  listening = g_socket_listener_add_address (G_SOCKET_LISTENER (daemon->service), address,
                                             G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, NULL,
                                             NULL, error);
  umask (old_umask);
  if (!listening)
    return FALSE;
  g_signal_connect (daemon->service, "incoming", G_CALLBACK (incoming_cb), daemon);
  g_socket_service_start (daemon->service);
  g_message ("serving local clients on %s", path);
  return TRUE;
}

static gboolean
quit_cb (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_CONTINUE;
}

int
main (int argc, char **argv)
{
  g_autofree gchar *state_dir = g_strdup (MOLT_DEFAULT_STATE_DIR);
  g_autofree gchar *socket_path = g_strdup (MOLT_DEFAULT_SOCKET);
  g_autofree gchar *port_name = g_strdup (MOLT_PORT_NAME);
  g_autofree gchar *device = NULL;
  g_autofree gchar *unshare_path = NULL;
  g_autofree gchar *setsid_path = NULL;
  gboolean no_port = FALSE, no_criu_check = FALSE, verbose = FALSE, version = FALSE;
  gboolean restore_pending = FALSE, lock_network = FALSE;
  g_autoptr (GError) error = NULL;
  g_autoptr (GOptionContext) context = NULL;
  MoltAgentDaemon daemon = { 0 };
  MoltAgentConfig config = { 0 };
  const GOptionEntry entries[] = {
    { "port", 'p', 0, G_OPTION_ARG_STRING, &port_name,
      "virtio-serial port name (default " MOLT_PORT_NAME ")", "NAME" },
    { "device", 'd', 0, G_OPTION_ARG_FILENAME, &device,
      "character device to serve instead of looking the port up", "PATH" },
    { "no-port", 0, 0, G_OPTION_ARG_NONE, &no_port,
      "do not serve the host port (local socket only)", NULL },
    { "socket", 's', 0, G_OPTION_ARG_FILENAME, &socket_path,
      "local unix socket (default " MOLT_DEFAULT_SOCKET "; empty: none)", "PATH" },
    { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_dir,
      "job registry, logs and images (default " MOLT_DEFAULT_STATE_DIR ")", "DIR" },
    { "unshare", 0, 0, G_OPTION_ARG_FILENAME, &unshare_path, "unshare program (default: from PATH)",
      "PATH" },
    { "setsid", 0, 0, G_OPTION_ARG_FILENAME, &setsid_path, "setsid program (default: from PATH)",
      "PATH" },
    { "no-criu-check", 0, 0, G_OPTION_ARG_NONE, &no_criu_check, "do not probe CRIU at start-up",
      NULL },
    { "restore-pending", 0, 0, G_OPTION_ARG_NONE, &restore_pending,
      "restore the checkpointed jobs, continue them, and exit (early at boot)", NULL },
    { "lock-network", 0, 0, G_OPTION_ARG_NONE, &lock_network,
      "if jobs wait to be restored, lock the network until they are, and exit (at boot, "
      "before the network comes up)",
      NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "log debug messages", NULL },
    { "version", 'V', 0, G_OPTION_ARG_NONE, &version, "print the version and exit", NULL },
    { NULL },
  };

  setlocale (LC_ALL, "");
  context = g_option_context_new ("- molt guest agent");
  g_option_context_set_summary (context,
                                "Serves the molt protocol to the host over virtio-serial and to "
                                "molt-run over a local socket;\nstarts and tracks managed jobs.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("molt-agent: %s\n", error->message);
      return 64;
    }
  if (version)
    {
      g_print ("molt-agent %s\n", MOLT_VERSION);
      return 0;
    }
  if (verbose)
    g_setenv ("G_MESSAGES_DEBUG", "all", TRUE);

  config.state_dir = state_dir;
  config.unshare_path = unshare_path;
  config.setsid_path = setsid_path;
  config.probe_criu = !no_criu_check && !restore_pending && !lock_network;
  daemon.agent = molt_agent_new (&config, &error);
  if (daemon.agent == NULL)
    {
      g_printerr ("molt-agent: cannot load state from %s: %s\n", state_dir, error->message);
      return 1;
    }
  if (lock_network)
    {
      guint failed = molt_restore_lock_network (daemon.agent);
      molt_agent_free (daemon.agent);
      return failed == 0 ? 0 : 1;
    }
  if (restore_pending)
    {
      guint failed = molt_restore_pending (daemon.agent);
      molt_agent_free (daemon.agent);
      return failed == 0 ? 0 : 1;
    }
  daemon.loop = g_main_loop_new (NULL, FALSE);
  daemon.sessions = g_ptr_array_new_with_free_func ((GDestroyNotify) molt_agent_session_free);

  if (!no_port)
    {
      gint fd = open_port (device, port_name, &error);
      if (fd < 0)
        {
          g_printerr ("molt-agent: %s\n", error->message);
          return 1;
        }
      g_ptr_array_add (daemon.sessions,
                       molt_agent_session_new (daemon.agent, fd, TRUE, NULL, NULL, NULL));
    }
  if (socket_path != NULL && socket_path[0] != '\0'
      && !listen_socket (&daemon, socket_path, &error))
    {
      g_printerr ("molt-agent: cannot listen on %s: %s\n", socket_path, error->message);
      return 1;
    }

  g_unix_signal_add (SIGTERM, quit_cb, daemon.loop);
  g_unix_signal_add (SIGINT, quit_cb, daemon.loop);
  g_message ("molt-agent %s ready", MOLT_VERSION);
  g_main_loop_run (daemon.loop);

  g_message ("molt-agent stopping");
  if (daemon.service != NULL)
    {
      g_socket_service_stop (daemon.service);
      g_socket_listener_close (G_SOCKET_LISTENER (daemon.service));
      g_object_unref (daemon.service);
      unlink (socket_path);
    }
  g_ptr_array_unref (daemon.sessions);
  g_main_loop_unref (daemon.loop);
  molt_agent_free (daemon.agent);
  return 0;
}
