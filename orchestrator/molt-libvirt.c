#include <gio/gio.h>
#include <libvirt/virterror.h>

#include "molt-host-error.h"
#include "molt-libvirt.h"

/* One line: error messages are printed escaped, a newline as \x0a. */
static const gchar channel_xml[] = "<channel type='unix'><source mode='bind'/>"
                                   "<target type='virtio' name='" MOLT_AGENT_CHANNEL "'/>"
                                   "</channel>";

const gchar *
molt_libvirt_channel_xml (void)
{
  return channel_xml;
}

static const gchar *
last_error (void)
{
  const gchar *msg = virGetLastErrorMessage ();
  return msg != NULL ? msg : "unknown libvirt error";
}

/* libvirt prints every error to stderr by default; we report them ourselves. */
static void
quiet_error_handler (void *data, virErrorPtr err)
{
  g_debug ("libvirt: %s", err != NULL && err->message != NULL ? err->message : "?");
}

static gpointer
event_thread (gpointer data)
{
  for (;;)
    if (virEventRunDefaultImpl () < 0)
      g_debug ("libvirt event loop: %s", last_error ());
  return NULL;
}

void
molt_libvirt_init (void)
{
  static gsize initialised = 0;

  if (g_once_init_enter (&initialised))
    {
      virSetErrorFunc (NULL, quiet_error_handler);
      virEventRegisterDefaultImpl ();
      g_thread_unref (g_thread_new ("libvirt-events", event_thread, NULL));
      g_once_init_leave (&initialised, 1);
    }
}

virConnectPtr
molt_libvirt_connect (const gchar *uri, GError **error)
{
  virConnectPtr conn;

  if (uri == NULL)
    uri = g_getenv ("LIBVIRT_DEFAULT_URI");
  if (uri == NULL || uri[0] == '\0')
    uri = MOLT_DEFAULT_URI;
  molt_libvirt_init ();
  conn = virConnectOpen (uri);
  if (conn == NULL)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_CONNECT,
                   "cannot connect to %s: %s (is libvirtd running?)", uri, last_error ());
      return NULL;
    }
  return conn;
}

virDomainPtr
molt_libvirt_lookup_domain (virConnectPtr conn, const gchar *name, GError **error)
{
  virDomainPtr dom = virDomainLookupByName (conn, name);
  g_autofree gchar *uri = NULL;
  gchar *end = NULL;

  if (dom == NULL)
    dom = virDomainLookupByUUIDString (conn, name);
  if (dom == NULL)
    {
      gint64 id = g_ascii_strtoll (name, &end, 10);
      if (end != name && *end == '\0' && id >= 0 && id <= G_MAXINT)
        dom = virDomainLookupByID (conn, (int) id);
    }
  if (dom != NULL)
    return dom;
  uri = virConnectGetURI (conn);
  g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_DOMAIN_NOT_FOUND,
               "domain '%s' not found on %s ('virsh -c %s list --all' lists the domains)", name,
               uri != NULL ? uri : "?", uri != NULL ? uri : "URI");
  return NULL;
}

gboolean
molt_libvirt_xml_has_agent_channel (const gchar *xml)
{
  /* libvirt formats attributes with single quotes. */
  return strstr (xml, "name='" MOLT_AGENT_CHANNEL "'") != NULL;
}

gboolean
molt_libvirt_check_agent_channel (virDomainPtr dom, GError **error)
{
  g_autofree gchar *xml = NULL;
  const gchar *name = virDomainGetName (dom);
  int active = virDomainIsActive (dom);

  if (active < 0)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED, "cannot query domain '%s': %s",
                   name, last_error ());
      return FALSE;
    }
  if (active == 0)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_DOMAIN_NOT_RUNNING,
                   "domain '%s' is not running (start it with 'virsh start %s')", name, name);
      return FALSE;
    }
  xml = virDomainGetXMLDesc (dom, 0);
  if (xml == NULL)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "cannot read the definition of domain '%s': %s", name, last_error ());
      return FALSE;
    }
  if (!molt_libvirt_xml_has_agent_channel (xml))
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_NO_CHANNEL,
                   "domain '%s' has no molt agent channel: 'molt setup %s' adds it (to the "
                   "running domain and its definition) and checks the guest",
                   name, name);
      return FALSE;
    }
  return TRUE;
}

/* ---- the libvirt stream transport ---- */

/* What the event thread signals. Reference-counted: libvirt may still be
 * running the callback when the transport is freed, and calls the free
 * function only once it has returned; whoever drops the last reference
 * clears the mutex. */
typedef struct
{
  gint refs;
  GMutex lock;
  GCond cond;
  guint64 events; /* bumped by the event thread on every stream event */
} MoltStreamSignal;

static MoltStreamSignal *
signal_new (void)
{
  MoltStreamSignal *sig = g_new0 (MoltStreamSignal, 1);
  sig->refs = 1;
  g_mutex_init (&sig->lock);
  g_cond_init (&sig->cond);
  return sig;
}

static MoltStreamSignal *
signal_ref (MoltStreamSignal *sig)
{
  g_atomic_int_inc (&sig->refs);
  return sig;
}

static void
signal_unref (void *data)
{
  MoltStreamSignal *sig = data;

  if (!g_atomic_int_dec_and_test (&sig->refs))
    return;
  g_mutex_clear (&sig->lock);
  g_cond_clear (&sig->cond);
  g_free (sig);
}

