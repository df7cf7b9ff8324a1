/* Live external snapshots taken through libvirt, reverted and deleted by
 * molt (libvirt 9.0 does neither). See molt-snapshot-external.h. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <libvirt/virterror.h>

#include "molt-host-error.h"
#include "molt-libvirt.h"
#include "molt-snapshot-external.h"
#include "molt-snapshot.h"

/* How long a block commit may take to converge (the overlay holds what the
 * guest wrote during one switch: seconds) and how often it is polled. */
#define MOLT_COMMIT_TIMEOUT_S 600
#define MOLT_COMMIT_POLL_MS   200

static const gchar *
last_error (void)
{
  const gchar *msg = virGetLastErrorMessage ();
  return msg != NULL ? msg : "unknown libvirt error";
}

/* A disk as libvirt's XML has it: target (vda), its file, and for a
 * snapshot's <disks> the overlay. */
typedef MoltSnapshotDisk Disk;

void
molt_snapshot_disk_free (MoltSnapshotDisk *disk)
{
  g_free (disk->target);
  g_free (disk->file);
  g_free (disk);
}

/* What the parser collects: the domain's writable file disks (<devices>
 * <disk type='file' device='disk'> without <readonly/>, the first
 * <source file> directly under it), or a snapshot's external <disks> and
 * its memory file. */
typedef struct
{
  GPtrArray *disks;
  gchar *memory_file;
  GSList *stack; /* element names, innermost first (owned strings) */
  Disk *current;
  gboolean current_writable;
} Collect;

static const gchar *
attr (const gchar **names, const gchar **values, const gchar *name)
{
  for (guint i = 0; names[i] != NULL; i++)
    if (g_str_equal (names[i], name))
      return values[i];
  return NULL;
}

static const gchar *
parent (Collect *c)
{
  return c->stack != NULL ? c->stack->data : "";
}

static void
on_start (GMarkupParseContext *ctx, const gchar *element, const gchar **names, const gchar **values,
          gpointer data, GError **error)
{
  Collect *c = data;
  (void) ctx;
  (void) error;

  if (g_str_equal (element, "disk") && g_str_equal (parent (c), "devices"))
    {
      c->current = g_new0 (Disk, 1);
      c->current_writable = g_strcmp0 (attr (names, values, "type"), "file") == 0
                            && g_strcmp0 (attr (names, values, "device"), "disk") == 0;
    }
  else if (g_str_equal (element, "disk") && g_str_equal (parent (c), "disks"))
    {
      c->current = g_new0 (Disk, 1);
      c->current->target = g_strdup (attr (names, values, "name"));
      c->current_writable = g_strcmp0 (attr (names, values, "snapshot"), "external") == 0;
    }
  else if (c->current != NULL && g_str_equal (parent (c), "disk"))
    {
      if (g_str_equal (element, "source") && c->current->file == NULL)
        c->current->file = g_strdup (attr (names, values, "file"));
      else if (g_str_equal (element, "target") && c->current->target == NULL)
        c->current->target = g_strdup (attr (names, values, "dev"));
      else if (g_str_equal (element, "readonly") || g_str_equal (element, "shareable"))
        c->current_writable = FALSE;
    }
  else if (g_str_equal (element, "memory") && g_str_equal (parent (c), "domainsnapshot"))
    c->memory_file = g_strdup (attr (names, values, "file"));
  c->stack = g_slist_prepend (c->stack, g_strdup (element));
}

static void
on_end (GMarkupParseContext *ctx, const gchar *element, gpointer data, GError **error)
{
  Collect *c = data;
  gchar *top = c->stack->data;
  (void) ctx;
  (void) error;

  c->stack = g_slist_delete_link (c->stack, c->stack);
  g_free (top);
  if (g_str_equal (element, "disk") && c->current != NULL
      && (g_str_equal (parent (c), "devices") || g_str_equal (parent (c), "disks")))
    {
      if (c->current_writable && c->current->file != NULL && c->current->target != NULL)
        g_ptr_array_add (c->disks, c->current);
      else
        molt_snapshot_disk_free (c->current);
      c->current = NULL;
    }
}

