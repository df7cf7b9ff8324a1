#include <string.h>

#include <libvirt/virterror.h>

#include "molt-domain-kernel.h"
#include "molt-host-error.h"
#include "molt-snapshot.h"

static const gchar *
last_error (void)
{
  const gchar *msg = virGetLastErrorMessage ();
  return msg != NULL ? msg : "unknown libvirt error";
}

/* Removes <TAG>...</TAG> (and the line's indentation) inside [os_start, os_end). */
static void
remove_element (GString *xml, const gchar *tag, gsize os_start, gsize *os_end)
{
  g_autofree gchar *open = g_strdup_printf ("<%s>", tag);
  g_autofree gchar *close = g_strdup_printf ("</%s>", tag);
  gchar *start = strstr (xml->str + os_start, open);
  gchar *end;
  gsize from, to;

  if (start == NULL || (gsize) (start - xml->str) >= *os_end)
    return;
  end = strstr (start, close);
  if (end == NULL)
    return;
  from = (gsize) (start - xml->str);
  to = (gsize) (end - xml->str) + strlen (close);
  while (from > os_start && (xml->str[from - 1] == ' ' || xml->str[from - 1] == '\t'))
    from--;
  if (to < xml->len && xml->str[to] == '\n')
    to++;
  g_string_erase (xml, (gssize) from, (gssize) (to - from));
  *os_end -= to - from;
}

gchar *
molt_domain_xml_set_kernel (const gchar *xml, const gchar *kernel, const gchar *initrd,
                            const gchar *cmdline, GError **error)
{
  g_autoptr (GString) out = g_string_new (xml);
  g_autoptr (GString) add = g_string_new (NULL);
  gchar *os_open = strstr (out->str, "<os>");
  gchar *os_close = os_open != NULL ? strstr (os_open, "</os>") : NULL;
  gsize os_start, os_end;

  if (os_open == NULL || os_close == NULL)
    {
      g_set_error_literal (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                           "the domain definition has no <os> element");
      return NULL;
    }
  os_start = (gsize) (os_open - out->str);
  os_end = (gsize) (os_close - out->str);
  remove_element (out, "kernel", os_start, &os_end);
  remove_element (out, "initrd", os_start, &os_end);
  if (cmdline != NULL)
    remove_element (out, "cmdline", os_start, &os_end);

  {
    g_autofree gchar *k = g_markup_escape_text (kernel, -1);
    g_string_append_printf (add, "    <kernel>%s</kernel>\n", k);
  }
  if (initrd != NULL)
    {
      g_autofree gchar *i = g_markup_escape_text (initrd, -1);
      g_string_append_printf (add, "    <initrd>%s</initrd>\n", i);
    }
  if (cmdline != NULL)
    {
      g_autofree gchar *c = g_markup_escape_text (cmdline, -1);
      g_string_append_printf (add, "    <cmdline>%s</cmdline>\n", c);
    }
  /* Insert right before </os>, after its other children. */
  while (os_end > os_start && (out->str[os_end - 1] == ' ' || out->str[os_end - 1] == '\t'))
    os_end--;
  g_string_insert (out, (gssize) os_end, add->str);
  return g_strdup (out->str);
}

typedef struct
{
  guint depth;
  gboolean in_os;
  gchar **field; /* where the text of the element open now goes */
  gchar **kernel, **initrd, **cmdline;
} KernelParse;

static void
kernel_start (GMarkupParseContext *context, const gchar *element, const gchar **names,
              const gchar **values, gpointer data, GError **error)
{
  KernelParse *p = data;

  (void) context, (void) names, (void) values, (void) error;
  p->depth++;
  /* Only /domain/os/{kernel,initrd,cmdline}: a <kernel> elsewhere is not it. */
  if (p->depth == 2 && g_str_equal (element, "os"))
    p->in_os = TRUE;
  else if (p->depth == 3 && p->in_os && g_str_equal (element, "kernel"))
    p->field = p->kernel;
  else if (p->depth == 3 && p->in_os && g_str_equal (element, "initrd"))
    p->field = p->initrd;
  else if (p->depth == 3 && p->in_os && g_str_equal (element, "cmdline"))
    p->field = p->cmdline;
}

static void
kernel_end (GMarkupParseContext *context, const gchar *element, gpointer data, GError **error)
{
  KernelParse *p = data;

  (void) context, (void) element, (void) error;
  if (p->depth == 2)
    p->in_os = FALSE;
  p->field = NULL;
  p->depth--;
}

static void
kernel_text (GMarkupParseContext *context, const gchar *text, gsize len, gpointer data,
             GError **error)
{
  KernelParse *p = data;

  (void) context, (void) error;
  if (p->field != NULL)
    {
      g_free (*p->field);
      *p->field = g_strstrip (g_strndup (text, len));
    }
}