typedef struct
{
  MoltTransport parent;
  virStreamPtr stream;
  virConnectPtr conn; /* the stream's; it holds the reference */
  MoltStreamSignal *sig;
  gboolean callback_added;
} MoltStreamTransport;

/* A stream whose connection died (libvirtd restarted) reports no event
 * and no error, only "would block" for ever: ask the connection. */
static gboolean
stream_connection_lost (MoltStreamTransport *self, GError **error)
{
  if (virConnectIsAlive (self->conn) != 0)
    return FALSE;
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                       "the connection to libvirt was lost (libvirtd restarted?)");
  return TRUE;
}

static void
stream_event_cb (virStreamPtr stream, int events, void *opaque)
{
  MoltStreamSignal *sig = opaque;

  g_mutex_lock (&sig->lock);
  sig->events++;
  g_cond_broadcast (&sig->cond);
  g_mutex_unlock (&sig->lock);
}

/* Waits for a stream event or 50 ms, whichever comes first: the short cap
 * makes a missed wake-up cost little. Returns FALSE past the deadline. */
static gboolean
stream_wait (MoltStreamTransport *self, guint64 seen, gint64 deadline)
{
  gint64 now = g_get_monotonic_time ();

  if (now >= deadline)
    return FALSE;
  g_mutex_lock (&self->sig->lock);
  if (self->sig->events == seen)
    g_cond_wait_until (&self->sig->cond, &self->sig->lock, MIN (deadline, now + 50 * 1000));
  g_mutex_unlock (&self->sig->lock);
  return TRUE;
}

static guint64
stream_events (MoltStreamTransport *self)
{
  guint64 events;

  g_mutex_lock (&self->sig->lock);
  events = self->sig->events;
  g_mutex_unlock (&self->sig->lock);
  return events;
}

static gssize
stream_recv (MoltTransport *transport, guint8 *buf, gsize len, gint64 deadline, GError **error)
{
  MoltStreamTransport *self = (MoltStreamTransport *) transport;

  for (;;)
    {
      guint64 seen = stream_events (self);
      int n = virStreamRecv (self->stream, (char *) buf, len);

      if (n >= 0)
        return n;
      if (n != -2)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", last_error ());
          return -1;
        }
      if (stream_connection_lost (self, error))
        return -1;
      if (!stream_wait (self, seen, deadline))
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "timed out");
          return -1;
        }
    }
}

static gboolean
stream_send (MoltTransport *transport, const guint8 *buf, gsize len, gint64 deadline,
             GError **error)
{
  MoltStreamTransport *self = (MoltStreamTransport *) transport;

  while (len > 0)
    {
      guint64 seen = stream_events (self);
      int n = virStreamSend (self->stream, (const char *) buf, len);

      if (n > 0)
        {
          buf += n;
          len -= (gsize) n;
          continue;
        }
      if (n != -2)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", last_error ());
          return FALSE;
        }
      if (stream_connection_lost (self, error))
        return FALSE;
      if (!stream_wait (self, seen, deadline))
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "timed out");
          return FALSE;
        }
    }
  return TRUE;
}

static void
stream_free (MoltTransport *transport)
{
  MoltStreamTransport *self = (MoltStreamTransport *) transport;

  /* libvirt drops the callback's reference once it is not running. */
  if (self->callback_added)
    virStreamEventRemoveCallback (self->stream);
  virStreamAbort (self->stream);
  virStreamFree (self->stream);
  signal_unref (self->sig);
  g_free (self);
}

static const MoltTransportClass stream_transport_class = {
  .recv = stream_recv,
  .send = stream_send,
  .free = stream_free,
};

MoltTransport *
molt_libvirt_open_agent (virDomainPtr dom, GError **error)
{
  const gchar *dom_name = virDomainGetName (dom); /* before any call that may fail */
  g_autoptr (MoltTransport) transport = NULL;
  MoltStreamTransport *self;
  virStreamPtr stream;

  if (!molt_libvirt_check_agent_channel (dom, error))
    return NULL;
  stream = virStreamNew (virDomainGetConnect (dom), VIR_STREAM_NONBLOCK);
  if (stream == NULL)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED, "cannot create a stream: %s",
                   last_error ());
      return NULL;
    }
  self = g_new0 (MoltStreamTransport, 1);
  self->parent.klass = &stream_transport_class;
  self->stream = stream;
  self->conn = virDomainGetConnect (dom);
  self->sig = signal_new ();
  transport = &self->parent;

  /* FORCE: a client that died holding the channel must not lock us out.
   * Every caller holds the domain's exclusive lock or its channel lock
   * (molt-domain-lock.h), so no live molt command has it. */
  if (virDomainOpenChannel (dom, MOLT_AGENT_CHANNEL, stream, VIR_DOMAIN_CHANNEL_FORCE) < 0)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_NO_CHANNEL,
                   "cannot open the agent channel of domain '%s': %s", dom_name, last_error ());
      return NULL;
    }
  if (virStreamEventAddCallback (stream,
                                 /* not WRITABLE: it is level-triggered and would spin */
                                 VIR_STREAM_EVENT_READABLE | VIR_STREAM_EVENT_ERROR
                                     | VIR_STREAM_EVENT_HANGUP,
                                 stream_event_cb, signal_ref (self->sig), signal_unref)
      < 0)
    {
      signal_unref (self->sig); /* the reference the callback did not take */
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "cannot watch the agent channel: %s", last_error ());
      return NULL;
    }
  self->callback_added = TRUE;
  return g_steal_pointer (&transport);
}
