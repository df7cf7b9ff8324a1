#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "fake-guest.h"
#include "fake-peer.h"
#include "molt-message.h"
#include "molt-protocol-error.h"

#define FAKE_ESCAPES "\x1b]0;owned\x07\x1b[2J\x1b[31m"

struct _FakeGuest
{
  GMutex lock;
  GPtrArray *threads;
  GPtrArray *fds;
  GHashTable *calls;  /* command -> count */
  GHashTable *faults; /* "command#n" -> FakeFault */
  int boot;
  gboolean old_kernel;    /* which kernel the current boot runs */
  gboolean hold;          /* the checkpoint asked for a hold after the restore */
  gboolean restore_fails; /* on the new kernel */
  gboolean ignore_hold;   /* restores running whatever the checkpoint asked */
  char job_state[32];
  int probe_status;
  gboolean criu_broken;
  gboolean blocked; /* the preflight finds a job CRIU cannot dump */
  char *probe_name; /* NULL until a probe job starts */
  unsigned probe_polls;
  char *next_entry;   /* GRUB's one-shot boot entry, NULL when clear */
  char *modules_load; /* modules-load's reply; NULL: no such command */
};

typedef struct
{
  FakeGuest *guest;
  int fd;
} FakeConnection;

static const char *const fault_names[] = {
  "none",         "error reply", "missing members", "wrong types", "escape sequences",
  "huge numbers", "timeout",
};
G_STATIC_ASSERT (G_N_ELEMENTS (fault_names) == FAKE_FAULT_LAST);

const char *
fake_fault_to_string (FakeFault fault)
{
  return fault_names[fault];
}

FakeGuest *
fake_guest_new (void)
{
  FakeGuest *guest = g_new0 (FakeGuest, 1);

  g_mutex_init (&guest->lock);
  guest->threads = g_ptr_array_new ();
  guest->fds = g_ptr_array_new ();
  guest->calls = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guest->faults = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guest->boot = 1;
  guest->old_kernel = TRUE;
  g_strlcpy (guest->job_state, "running", sizeof guest->job_state);
  return guest;
}

void
fake_guest_free (FakeGuest *guest)
{
  for (guint i = 0; i < guest->fds->len; i++)
    shutdown (GPOINTER_TO_INT (g_ptr_array_index (guest->fds, i)), SHUT_RDWR);
  for (guint i = 0; i < guest->threads->len; i++)
    g_thread_join (g_ptr_array_index (guest->threads, i));
  for (guint i = 0; i < guest->fds->len; i++)
    close (GPOINTER_TO_INT (g_ptr_array_index (guest->fds, i)));
  g_ptr_array_free (guest->threads, TRUE);
  g_ptr_array_free (guest->fds, TRUE);
  g_hash_table_destroy (guest->calls);
  g_hash_table_destroy (guest->faults);
  g_free (guest->probe_name);
  g_free (guest->next_entry);
  g_free (guest->modules_load);
  g_mutex_clear (&guest->lock);
  g_free (guest);
}

void
fake_guest_set_fault (FakeGuest *guest, const char *command, unsigned nth, FakeFault fault)
{
  g_hash_table_insert (guest->faults, g_strdup_printf ("%s#%u", command, nth),
                       GINT_TO_POINTER (fault));
}

void
fake_guest_set_criu_broken (FakeGuest *guest)
{
  guest->criu_broken = TRUE;
}

void
fake_guest_set_blocked (FakeGuest *guest)
{
  guest->blocked = TRUE;
}

void
fake_guest_set_probe_status (FakeGuest *guest, int status)
{
  guest->probe_status = status;
}

void
fake_guest_set_modules_load (FakeGuest *guest, const char *reply)
{
  g_free (guest->modules_load);
  guest->modules_load = g_strdup (reply);
}

const char *
fake_guest_job_state (FakeGuest *guest)
{
  return guest->job_state;
}

const char *
fake_guest_next_entry (FakeGuest *guest)
{
  return guest->next_entry;
}

unsigned
fake_guest_calls (FakeGuest *guest, const char *command)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (guest->calls, command));
}