/* Parses libvirt's XML; the disks (and memory file) are in *c. */
static gboolean
collect (const gchar *xml, Collect *c, GError **error)
{
  static const GMarkupParser parser = { on_start, on_end, NULL, NULL, NULL };
  g_autoptr (GMarkupParseContext) ctx = NULL;
  gboolean ok;

  c->disks = g_ptr_array_new_with_free_func ((GDestroyNotify) molt_snapshot_disk_free);
  ctx = g_markup_parse_context_new (&parser, 0, c, NULL);
  ok = g_markup_parse_context_parse (ctx, xml, -1, error)
       && g_markup_parse_context_end_parse (ctx, error);
  g_slist_free_full (c->stack, g_free);
  c->stack = NULL;
  g_clear_pointer (&c->current, molt_snapshot_disk_free);
  if (!ok)
    g_prefix_error (error, "cannot read libvirt's XML: ");
  return ok;
}

static void
collect_clear (Collect *c)
{
  g_clear_pointer (&c->disks, g_ptr_array_unref);
  g_clear_pointer (&c->memory_file, g_free);
}

/* DIR/DISK.qcow2 -> DIR/DISK.NAME.qcow2 (DIR/DISK.img -> DIR/DISK.img.NAME.qcow2). */
static gchar *
overlay_path (const gchar *disk, const gchar *name)
{
  if (g_str_has_suffix (disk, ".qcow2"))
    return g_strdup_printf ("%.*s.%s.qcow2", (int) (strlen (disk) - strlen (".qcow2")), disk, name);
  return g_strdup_printf ("%s.%s.qcow2", disk, name);
}

gboolean
molt_snapshot_external_create (virDomainPtr dom, const gchar *name, const gchar *description,
                               GError **error)
{
  const gchar *dom_name = virDomainGetName (dom); /* before the calls that may fail */
  g_autofree gchar *dom_xml = virDomainGetXMLDesc (dom, 0);
  g_autoptr (GString) xml = g_string_new (NULL);
  g_autofree gchar *dir = NULL, *memory = NULL;
  g_autoptr (virDomainSnapshot) snap = NULL;
  Collect c = { 0 };

  if (dom_xml == NULL)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "cannot read the definition of domain '%s': %s", dom_name, last_error ());
      return FALSE;
    }
  if (!collect (dom_xml, &c, error))
    return FALSE;
  if (c.disks->len == 0)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "domain '%s' has no writable file disk to snapshot (block devices and "
                   "network disks are not supported)",
                   dom_name);
      collect_clear (&c);
      return FALSE;
    }
  dir = g_path_get_dirname (((Disk *) c.disks->pdata[0])->file);
  memory = g_strdup_printf ("%s/%s.mem", dir, name);
  g_string_append_printf (xml, "<domainsnapshot><name>%s</name>", name);
  {
    g_autofree gchar *escaped = g_markup_printf_escaped (
        "<description>%s</description><memory snapshot='external' file='%s'/><disks>", description,
        memory);
    g_string_append (xml, escaped);
  }
  for (guint i = 0; i < c.disks->len; i++)
    {
      Disk *disk = c.disks->pdata[i];
      g_autofree gchar *overlay = overlay_path (disk->file, name);
      g_autofree gchar *escaped = g_markup_printf_escaped (
          "<disk name='%s' snapshot='external'><driver type='qcow2'/><source file='%s'/></disk>",
          disk->target, overlay);
      g_string_append (xml, escaped);
    }
  g_string_append (xml, "</disks></domainsnapshot>");
  collect_clear (&c);
  /* LIVE: the memory is saved while the guest runs; ATOMIC: all disks or
   * none get their overlay. */
  snap = virDomainSnapshotCreateXML (
      dom, xml->str, VIR_DOMAIN_SNAPSHOT_CREATE_LIVE | VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC);
  if (snap == NULL)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "cannot take an external snapshot of domain '%s': %s", dom_name, last_error ());
      return FALSE;
    }
  return TRUE;
}

static gchar *
snapshot_xml (virDomainPtr dom, const gchar *name, GError **error)
{
  const gchar *dom_name = virDomainGetName (dom);
  g_autoptr (virDomainSnapshot) snap = virDomainSnapshotLookupByName (dom, name, 0);
  gchar *xml = snap != NULL ? virDomainSnapshotGetXMLDesc (snap, 0) : NULL;

  if (xml == NULL)
    g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                 "domain '%s' has no snapshot '%s': %s", dom_name, name, last_error ());
  return xml;
}

gboolean
molt_snapshot_is_external (virDomainPtr dom, const gchar *name)
{
  g_autofree gchar *xml = snapshot_xml (dom, name, NULL);
  g_autoptr (GPtrArray) overlays = xml != NULL ? molt_snapshot_overlays (xml, NULL, NULL) : NULL;

  /* A memory file, or a disk-only snapshot's overlays. */
  return xml != NULL
         && (strstr (xml, "<memory snapshot='external'") != NULL
             || (overlays != NULL && overlays->len > 0));
}

