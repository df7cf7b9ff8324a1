/* The host's agent client against a scripted fake agent on a socketpair:
 * a well-behaved agent, silence, garbage, endless replies, stale replies,
 * agent errors, a closed channel, and resynchronisation after a timeout. */
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gio.h>

#include "molt-agent-client.h"
#include "molt-host-error.h"
#include "molt-line-reader.h"
#include "molt-message.h"
#include "molt-protocol-error.h"
#include "fake-peer.h"
#include "molt-test.h"

typedef enum
{
  FAKE_GOOD,
  FAKE_SILENT,
  FAKE_GARBAGE,      /* a non-JSON line after the delimiter */
  FAKE_ENDLESS,      /* a reply without end */
  FAKE_NO_DELIMITER, /* streams bytes, never 0xFF */
  FAKE_STALE_FIRST,  /* replies with other ids before the right one */
  FAKE_ERROR,        /* answers commands with an error */
  FAKE_CLOSE,        /* closes the channel on the first command */
  FAKE_SLOW_ONCE,    /* the first command's reply comes too late */
  FAKE_MANY,         /* a reply under the size cap with 150 000 elements */
} FakeMode;

typedef struct
{
  FakeMode mode;
  gint fd;
  gint commands_seen;
} FakeAgent;

static void
fake_reply (FakeAgent *fake, MoltRequest *req)
{
  g_autoptr (JsonNode) ret = NULL;
  g_autofree gchar *line = NULL;

  if (g_str_equal (req->execute, "sync-delimited"))
    {
      ret = json_node_copy (json_object_get_member (req->arguments, "id"));
      line = molt_reply_build_return (ret, req->id);
      switch (fake->mode)
        {
        case FAKE_GARBAGE:
          fake_peer_write (fake->fd, "\xff"
                                     "definitely { not json\n");
          return;
        case FAKE_ENDLESS:
          fake_peer_write (fake->fd, "\xff{\"return\": \"");
          for (int i = 0; i < 40000; i++)
            fake_peer_write (fake->fd, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
          return;
        case FAKE_NO_DELIMITER:
          for (int i = 0; i < 200000 && fake->fd >= 0; i++)
            {
              if (write (fake->fd, "zzzzzzzzzzzzzzzz\n", 17) < 0)
                return;
            }
          return;
        default:
          fake_peer_write (fake->fd, "\xff");
          fake_peer_write (fake->fd, line);
          return;
        }
    }

  fake->commands_seen++;
  switch (fake->mode)
    {
    case FAKE_STALE_FIRST:
      fake_peer_write (fake->fd, "{\"return\": \"old\", \"id\": 1}\n{\"return\": 5}\n");
      break;
    case FAKE_ERROR:
      {
        g_autoptr (GError) err
            = g_error_new (MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_NOT_FOUND, "no job named 'x'");
        g_autofree gchar *eline = molt_reply_build_error (err, req->id);
        fake_peer_write (fake->fd, eline);
        return;
      }
    case FAKE_CLOSE:
      shutdown (fake->fd, SHUT_RDWR);
      return;
    case FAKE_MANY:
      {
        g_autoptr (GString) many = g_string_new ("[0");
        g_autofree gchar *id = json_to_string (req->id, FALSE);
        for (int i = 1; i < 150000; i++)
          g_string_append (many, ",0");
        g_string_append_printf (many, "]");
        line = g_strdup_printf ("{\"return\": %s, \"id\": %s}\n", many->str, id);
        fake_peer_write (fake->fd, line);
        return;
      }
    case FAKE_SLOW_ONCE:
      if (fake->commands_seen == 1)
        {
          g_usleep (400 * 1000); /* past the client's 200 ms timeout */
        }
      break;
    default:
      break;
    }
  ret = json_node_init_string (json_node_alloc (), req->execute);
  line = molt_reply_build_return (ret, req->id);
  fake_peer_write (fake->fd, line);
}

static void
fake_request (MoltRequest *req, gpointer data)
{
  FakeAgent *fake = data;

  if (fake->mode != FAKE_SILENT)
    fake_reply (fake, req);
}

static gpointer
fake_agent_thread (gpointer data)
{
  FakeAgent *fake = data;

  fake_peer_serve (fake->fd, fake_request, fake);
  return NULL;
}

typedef struct
{
  FakeAgent fake;
  GThread *thread;
  MoltAgentClient *client;
} Harness;

static void
harness_start (Harness *h, FakeMode mode, guint timeout_ms)
{
  int sv[2];

  g_assert (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
  h->fake.mode = mode;
  h->fake.fd = sv[1];
  h->fake.commands_seen = 0;
  h->client = molt_agent_client_new (molt_fd_transport_new (sv[0]));
  molt_agent_client_set_timeout (h->client, timeout_ms);
  h->thread = g_thread_new ("fake-agent", fake_agent_thread, &h->fake);
}

static void
harness_stop (Harness *h)
{
  /* Closing the client's end ends the fake's read loop. */
  molt_agent_client_free (h->client);
  shutdown (h->fake.fd, SHUT_RDWR);
  g_thread_join (h->thread);
  close (h->fake.fd);
}

static void
test_good (void)
{
  Harness h;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) ret = NULL;

  harness_start (&h, FAKE_GOOD, 2000);
  ret = molt_agent_client_call (h.client, "info", NULL, &error);
  MOLT_ASSERT_NO_ERROR (error);
  CU_ASSERT_STRING_EQUAL (json_node_get_string (ret), "info");
  harness_stop (&h);
}

static void
expect_failure (FakeMode mode, guint timeout_ms, GQuark domain, gint code, const char *needle)
{
  Harness h;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) ret = NULL;
  gint64 start = g_get_monotonic_time ();

  harness_start (&h, mode, timeout_ms);
  ret = molt_agent_client_call (h.client, "info", NULL, &error);
  CU_ASSERT_PTR_NULL (ret);
  MOLT_ASSERT_ERROR (error, domain, code);
  MOLT_ASSERT_CONTAINS (error->message, needle);
  /* A hang check with a wide margin, not a speed assertion. */
  CU_ASSERT_TRUE (g_get_monotonic_time () - start < (timeout_ms + 10000) * (gint64) 1000);
  harness_stop (&h);
}

