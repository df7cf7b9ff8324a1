/* systemd's readiness protocol (molt-sd-notify.h): the datagram reaches a
 * socket bound where NOTIFY_SOCKET says (a path, or an abstract name), the
 * variable leaves the environment the job inherits, and a bad value is a
 * clear error. */
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gio/gio.h>

#include "molt-sd-notify.h"
#include "molt-test.h"

static gchar *dir;

/* A datagram socket bound to NAME ("/path" or "@abstract"). */
static gint
bind_listener (const gchar *name)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  gsize len = strlen (name);
  gint fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

  g_assert (fd >= 0 && len < sizeof addr.sun_path);
  memcpy (addr.sun_path, name, len);
  if (name[0] == '@')
    addr.sun_path[0] = '\0';
  g_assert (
      bind (fd, (struct sockaddr *) &addr,
            (socklen_t) (offsetof (struct sockaddr_un, sun_path) + len + (name[0] == '/' ? 1 : 0)))
      == 0);
  return fd;
}

static gchar *
receive (gint fd)
{
  gchar buf[512];
  gssize n = recv (fd, buf, sizeof buf - 1, MSG_DONTWAIT);

  if (n < 0)
    return g_strdup ("(nothing)");
  buf[n] = '\0';
  return g_strdup (buf);
}

static void
check_delivery (const gchar *name)
{
  gint fd = bind_listener (name);
  g_autofree gchar *taken = NULL, *got = NULL;
  GError *error = NULL;

  g_setenv ("NOTIFY_SOCKET", name, TRUE);
  taken = molt_sd_notify_take_socket ();
  CU_ASSERT_STRING_EQUAL (taken, name);
  /* The job is started with molt-run's environment: not with this. */
  CU_ASSERT_PTR_NULL (g_getenv ("NOTIFY_SOCKET"));
  CU_ASSERT_TRUE (molt_sd_notify (taken, "READY=1\nSTATUS=started job j", &error));
  MOLT_ASSERT_NO_ERROR (error);
  got = receive (fd);
  CU_ASSERT_STRING_EQUAL (got, "READY=1\nSTATUS=started job j");
  close (fd);
}

static void
test_path_socket (void)
{
  g_autofree gchar *path = g_build_filename (dir, "notify", NULL);
  check_delivery (path);
}

static void
test_abstract_socket (void)
{
  g_autofree gchar *name = g_strdup_printf ("@molt-test-notify-%d", (int) getpid ());
  check_delivery (name);
}

static void
test_not_run_by_systemd (void)
{
  g_unsetenv ("NOTIFY_SOCKET");
  CU_ASSERT_PTR_NULL (molt_sd_notify_take_socket ());
}

static void
test_bad_socket_is_an_error (void)
{
  g_autofree gchar *missing = g_build_filename (dir, "no-such-socket", NULL);
  GError *error = NULL;

  CU_ASSERT_FALSE (molt_sd_notify ("relative/path", "READY=1", &error));
  MOLT_ASSERT_ERROR (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  MOLT_ASSERT_CONTAINS (error->message, "NOTIFY_SOCKET=relative/path is not a socket path");
  g_clear_error (&error);
  CU_ASSERT_FALSE (molt_sd_notify (missing, "READY=1", &error));
  CU_ASSERT_PTR_NOT_NULL_FATAL (error);
  MOLT_ASSERT_CONTAINS (error->message, "cannot notify systemd at ");
  MOLT_ASSERT_CONTAINS (error->message, "No such file or directory");
  g_clear_error (&error);
}

int
main (void)
{
  static const MoltTestCase cases[] = {
    { "a socket path", test_path_socket },
    { "an abstract socket", test_abstract_socket },
    { "not run by systemd", test_not_run_by_systemd },
    { "a bad socket is an error", test_bad_socket_is_an_error },
    { NULL, NULL },
  };
  int failures;

  dir = molt_test_tmpdir_new ("molt-test-sd-notify");
  failures = molt_test_run ("sd-notify", cases);
  molt_test_tmpdir_remove (dir);
  return failures;
}