/* The raw text of the first <TAG ...>...</TAG> in xml, renamed to
 * <domain>: libvirt's definitions as stored in the snapshot. */
static gchar *
element_as_domain (const gchar *xml, const gchar *tag)
{
  g_autofree gchar *open = g_strdup_printf ("<%s ", tag);
  g_autofree gchar *close = g_strdup_printf ("</%s>", tag);
  const gchar *start = strstr (xml, open);
  const gchar *end = start != NULL ? strstr (start, close) : NULL;

  if (end == NULL)
    return NULL;
  return g_strdup_printf ("<domain %.*s</domain>", (int) (end - start - strlen (open)),
                          start + strlen (open));
}

/* The snapshot's record: memory file, overlays, and the definitions from
 * before it. */
typedef struct
{
  gchar *xml;
  Collect overlays;    /* the snapshot's <disks>, and its memory file */
  Collect bases;       /* the <domain>'s disks: what each overlay sits on */
  gchar *live_def;     /* <domain> */
  gchar *inactive_def; /* <inactiveDomain>, as a <domain>; NULL if transient */
} Record;

static void
record_clear (Record *r)
{
  g_clear_pointer (&r->xml, g_free);
  collect_clear (&r->overlays);
  collect_clear (&r->bases);
  g_clear_pointer (&r->live_def, g_free);
  g_clear_pointer (&r->inactive_def, g_free);
}

gchar *
molt_snapshot_recorded_definition (const gchar *snapshot_xml, gboolean inactive)
{
  return element_as_domain (snapshot_xml, inactive ? "inactiveDomain" : "domain");
}

/* Reads the record from the snapshot's XML (as libvirt gives it). */
static gboolean
record_parse (const gchar *xml, const gchar *name, Record *r, GError **error)
{
  const gchar *disks_end;

  r->xml = g_strdup (xml);
  r->live_def = element_as_domain (r->xml, "domain");
  r->inactive_def = element_as_domain (r->xml, "inactiveDomain");
  disks_end = strstr (r->xml, "</disks>");
  if (r->live_def == NULL || disks_end == NULL)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "snapshot '%s' records no domain or disks", name);
      return FALSE;
    }
  {
    /* The snapshot's own part, up to its <disks>' end. */
    g_autofree gchar *head = g_strdup_printf (
        "%.*s</domainsnapshot>", (int) (disks_end + strlen ("</disks>") - r->xml), r->xml);
    if (!collect (head, &r->overlays, error) || !collect (r->live_def, &r->bases, error))
      return FALSE;
  }
  if (r->overlays.memory_file == NULL || r->overlays.disks->len == 0)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "snapshot '%s' is not an external snapshot with memory", name);
      return FALSE;
    }
  return TRUE;
}

static const gchar *
base_of (Record *r, const gchar *target)
{
  for (guint i = 0; i < r->bases.disks->len; i++)
    {
      Disk *disk = r->bases.disks->pdata[i];
      if (g_str_equal (disk->target, target))
        return disk->file;
    }
  return NULL;
}

/* The overlay files and the memory file, once nothing uses them; a file
 * that cannot go is a warning for the caller, not a failure. */
static gboolean
remove_files (Record *r, GError **error)
{
  g_autoptr (GString) left = g_string_new (NULL);

  for (guint i = 0; i < r->overlays.disks->len; i++)
    {
      Disk *disk = r->overlays.disks->pdata[i];
      if (g_unlink (disk->file) != 0 && errno != ENOENT)
        g_string_append_printf (left, "%s%s (%s)", left->len > 0 ? ", " : "", disk->file,
                                g_strerror (errno));
    }
  if (g_unlink (r->overlays.memory_file) != 0 && errno != ENOENT)
    g_string_append_printf (left, "%s%s (%s)", left->len > 0 ? ", " : "", r->overlays.memory_file,
                            g_strerror (errno));
  if (left->len == 0)
    return TRUE;
  g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED, "cannot remove %s", left->str);
  return FALSE;
}

