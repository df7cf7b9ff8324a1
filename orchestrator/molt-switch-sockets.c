#include "molt-host-error.h"
#include "molt-reply.h"
#include "molt-switch-sockets.h"

const gchar *const molt_switch_socket_kinds[]
    = { "tcp-established", "tcp-listen", "tcp-other", "udp", "unix", "other", NULL };

/* A guest may count what it likes, within reason. */
#define SOCKETS_MAX (1 << 20)
#define JOBS_MAX    4096

JsonArray *
molt_switch_sockets_read (JsonObject *preflight, GError **error)
{
  JsonArray *sockets = NULL;
  g_autoptr (JsonArray) checked = json_array_new ();
  guint n;

  if (!molt_reply_get_array (preflight, "switch-preflight", "sockets", MOLT_REPLY_OPTIONAL,
                             &sockets, error))
    return NULL;
  n = sockets != NULL ? json_array_get_length (sockets) : 0;
  if (n > JOBS_MAX)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_AGENT_PROTOCOL,
                   "switch-preflight.sockets lists %u jobs, more than %d", n, JOBS_MAX);
      return NULL;
    }
  for (guint i = 0; i < n; i++)
    {
      g_autofree gchar *what = g_strdup_printf ("switch-preflight.sockets[%u]", i);
      JsonObject *entry = molt_reply_array_object (sockets, what, i, error);
      g_autoptr (JsonObject) copy = json_object_new ();
      const gchar *job = NULL;

      if (entry == NULL || !molt_reply_get_string (entry, what, "job", 0, &job, error))
        return NULL;
      json_object_set_string_member (copy, "job", job);
      for (guint k = 0; molt_switch_socket_kinds[k] != NULL; k++)
        {
          gint64 count = 0;
          if (!molt_reply_get_int (entry, what, molt_switch_socket_kinds[k], 0, SOCKETS_MAX,
                                   MOLT_REPLY_OPTIONAL, &count, error))
            return NULL;
          json_object_set_int_member (copy, molt_switch_socket_kinds[k], count);
        }
      json_array_add_object_element (checked, g_steal_pointer (&copy));
    }
  return g_steal_pointer (&checked);
}

gboolean
molt_switch_sockets_check_restart (JsonArray *sockets, GError **error)
{
  g_autoptr (GString) holders = g_string_new (NULL);
  guint n = json_array_get_length (sockets);

  for (guint i = 0; i < n; i++)
    {
      JsonObject *entry = json_array_get_object_element (sockets, i);
      gint64 established = json_object_get_int_member (entry, "tcp-established");

      if (established > 0)
        g_string_append_printf (holders, "%sjob %s (%" G_GINT64_FORMAT ")",
                                holders->len > 0 ? ", " : "",
                                json_object_get_string_member (entry, "job"), established);
    }
  if (holders->len == 0)
    return TRUE;
  g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
               "established TCP connections would be lost: %s; --method reboot starts a new QEMU "
               "process, and the connections of the domain's user-mode network end with the old "
               "one. Switch with --method kexec (the connections are kept), or with --tcp close "
               "(the jobs see them closed and must reconnect); nothing was frozen",
               holders->str);
  return FALSE;
}