static JsonNode *
parse (const char *text)
{
  return molt_json_parse_bounded (text, NULL);
}

static JsonNode *
job_list (FakeGuest *guest)
{
  g_autofree char *probe = NULL;
  g_autofree char *text = NULL;

  /* Like the real agent, the first look may find the probe gone before
   * its status was collected. */
  if (guest->probe_name != NULL && guest->probe_polls++ == 0)
    probe = g_strdup_printf (",{\"name\":\"%s\",\"state\":\"exited\"}", guest->probe_name);
  else if (guest->probe_name != NULL)
    probe = g_strdup_printf (",{\"name\":\"%s\",\"state\":\"exited\",\"exit-status\":%d}",
                             guest->probe_name, guest->probe_status);
  text = g_strdup_printf (
      "[{\"name\":\"a\",\"state\":\"%s\",\"pid\":%d,\"ns-pid\":1,\"frozen-at-us\":1000000,"
      "\"resumed-at-us\":2500000,\"ns-pids-at-checkpoint\":\"1 2\",\"ns-pids-at-restore\":\"1 "
      "2\",\"argv\":[\"sh\"]}%s]",
      guest->job_state, guest->boot == 1 ? 100 : 200, probe != NULL ? probe : "");
  return parse (text);
}

/* The model: what a well-behaved agent would answer. */
static JsonNode *
answer (FakeGuest *guest, MoltRequest *req)
{
  const char *cmd = req->execute;

  if (g_str_equal (cmd, "info"))
    {
      g_autofree char *text = g_strdup_printf (
          "{\"version\":\"0.1.0\",\"kernel-release\":\"6.1.0-%s\",\"boot-id\":\"boot-%d\","
          "\"uptime\":1.0,\"criu\":%s}",
          guest->old_kernel ? "old" : "new", guest->boot,
          guest->criu_broken ? "{\"state\":\"failed\",\"works\":false,\"error\":\"criu check "
                               "failed: Error (criu/kerndat.c:1): no vDSO\"}"
                             : "{\"state\":\"ok\",\"works\":true,\"version\":31700}");
      return parse (text);
    }
  if (g_str_equal (cmd, "switch-preflight"))
    {
      /* The release read from the image asked for: a switch back asks for the old one. */
      const gchar *kernel
          = json_object_get_string_member_with_default (req->arguments, "kernel", "");
      g_autofree char *text = g_strdup_printf (
          "{\"kernel\":\"/boot/vmlinuz\",\"free-bytes\":1000000000,"
          "\"release\":\"6.1.0-%s\",\"running-kernel\":{\"image\":\"/boot/vmlinuz-old\","
          "\"initrd\":\"/boot/initrd.img-old\",\"append\":\"root=/dev/vda\"},"
          "\"checkpoint-blockers\":[%s]}",
          g_str_equal (kernel, "/boot/vmlinuz-old") ? "old" : "new",
          guest->blocked ? "{\"job\":\"a\",\"reasons\":[\"pid 7 (a) has /dev/fuse open\"]}" : "");
      return parse (text);
    }
  if (g_str_equal (cmd, "job-list"))
    return job_list (guest);
  if (g_str_equal (cmd, "freeze"))
    {
      g_strlcpy (guest->job_state, "frozen", sizeof guest->job_state);
      return parse ("{\"jobs\":[\"a\"],\"frozen-at-us\":1000000}");
    }
  if (g_str_equal (cmd, "thaw"))
    {
      if (g_str_equal (guest->job_state, "frozen"))
        g_strlcpy (guest->job_state, "running", sizeof guest->job_state);
      return parse ("{\"jobs\":[\"a\"],\"resumed-at-us\":2000000}");
    }
  if (g_str_equal (cmd, "kexec-load"))
    return parse ("{\"kernel\":\"/boot/vmlinuz\",\"append\":\"\"}");
  if (g_str_equal (cmd, "pre-dump"))
    return parse ("[{\"name\":\"a\",\"seconds\":0.1}]");
  if (g_str_equal (cmd, "checkpoint"))
    {
      guest->hold = !guest->ignore_hold
                    && json_object_get_boolean_member_with_default (req->arguments, "hold", FALSE);
      return parse ("[{\"name\":\"a\",\"seconds\":0.1}]");
    }
  if (g_str_equal (cmd, "restore-undo"))
    {
      gboolean held = g_str_equal (guest->job_state, "frozen");
      if (held)
        g_strlcpy (guest->job_state, "checkpointed", sizeof guest->job_state);
      return parse (held ? "[\"a\"]" : "[]");
    }
  if (g_str_equal (cmd, "images-verify"))
    return parse ("[\"a\"]");
  if (g_str_equal (cmd, "kexec"))
    {
      /* The kernel it loads restores the job at boot: held (stopped) if
       * asked; on the new kernel, not at all if its restore fails. */
      const gchar *kernel
          = json_object_get_string_member_with_default (req->arguments, "kernel", "");
      guest->boot++;
      guest->old_kernel = g_str_equal (kernel, "/boot/vmlinuz-old");
      g_strlcpy (guest->job_state,
                 !guest->old_kernel && guest->restore_fails ? "restore-failed"
                 : guest->hold                              ? "frozen"
                                                            : "running",
                 sizeof guest->job_state);
      return parse ("{\"kernel\":\"/boot/vmlinuz\",\"append\":\"\"}");
    }
  if (g_str_equal (cmd, "job-start"))
    {
      g_free (guest->probe_name);
      guest->probe_name
          = g_strdup (json_object_get_string_member_with_default (req->arguments, "name", "?"));
      return parse ("{\"pid\":300,\"ns-pid\":1}");
    }
  if (g_str_equal (cmd, "job-log"))
    return parse ("{}");
  if (g_str_equal (cmd, "images-logs"))
    return parse ("[{\"job\":\"a\",\"path\":\"/var/lib/molt/images/x/a/dump.log\","
                  "\"tail\":\"Error (criu/cr-dump.c:1): dump failed\\n\"},"
                  "{\"job\":\"../../etc\",\"path\":\"/x/dump.log\",\"tail\":\"no\"}]");
  if (g_str_equal (cmd, "boot-once"))
    {
      const gchar *release
          = json_object_get_string_member_with_default (req->arguments, "release", NULL);
      g_free (guest->next_entry);
      guest->next_entry = release != NULL ? g_strdup_printf ("advanced>linux-%s", release) : NULL;
      return parse (release != NULL ? "{\"grubenv\":\"/boot/grub/grubenv\",\"entry\":"
                                      "\"advanced>linux-6.1.0-old\"}"
                                    : "{\"grubenv\":\"/boot/grub/grubenv\",\"cleared\":true}");
    }
  if (g_str_equal (cmd, "modules-load") && guest->modules_load != NULL)
    return parse (guest->modules_load);
  if (g_str_equal (cmd, "images-drop"))
    return parse ("{\"images\":\"/var/lib/molt/images/x\",\"removed-bytes\":4096}");
  return NULL;
}