gboolean
molt_snapshot_forget_metadata (virDomainPtr dom, const gchar *name, GError **error)
{
  const gchar *dom_name = virDomainGetName (dom);
  g_autoptr (virDomainSnapshot) snap = NULL;

  /* A transient domain destroyed and restored has no record of it. */
  virResetLastError ();
  snap = virDomainSnapshotLookupByName (dom, name, 0);

  if (snap == NULL)
    return TRUE;
  if (virDomainSnapshotDelete (snap, VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY) < 0)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "cannot forget snapshot '%s' of domain '%s': %s", name, dom_name, last_error ());
      return FALSE;
    }
  return TRUE;
}

gchar *
molt_snapshot_external_xml (virDomainPtr dom, const gchar *name, GError **error)
{
  return snapshot_xml (dom, name, error);
}

gboolean
molt_snapshot_external_revert_from (virConnectPtr conn, const gchar *dom_name, const gchar *name,
                                    const gchar *xml, GError **error)
{
  g_autoptr (virDomain) dom = NULL;
  Record r = { 0 };
  gboolean ok = FALSE;

  if (!record_parse (xml, name, &r, error))
    goto out;
  dom = virDomainLookupByName (conn, dom_name);
  if (dom != NULL && virDomainIsActive (dom) == 1 && virDomainDestroy (dom) < 0)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "cannot stop domain '%s' to revert it to snapshot '%s': %s", dom_name, name,
                   last_error ());
      goto out;
    }
  /* The memory file with the disks as they were at the snapshot (the
   * <domain> it recorded): the overlays are left out of the chain. This
   * works whether or not libvirt still knows the domain (a transient one
   * is gone once destroyed): the domain comes back with its name and UUID. */
  if (virDomainRestoreFlags (conn, r.overlays.memory_file, r.live_def, VIR_DOMAIN_SAVE_RUNNING) < 0)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "cannot restore domain '%s' from the memory of snapshot '%s' (%s): %s", dom_name,
                   name, r.overlays.memory_file, last_error ());
      goto out;
    }
  /* A persistent domain's snapshot also recorded its definition. */
  if (r.inactive_def != NULL)
    {
      virDomainPtr defined = virDomainDefineXML (conn, r.inactive_def);
      if (defined == NULL)
        {
          g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                       "domain '%s' runs as at snapshot '%s', but its definition cannot be put "
                       "back: %s",
                       dom_name, name, last_error ());
          goto out;
        }
      virDomainFree (defined);
    }
  g_clear_pointer (&dom, virDomainFree);
  dom = virDomainLookupByName (conn, dom_name);
  ok = (dom == NULL || molt_snapshot_forget_metadata (dom, name, error))
       && remove_files (&r, error);
out:
  record_clear (&r);
  return ok;
}

gboolean
molt_snapshot_external_revert (virDomainPtr dom, const gchar *name, GError **error)
{
  g_autofree gchar *xml = snapshot_xml (dom, name, error);

  return xml != NULL
         && molt_snapshot_external_revert_from (virDomainGetConnect (dom), virDomainGetName (dom),
                                                name, xml, error);
}

GPtrArray *
molt_snapshot_domain_disks (const gchar *domain_xml, GError **error)
{
  Collect c = { 0 };
  GPtrArray *disks;

  if (!collect (domain_xml, &c, error))
    {
      collect_clear (&c);
      return NULL;
    }
  disks = g_steal_pointer (&c.disks);
  collect_clear (&c);
  return disks;
}

GPtrArray *
molt_snapshot_overlays (const gchar *snapshot_xml, gchar **memory_file, GError **error)
{
  const gchar *disks_end = strstr (snapshot_xml, "</disks>");
  g_autofree gchar *head = NULL;
  Collect c = { 0 };
  GPtrArray *disks;

  if (disks_end == NULL)
    {
      g_set_error_literal (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                           "the snapshot records no disks");
      return NULL;
    }
  /* The snapshot's own part, up to its <disks>' end (the <domain> after
   * it has disks of its own). */
  head = g_strdup_printf ("%.*s</domainsnapshot>",
                          (int) (disks_end + strlen ("</disks>") - snapshot_xml), snapshot_xml);
  if (!collect (head, &c, error))
    {
      collect_clear (&c);
      return NULL;
    }
  disks = g_steal_pointer (&c.disks);
  if (memory_file != NULL)
    *memory_file = g_steal_pointer (&c.memory_file);
  collect_clear (&c);
  return disks;
}