static void
test_silence (void)
{
  expect_failure (FAKE_SILENT, 200, MOLT_HOST_ERROR, MOLT_HOST_ERROR_AGENT_UNRESPONSIVE,
                  "agent not responding");
}

static void
test_garbage (void)
{
  expect_failure (FAKE_GARBAGE, 2000, MOLT_HOST_ERROR, MOLT_HOST_ERROR_AGENT_PROTOCOL,
                  "definitely { not json");
}

static void
test_endless (void)
{
  expect_failure (FAKE_ENDLESS, 5000, MOLT_HOST_ERROR, MOLT_HOST_ERROR_REPLY_TOO_LARGE,
                  "exceeds 1048576 bytes");
}

static void
test_many_elements (void)
{
  expect_failure (FAKE_MANY, 5000, MOLT_HOST_ERROR, MOLT_HOST_ERROR_REPLY_TOO_LARGE,
                  "has more than 100000 elements");
}

static void
test_no_delimiter (void)
{
  expect_failure (FAKE_NO_DELIMITER, 300, MOLT_HOST_ERROR, MOLT_HOST_ERROR_AGENT_UNRESPONSIVE,
                  "sync-delimited");
}

static void
test_agent_error (void)
{
  expect_failure (FAKE_ERROR, 2000, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_NOT_FOUND,
                  "no job named 'x'");
}

static void
test_closed (void)
{
  expect_failure (FAKE_CLOSE, 2000, MOLT_HOST_ERROR, MOLT_HOST_ERROR_AGENT_CLOSED, "closed");
}

static void
test_stale_replies_skipped (void)
{
  Harness h;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) ret = NULL;

  harness_start (&h, FAKE_STALE_FIRST, 2000);
  ret = molt_agent_client_call (h.client, "job-list", NULL, &error);
  MOLT_ASSERT_NO_ERROR (error);
  CU_ASSERT_STRING_EQUAL (json_node_get_string (ret), "job-list");
  harness_stop (&h);
}

static void
test_resync_after_timeout (void)
{
  Harness h;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) first = NULL;
  g_autoptr (JsonNode) second = NULL;

  harness_start (&h, FAKE_SLOW_ONCE, 200);
  first = molt_agent_client_call (h.client, "info", NULL, &error);
  MOLT_ASSERT_ERROR (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_AGENT_UNRESPONSIVE);
  g_clear_error (&error);
  /* The late reply to "info" arrives now; the resync must drop it. */
  molt_agent_client_set_timeout (h.client, 2000);
  second = molt_agent_client_call (h.client, "job-list", NULL, &error);
  MOLT_ASSERT_NO_ERROR (error);
  CU_ASSERT_STRING_EQUAL (json_node_get_string (second), "job-list");
  harness_stop (&h);
}

int
main (void)
{
  static const MoltTestCase cases[] = {
    { "well-behaved agent", test_good },
    { "silent agent times out", test_silence },
    { "garbage is a protocol error", test_garbage },
    { "endless reply is capped", test_endless },
    { "a reply of too many elements is refused", test_many_elements },
    { "stream without delimiter times out", test_no_delimiter },
    { "agent error keeps its class", test_agent_error },
    { "closed channel", test_closed },
    { "stale replies are skipped", test_stale_replies_skipped },
    { "resync after a timeout", test_resync_after_timeout },
    { NULL, NULL },
  };
  /* The fake writes into sockets the client has closed. */
  signal (SIGPIPE, SIG_IGN);
  return molt_test_run ("agent-client", cases);
}