static JsonNode *
break_node (JsonNode *node, FakeFault fault, int depth)
{
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *obj = json_node_get_object (node);
      g_autoptr (JsonObject) out = json_object_new ();
      GList *members = json_object_get_members (obj);

      for (GList *m = members; m != NULL && fault != FAKE_FAULT_MISSING; m = m->next)
        {
          JsonNode *value = json_object_get_member (obj, m->data);
          g_autoptr (JsonObject) empty = json_object_new ();
          json_object_set_member (out, m->data,
                                  fault == FAKE_FAULT_WRONG_TYPE
                                      ? json_node_init_object (json_node_alloc (), empty)
                                      : break_node (value, fault, depth + 1));
        }
      g_list_free (members);
      return json_node_init_object (json_node_alloc (), out);
    }
  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);
      g_autoptr (JsonArray) out = json_array_new ();

      for (guint i = 0; i < json_array_get_length (array); i++)
        json_array_add_element (out,
                                break_node (json_array_get_element (array, i), fault, depth + 1));
      return json_node_init_array (json_node_alloc (), out);
    }
  if (fault == FAKE_FAULT_ESCAPES && json_node_get_value_type (node) == G_TYPE_STRING)
    return json_node_init_string (json_node_alloc (), FAKE_ESCAPES);
  if (fault == FAKE_FAULT_HUGE && json_node_get_value_type (node) == G_TYPE_INT64)
    return json_node_init_int (json_node_alloc (), G_MAXINT64);
  return json_node_copy (node);
}