/* Commits the overlay of disk TARGET into its base and pivots back to it. */
gboolean
molt_snapshot_commit_active (virDomainPtr dom, const gchar *target, GError **error)
{
  const gchar *dom_name = virDomainGetName (dom);
  gint64 deadline = g_get_monotonic_time () + MOLT_COMMIT_TIMEOUT_S * G_USEC_PER_SEC;

  /* SHALLOW: into the overlay's own backing file (the disk), not the
   * deepest image of the chain (a base image other domains share). */
  if (virDomainBlockCommit (dom, target, NULL, NULL, 0,
                            VIR_DOMAIN_BLOCK_COMMIT_ACTIVE | VIR_DOMAIN_BLOCK_COMMIT_SHALLOW)
      < 0)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "cannot merge disk %s of domain '%s' back: %s", target, dom_name, last_error ());
      return FALSE;
    }
  /* An active commit never ends by itself: once it has copied everything
   * it mirrors writes until the pivot, which fails while it is not ready. */
  for (;;)
    {
      virDomainBlockJobInfo info;
      int got = virDomainGetBlockJobInfo (dom, target, &info, 0);

      if (got == 1 && info.end > 0 && info.cur == info.end
          && virDomainBlockJobAbort (dom, target, VIR_DOMAIN_BLOCK_JOB_ABORT_PIVOT) == 0)
        break;
      if (got < 0 || got == 0 || g_get_monotonic_time () >= deadline)
        {
          g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                       "merging disk %s of domain '%s' back did not finish%s: %s", target, dom_name,
                       got == 0 ? " (the job vanished)" : "", last_error ());
          if (got == 1)
            virDomainBlockJobAbort (dom, target, 0);
          return FALSE;
        }
      g_usleep (MOLT_COMMIT_POLL_MS * 1000);
    }
  /* The pivot completes asynchronously: wait until the job is gone. */
  while (virDomainGetBlockJobInfo (dom, target, &(virDomainBlockJobInfo){ 0 }, 0) == 1
         && g_get_monotonic_time () < deadline)
    g_usleep (MOLT_COMMIT_POLL_MS * 1000);
  return TRUE;
}

/* A persistent definition that names an overlay names its disk again. */
static gboolean
redefine_on_bases (virDomainPtr dom, Record *r, GError **error)
{
  g_autofree gchar *xml = virDomainGetXMLDesc (dom, VIR_DOMAIN_XML_INACTIVE);
  g_autoptr (GString) fixed = NULL;
  virDomainPtr defined;

  if (xml == NULL)
    return TRUE;
  fixed = g_string_new (xml);
  for (guint i = 0; i < r->overlays.disks->len; i++)
    {
      Disk *overlay = r->overlays.disks->pdata[i];
      const gchar *base = base_of (r, overlay->target);
      g_autofree gchar *from = g_markup_printf_escaped ("'%s'", overlay->file);
      g_autofree gchar *to = base != NULL ? g_markup_printf_escaped ("'%s'", base) : NULL;
      if (to != NULL)
        g_string_replace (fixed, from, to, 0);
    }
  if (g_str_equal (fixed->str, xml))
    return TRUE;
  defined = virDomainDefineXML (virDomainGetConnect (dom), fixed->str);
  if (defined == NULL)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "cannot point the definition of domain '%s' back at its disks: %s",
                   virDomainGetName (dom), last_error ());
      return FALSE;
    }
  virDomainFree (defined);
  return TRUE;
}

gboolean
molt_snapshot_external_delete_from (virDomainPtr dom, const gchar *name, const gchar *xml,
                                    GError **error)
{
  Record r = { 0 };
  gboolean ok = FALSE;

  if (!record_parse (xml, name, &r, error))
    goto out;
  if (virDomainIsActive (dom) != 1)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "domain '%s' is not running: molt merges an external snapshot back into its "
                   "disks only while it runs (start it, then delete the snapshot)",
                   virDomainGetName (dom));
      goto out;
    }
  for (guint i = 0; i < r.overlays.disks->len; i++)
    if (!molt_snapshot_commit_active (dom, ((Disk *) r.overlays.disks->pdata[i])->target, error))
      goto out;
  ok = redefine_on_bases (dom, &r, error) && molt_snapshot_forget_metadata (dom, name, error)
       && remove_files (&r, error);
out:
  record_clear (&r);
  return ok;
}

gboolean
molt_snapshot_external_delete (virDomainPtr dom, const gchar *name, GError **error)
{
  g_autofree gchar *xml = snapshot_xml (dom, name, error);

  return xml != NULL && molt_snapshot_external_delete_from (dom, name, xml, error);
}