gboolean
molt_domain_xml_get_kernel (const gchar *xml, gchar **kernel, gchar **initrd, gchar **cmdline,
                            GError **error)
{
  static const GMarkupParser parser = { kernel_start, kernel_end, kernel_text, NULL, NULL };
  KernelParse p = { .kernel = kernel, .initrd = initrd, .cmdline = cmdline };
  g_autoptr (GMarkupParseContext) context = NULL;

  *kernel = *initrd = *cmdline = NULL;
  context = g_markup_parse_context_new (&parser, 0, &p, NULL);
  if (!g_markup_parse_context_parse (context, xml, -1, error)
      || !g_markup_parse_context_end_parse (context, error))
    {
      g_clear_pointer (kernel, g_free);
      g_clear_pointer (initrd, g_free);
      g_clear_pointer (cmdline, g_free);
      g_prefix_error (error, "cannot read the domain definition: ");
      return FALSE;
    }
  return TRUE;
}

/* Starts the domain from xml (defining it first if persistent); for a
 * transient one, redefines the snapshot that destroy dropped. */
static virDomainPtr
start_from (virConnectPtr conn, const gchar *name, const gchar *xml, gboolean persistent,
            const gchar *snap_xml, GError **error)
{
  virDomainPtr started = NULL;

  if (persistent)
    {
      virDomainPtr defined = virDomainDefineXML (conn, xml);
      if (defined != NULL && virDomainCreate (defined) == 0)
        started = defined;
      else if (defined != NULL)
        virDomainFree (defined);
    }
  else
    started = virDomainCreateXML (conn, xml, 0);
  if (started == NULL)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED, "cannot start '%s': %s", name,
                   last_error ());
      return NULL;
    }
  if (!persistent && snap_xml != NULL)
    {
      /* Destroy dropped the transient domain's snapshot list; the internal
       * snapshot itself is still in the qcow2 image. */
      g_autoptr (virDomainSnapshot) redefined
          = virDomainSnapshotCreateXML (started, snap_xml, VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE);
      if (redefined == NULL)
        g_warning ("cannot redefine the snapshot of '%s': %s", name, last_error ());
    }
  return started;
}

gboolean
molt_domain_restart (virDomainPtr *dom, const gchar *xml, const gchar *snapshot, const gchar *what,
                     GError **error)
{
  virConnectPtr conn = virDomainGetConnect (*dom);
  g_autofree gchar *name = g_strdup (virDomainGetName (*dom));
  g_autofree gchar *old_xml = virDomainGetXMLDesc (*dom, VIR_DOMAIN_XML_MIGRATABLE);
  g_autofree gchar *snap_xml = NULL;
  g_autoptr (virDomainSnapshot) snap = NULL;
  g_autoptr (GError) start_error = NULL;
  virDomainPtr started;
  int persistent = virDomainIsPersistent (*dom);

  if (old_xml == NULL || persistent < 0)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "cannot read the definition of '%s': %s", name, last_error ());
      return FALSE;
    }
  if (snapshot != NULL)
    {
      snap = virDomainSnapshotLookupByName (*dom, snapshot, 0);
      if (snap == NULL
          || (snap_xml = virDomainSnapshotGetXMLDesc (snap, VIR_DOMAIN_SNAPSHOT_XML_SECURE))
                 == NULL)
        {
          g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                       "cannot read snapshot %s of '%s': %s", snapshot, name, last_error ());
          return FALSE;
        }
    }
  if (virDomainIsActive (*dom) == 1 && virDomainDestroy (*dom) < 0)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED, "cannot stop '%s': %s", name,
                   last_error ());
      return FALSE;
    }
  started = start_from (conn, name, xml, persistent == 1, snap_xml, &start_error);
  if (started == NULL)
    {
      /* Bring the domain back as it was, so that the rollback can go on. */
      started = start_from (conn, name, old_xml, persistent == 1, snap_xml, NULL);
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED, "cannot start '%s' with %s: %s",
                   name, what, start_error->message);
    }
  if (started != NULL)
    {
      virDomainFree (*dom);
      *dom = started;
    }
  return started != NULL && start_error == NULL;
}

gboolean
molt_domain_restart_with_kernel (virDomainPtr *dom, const gchar *kernel, const gchar *initrd,
                                 const gchar *cmdline, const gchar *snapshot, GError **error)
{
  g_autofree gchar *old_xml = virDomainGetXMLDesc (*dom, VIR_DOMAIN_XML_MIGRATABLE);
  g_autofree gchar *new_xml = NULL;
  g_autofree gchar *what = g_strdup_printf ("kernel %s", kernel);

  if (old_xml == NULL)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "cannot read the definition of '%s': %s", virDomainGetName (*dom),
                   last_error ());
      return FALSE;
    }
  new_xml = molt_domain_xml_set_kernel (old_xml, kernel, initrd, cmdline, error);
  if (new_xml == NULL)
    return FALSE;
  return molt_domain_restart (dom, new_xml, snapshot, what, error);
}