static void
serve (FakeConnection *conn, MoltRequest *req)
{
  FakeGuest *guest = conn->guest;
  g_autoptr (JsonNode) ret = NULL;
  g_autofree char *line = NULL;
  g_autofree char *key = NULL;
  unsigned n;
  FakeFault fault;

  if (g_str_equal (req->execute, "sync-delimited"))
    {
      ret = json_node_copy (json_object_get_member (req->arguments, "id"));
      line = molt_reply_build_return (ret, req->id);
      fake_peer_write (conn->fd, "\xff");
      fake_peer_write (conn->fd, line);
      return;
    }
  g_mutex_lock (&guest->lock);
  n = GPOINTER_TO_UINT (g_hash_table_lookup (guest->calls, req->execute)) + 1;
  g_hash_table_insert (guest->calls, g_strdup (req->execute), GUINT_TO_POINTER (n));
  key = g_strdup_printf ("%s#%u", req->execute, n);
  fault = GPOINTER_TO_INT (g_hash_table_lookup (guest->faults, key));
  ret = answer (guest, req);
  g_mutex_unlock (&guest->lock);

  if (fault == FAKE_FAULT_TIMEOUT)
    return;
  if (ret == NULL || fault == FAKE_FAULT_ERROR)
    {
      g_autoptr (GError) err = g_error_new (
          MOLT_PROTOCOL_ERROR,
          ret == NULL ? MOLT_PROTOCOL_ERROR_COMMAND_NOT_FOUND : MOLT_PROTOCOL_ERROR_GENERIC,
          "injected failure of %s " FAKE_ESCAPES " (log: /var/lib/molt/images/x/a/dump.log)",
          req->execute);
      line = molt_reply_build_error (err, req->id);
    }
  else
    {
      g_autoptr (JsonNode) broken = break_node (ret, fault, 0);
      line = molt_reply_build_return (broken, req->id);
    }
  fake_peer_write (conn->fd, line);
}

static void
serve_request (MoltRequest *req, gpointer data)
{
  serve (data, req);
}

static gpointer
serve_thread (gpointer data)
{
  g_autofree FakeConnection *conn = data;

  fake_peer_serve (conn->fd, serve_request, conn);
  return NULL;
}

MoltTransport *
fake_guest_connect (virDomainPtr dom, gpointer data, GError **error)
{
  FakeGuest *guest = data;
  FakeConnection *conn = g_new0 (FakeConnection, 1);
  int sv[2];

  g_assert (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
  conn->guest = guest;
  conn->fd = sv[1];
  g_mutex_lock (&guest->lock);
  g_ptr_array_add (guest->fds, GINT_TO_POINTER (sv[1]));
  g_ptr_array_add (guest->threads, g_thread_new ("fake-guest", serve_thread, conn));
  g_mutex_unlock (&guest->lock);
  return molt_fd_transport_new (sv[0]);
}

void
fake_guest_set_restore_fails (FakeGuest *guest, gboolean fails)
{
  g_mutex_lock (&guest->lock);
  guest->restore_fails = fails;
  g_mutex_unlock (&guest->lock);
}

int
fake_guest_boot (FakeGuest *guest)
{
  int boot;

  g_mutex_lock (&guest->lock);
  boot = guest->boot;
  g_mutex_unlock (&guest->lock);
  return boot;
}

void
fake_guest_set_ignore_hold (FakeGuest *guest, gboolean ignore)
{
  g_mutex_lock (&guest->lock);
  guest->ignore_hold = ignore;
  g_mutex_unlock (&guest->lock);
}
