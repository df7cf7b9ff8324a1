/* External snapshots kept as a chain: see molt-snapshot-chain.h. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libvirt/virterror.h>

#include "molt-host-error.h"
#include "molt-libvirt.h"
#include "molt-snapshot-chain.h"
#include "molt-snapshot-external.h"
#include "molt-snapshot.h"

/* How long a block commit may take (a day's writes of a busy disk) and
 * how often it is polled. */
#define MOLT_CHAIN_COMMIT_TIMEOUT_S 3600
#define MOLT_CHAIN_COMMIT_POLL_MS   200

static const gchar *
last_error (void)
{
  const gchar *msg = virGetLastErrorMessage ();
  return msg != NULL ? msg : "unknown libvirt error";
}

gboolean
molt_snapshot_needs_external (virDomainPtr dom, gchar **why)
{
  g_autofree gchar *xml = virDomainGetXMLDesc (dom, 0);
  g_autoptr (GPtrArray) disks = NULL;

  if (xml == NULL)
    return FALSE;
  if (strstr (xml, "type='pflash'") != NULL)
    {
      *why = g_strdup ("its UEFI firmware is in pflash, and libvirt takes no internal snapshot of "
                       "such a domain");
      return TRUE;
    }
  disks = molt_snapshot_domain_disks (xml, NULL);
  for (guint i = 0; disks != NULL && i < disks->len; i++)
    {
      MoltSnapshotDisk *disk = g_ptr_array_index (disks, i);
      g_autofree gchar *pattern = g_strdup_printf ("<target dev='%s'", disk->target);
      const gchar *at = strstr (xml, pattern);
      /* The <driver> of the same <disk> comes before its <target>. */
      const gchar *open = at != NULL ? g_strrstr_len (xml, at - xml, "<disk ") : NULL;
      const gchar *driver = open != NULL ? g_strstr_len (open, at - open, "type='qcow2'") : NULL;

      if (open != NULL && driver == NULL)
        {
          *why = g_strdup_printf ("its disk %s is not qcow2, and internal snapshots live in qcow2",
                                  disk->target);
          return TRUE;
        }
    }
  return FALSE;
}

/* The snapshots of dom, oldest first (MoltSnapshotInfo). */
static GPtrArray *
snapshots_of (virDomainPtr dom, GError **error)
{
  return molt_snapshot_list (dom, error);
}

/* DIR/STEM.qcow2 -> DIR/STEM.NAME.qcow2, where STEM is the disk's own name
 * without the names of the snapshots already on it (so the overlays of a
 * chain are DISK.S1.qcow2, DISK.S2.qcow2, not DISK.S1.S2.qcow2). */
static gchar *
overlay_for (const gchar *file, const gchar *name, GPtrArray *snaps)
{
  g_autofree gchar *stem = g_str_has_suffix (file, ".qcow2")
                               ? g_strndup (file, strlen (file) - strlen (".qcow2"))
                               : g_strdup (file);
  gboolean stripped = TRUE;

  while (stripped && g_str_has_suffix (file, ".qcow2"))
    {
      stripped = FALSE;
      for (guint i = 0; i < snaps->len && !stripped; i++)
        {
          g_autofree gchar *suffix
              = g_strconcat (".", ((MoltSnapshotInfo *) snaps->pdata[i])->name, NULL);
          if (g_str_has_suffix (stem, suffix) && strlen (stem) > strlen (suffix))
            {
              stem[strlen (stem) - strlen (suffix)] = '\0';
              stripped = TRUE;
            }
        }
    }
  return g_strdup_printf ("%s.%s.qcow2", stem, name);
}

/* The UEFI variable store of a domain's XML (<nvram>PATH</nvram>), or NULL. */
static gchar *
nvram_of (const gchar *xml)
{
  const gchar *open = strstr (xml, "<nvram");
  const gchar *start = open != NULL ? strchr (open, '>') : NULL;
  const gchar *end = start != NULL ? strstr (start, "</nvram>") : NULL;

  if (end == NULL || start[-1] == '/')
    return NULL;
  return g_strndup (start + 1, end - start - 1);
}

static gchar *
nvram_copy_path (const gchar *dir, const gchar *name)
{
  return g_strdup_printf ("%s/%s.nvram", dir, name);
}

static gboolean
copy_file (const gchar *from, const gchar *to, GError **error)
{
  g_autoptr (GFile) src = g_file_new_for_path (from);
  g_autoptr (GFile) dst = g_file_new_for_path (to);

  return g_file_copy (src, dst, G_FILE_COPY_OVERWRITE, NULL, NULL, NULL, error);
}

gboolean
molt_snapshot_chain_create (virDomainPtr dom, const gchar *name, const gchar *description,
                            gboolean memory, GError **error)
{
  const gchar *dom_name = virDomainGetName (dom);
  g_autofree gchar *xml = virDomainGetXMLDesc (dom, 0);
  g_autoptr (GPtrArray) disks = NULL, snaps = NULL;
  g_autoptr (GString) snap_xml = g_string_new (NULL);
  g_autoptr (virDomainSnapshot) snap = NULL;
  g_autofree gchar *dir = NULL, *nvram = NULL, *escaped = NULL;
  gboolean with_memory = memory && virDomainIsActive (dom) == 1;
  guint flags = VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC;

  if (xml == NULL)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "cannot read the definition of domain '%s': %s", dom_name, last_error ());
      return FALSE;
    }
  if ((disks = molt_snapshot_domain_disks (xml, error)) == NULL
      || (snaps = snapshots_of (dom, error)) == NULL)
    return FALSE;
  if (disks->len == 0)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "domain '%s' has no writable file disk to snapshot (block devices and "
                   "network disks are not supported)",
                   dom_name);
      return FALSE;
    }
  dir = g_path_get_dirname (((MoltSnapshotDisk *) disks->pdata[0])->file);
  escaped = g_markup_printf_escaped ("<domainsnapshot><name>%s</name><description>%s</description>",
                                     name, description != NULL ? description : "");
  g_string_append (snap_xml, escaped);
  if (with_memory)
    {
      g_autofree gchar *mem
          = g_markup_printf_escaped ("<memory snapshot='external' file='%s/%s.mem'/>", dir, name);
      g_string_append (snap_xml, mem);
      /* LIVE: the memory is saved while the guest runs (paused only for
       * the last dirty pages). */
      flags |= VIR_DOMAIN_SNAPSHOT_CREATE_LIVE;
    }
  else
    {
      g_string_append (snap_xml, "<memory snapshot='no'/>");
      flags |= VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY;
    }
  g_string_append (snap_xml, "<disks>");
  for (guint i = 0; i < disks->len; i++)
    {
      MoltSnapshotDisk *disk = disks->pdata[i];
      g_autofree gchar *overlay = overlay_for (disk->file, name, snaps);
      g_autofree gchar *entry = g_markup_printf_escaped (
          "<disk name='%s' snapshot='external'><driver type='qcow2'/><source file='%s'/></disk>",
          disk->target, overlay);
      g_string_append (snap_xml, entry);
    }
  g_string_append (snap_xml, "</disks></domainsnapshot>");
  snap = virDomainSnapshotCreateXML (dom, snap_xml->str, flags);
  if (snap == NULL)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "cannot take an external snapshot of domain '%s': %s", dom_name, last_error ());
      return FALSE;
    }
  /* The UEFI variables as they were, for a revert. */
  if ((nvram = nvram_of (xml)) != NULL)
    {
      g_autofree gchar *copy = nvram_copy_path (dir, name);
      if (!copy_file (nvram, copy, error))
        {
          g_prefix_error (error,
                          "snapshot '%s' of domain '%s' was taken, but its UEFI variables "
                          "were not saved: ",
                          name, dom_name);
          return FALSE;
        }
    }
  return TRUE;
}

static const gchar *
file_of (GPtrArray *disks, const gchar *target)
{
  for (guint i = 0; disks != NULL && i < disks->len; i++)
    {
      MoltSnapshotDisk *disk = disks->pdata[i];
      if (g_str_equal (disk->target, target))
        return disk->file;
    }
  return NULL;
}

/* Merges OVERLAY, which is not the disk's active file, into the file below
 * it; libvirt points the overlay above it at that file. */
static gboolean
commit_below (virDomainPtr dom, const gchar *target, const gchar *overlay, GError **error)
{
  const gchar *dom_name = virDomainGetName (dom);
  gint64 deadline = g_get_monotonic_time () + (gint64) MOLT_CHAIN_COMMIT_TIMEOUT_S * G_USEC_PER_SEC;
  g_autofree gchar *after = NULL, *quoted = NULL;

  if (virDomainBlockCommit (dom, target, NULL, overlay, 0, VIR_DOMAIN_BLOCK_COMMIT_SHALLOW) < 0)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "cannot merge %s into the file below it (disk %s of domain '%s'): %s", overlay,
                   target, dom_name, last_error ());
      return FALSE;
    }
  /* A commit below the active file ends by itself. */
  while (virDomainGetBlockJobInfo (dom, target, &(virDomainBlockJobInfo){ 0 }, 0) == 1)
    {
      if (g_get_monotonic_time () >= deadline)
        {
          virDomainBlockJobAbort (dom, target, 0);
          g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                       "merging %s (disk %s of domain '%s') did not finish in %d s", overlay,
                       target, dom_name, MOLT_CHAIN_COMMIT_TIMEOUT_S);
          return FALSE;
        }
      g_usleep (MOLT_CHAIN_COMMIT_POLL_MS * 1000);
    }
  /* Done, or failed: the chain says which. */
  after = virDomainGetXMLDesc (dom, 0);
  quoted = g_markup_printf_escaped ("'%s'", overlay);
  if (after == NULL || strstr (after, quoted) != NULL)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "merging %s (disk %s of domain '%s') failed: it is still in the disk's chain "
                   "(libvirt's log for the domain says why)",
                   overlay, target, dom_name);
      return FALSE;
    }
  return TRUE;
}

/* A persistent definition names each disk's active file, as the running
 * domain has it after a merge. */
static gboolean
sync_definition (virDomainPtr dom, GError **error)
{
  g_autofree gchar *live = virDomainGetXMLDesc (dom, 0);
  g_autofree gchar *inactive = NULL;
  g_autoptr (GPtrArray) live_disks = NULL, defined_disks = NULL;
  g_autoptr (GString) fixed = NULL;
  virDomainPtr defined;

  if (virDomainIsPersistent (dom) != 1 || live == NULL
      || (inactive = virDomainGetXMLDesc (dom, VIR_DOMAIN_XML_INACTIVE)) == NULL)
    return TRUE;
  live_disks = molt_snapshot_domain_disks (live, NULL);
  defined_disks = molt_snapshot_domain_disks (inactive, NULL);
  fixed = g_string_new (inactive);
  for (guint i = 0; defined_disks != NULL && i < defined_disks->len; i++)
    {
      MoltSnapshotDisk *disk = defined_disks->pdata[i];
      const gchar *now = file_of (live_disks, disk->target);
      g_autofree gchar *from = g_markup_printf_escaped ("'%s'", disk->file);
      g_autofree gchar *to = now != NULL ? g_markup_printf_escaped ("'%s'", now) : NULL;

      if (to != NULL && !g_str_equal (now, disk->file))
        g_string_replace (fixed, from, to, 1);
    }
  if (g_str_equal (fixed->str, inactive))
    return TRUE;
  if ((defined = virDomainDefineXML (virDomainGetConnect (dom), fixed->str)) == NULL)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "cannot point the definition of domain '%s' at its disks' files: %s",
                   virDomainGetName (dom), last_error ());
      return FALSE;
    }
  virDomainFree (defined);
  return TRUE;
}

/* The snapshot's overlays, memory file and UEFI copy; a file that cannot
 * go is named. */
static gboolean
remove_snapshot_files (GPtrArray *overlays, const gchar *memory, const gchar *name, GError **error)
{
  g_autoptr (GString) left = g_string_new (NULL);
  g_autofree gchar *dir = NULL, *nvram = NULL;

  if (overlays->len == 0)
    return TRUE;
  dir = g_path_get_dirname (((MoltSnapshotDisk *) overlays->pdata[0])->file);
  nvram = nvram_copy_path (dir, name);
  for (guint i = 0; i <= overlays->len + 1; i++)
    {
      const gchar *path = i < overlays->len    ? ((MoltSnapshotDisk *) overlays->pdata[i])->file
                          : i == overlays->len ? memory
                                               : nvram;
      if (path != NULL && g_unlink (path) != 0 && errno != ENOENT)
        g_string_append_printf (left, "%s%s (%s)", left->len > 0 ? ", " : "", path,
                                g_strerror (errno));
    }
  if (left->len == 0)
    return TRUE;
  g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED, "cannot remove %s", left->str);
  return FALSE;
}

gboolean
molt_snapshot_chain_delete (virDomainPtr dom, const gchar *name, GError **error)
{
  const gchar *dom_name = virDomainGetName (dom);
  g_autofree gchar *xml = molt_snapshot_external_xml (dom, name, error);
  g_autofree gchar *memory = NULL, *live = NULL;
  g_autoptr (GPtrArray) overlays = NULL, live_disks = NULL;

  if (xml == NULL || (overlays = molt_snapshot_overlays (xml, &memory, error)) == NULL)
    return FALSE;
  if (overlays->len > 0 && virDomainIsActive (dom) != 1)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "domain '%s' is not running: molt merges an external snapshot into the disks "
                   "only while the domain runs (start it, then delete snapshot '%s')",
                   dom_name, name);
      return FALSE;
    }
  live = virDomainGetXMLDesc (dom, 0);
  live_disks = live != NULL ? molt_snapshot_domain_disks (live, NULL) : NULL;
  for (guint i = 0; i < overlays->len; i++)
    {
      MoltSnapshotDisk *overlay = overlays->pdata[i];
      gboolean active = g_strcmp0 (file_of (live_disks, overlay->target), overlay->file) == 0;

      if (!(active ? molt_snapshot_commit_active (dom, overlay->target, error)
                   : commit_below (dom, overlay->target, overlay->file, error)))
        {
          g_prefix_error (error, "snapshot '%s' not deleted: ", name);
          return FALSE;
        }
    }
  return sync_definition (dom, error) && molt_snapshot_forget_metadata (dom, name, error)
         && remove_snapshot_files (overlays, memory, name, error);
}

/* Removes every <backingStore>...</backingStore> of a domain's XML: the
 * chain below a disk is probed from its files again (the recorded one
 * names files merged away since). */
static void
strip_backing_stores (GString *xml)
{
  gchar *open;

  while ((open = strstr (xml->str, "<backingStore")) != NULL)
    {
      gsize start = open - xml->str, end;
      const gchar *close = strchr (open, '>');
      gint depth = 1;

      if (close == NULL)
        return;
      if (close[-1] == '/')
        {
          g_string_erase (xml, start, close + 1 - open);
          continue;
        }
      end = close + 1 - xml->str;
      while (depth > 0)
        {
          const gchar *next_open = strstr (xml->str + end, "<backingStore");
          const gchar *next_close = strstr (xml->str + end, "</backingStore>");
          if (next_close == NULL)
            return;
          if (next_open != NULL && next_open < next_close)
            {
              const gchar *gt = strchr (next_open, '>');
              if (gt == NULL)
                return;
              depth += gt[-1] == '/' ? 0 : 1;
              end = gt + 1 - xml->str;
            }
          else
            {
              depth--;
              end = next_close + strlen ("</backingStore>") - xml->str;
            }
        }
      g_string_erase (xml, start, end - start);
    }
}

/* XML with each disk of OVERLAYS pointed at its overlay file. */
static gchar *
on_overlays (const gchar *xml, GPtrArray *overlays)
{
  g_autoptr (GString) fixed = g_string_new (xml);
  g_autoptr (GPtrArray) disks = NULL;

  strip_backing_stores (fixed);
  disks = molt_snapshot_domain_disks (fixed->str, NULL);
  for (guint i = 0; i < overlays->len; i++)
    {
      MoltSnapshotDisk *overlay = overlays->pdata[i];
      const gchar *now = file_of (disks, overlay->target);
      g_autofree gchar *from = now != NULL ? g_markup_printf_escaped ("'%s'", now) : NULL;
      g_autofree gchar *to = g_markup_printf_escaped ("'%s'", overlay->file);

      if (from != NULL)
        g_string_replace (fixed, from, to, 1);
    }
  return g_string_free (g_steal_pointer (&fixed), FALSE);
}

/* The file below OVERLAY (the disk as it was at its snapshot) and its
 * format, from the image itself. */
static gboolean
backing_of (const gchar *overlay, gchar **file, gchar **format, GError **error)
{
  const gchar *argv[] = { "qemu-img", "info", "--output=json", "-U", overlay, NULL };
  g_autofree gchar *out = NULL, *err = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *info;
  gint status;

  if (!g_spawn_sync (NULL, (gchar **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err,
                     &status, error))
    return FALSE;
  if (!g_spawn_check_wait_status (status, NULL)
      || !json_parser_load_from_data (parser, out, -1, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED, "qemu-img cannot read %s: %s",
                   overlay, g_strstrip (err));
      return FALSE;
    }
  info = json_node_get_object (json_parser_get_root (parser));
  if (!json_object_has_member (info, "full-backing-filename"))
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "%s has no backing file: it is not a snapshot's overlay", overlay);
      return FALSE;
    }
  *file = g_strdup (json_object_get_string_member (info, "full-backing-filename"));
  *format = g_strdup (
      json_object_get_string_member_with_default (info, "backing-filename-format", "raw"));
  return TRUE;
}

/* A new, empty OVERLAY on the same file below it: what was written since
 * the snapshot is gone, the snapshot's own state is kept. */
static gboolean
fresh_overlay (const gchar *overlay, GError **error)
{
  g_autofree gchar *below = NULL, *format = NULL, *err = NULL;
  gint status;

  if (!backing_of (overlay, &below, &format, error))
    return FALSE;
  if (g_unlink (overlay) != 0)
    {
      gint saved_errno = errno;
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED, "cannot remove %s: %s", overlay,
                   g_strerror (saved_errno));
      return FALSE;
    }
  {
    const gchar *argv[]
        = { "qemu-img", "create", "-q", "-f", "qcow2", "-F", format, "-b", below, overlay, NULL };
    if (!g_spawn_sync (NULL, (gchar **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, &err,
                       &status, error))
      return FALSE;
  }
  if (!g_spawn_check_wait_status (status, NULL))
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED, "qemu-img cannot create %s: %s",
                   overlay, g_strstrip (err));
      return FALSE;
    }
  return TRUE;
}

/* The snapshots newer than the one created at CREATED that are external:
 * their XML, by name. */
static GHashTable *
newer_external (virDomainPtr dom, gint64 created, GError **error)
{
  g_autoptr (GPtrArray) snaps = snapshots_of (dom, error);
  GHashTable *newer;

  if (snaps == NULL)
    return NULL;
  newer = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (guint i = 0; i < snaps->len; i++)
    {
      MoltSnapshotInfo *info = snaps->pdata[i];
      if (info->creation_time > created && molt_snapshot_is_external (dom, info->name))
        g_hash_table_insert (newer, g_strdup (info->name),
                             molt_snapshot_external_xml (dom, info->name, NULL));
    }
  return newer;
}

/* A transient domain's snapshots go with its destroy: the XML of those
 * the revert keeps (all but NEWER), to define them again after it. */
static GPtrArray *
kept_records (virDomainPtr dom, GHashTable *newer)
{
  g_autoptr (GPtrArray) snaps = snapshots_of (dom, NULL);
  GPtrArray *kept = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; snaps != NULL && i < snaps->len; i++)
    {
      MoltSnapshotInfo *info = snaps->pdata[i];
      gchar *xml;
      if (!g_hash_table_contains (newer, info->name)
          && (xml = molt_snapshot_external_xml (dom, info->name, NULL)) != NULL)
        g_ptr_array_add (kept, xml);
    }
  return kept;
}

static gboolean
redefine_records (virConnectPtr conn, const gchar *dom_name, GPtrArray *records, GError **error)
{
  g_autoptr (virDomain) dom = virDomainLookupByName (conn, dom_name);

  for (guint i = 0; dom != NULL && i < records->len; i++)
    {
      virDomainSnapshotPtr snap = virDomainSnapshotCreateXML (dom, records->pdata[i],
                                                              VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE);
      if (snap == NULL)
        {
          g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                       "domain '%s' was reverted, but libvirt lost the record of its other "
                       "snapshots (a transient domain's go with its stop) and cannot take it "
                       "back: %s",
                       dom_name, last_error ());
          return FALSE;
        }
      virDomainSnapshotFree (snap);
    }
  return TRUE;
}

static gint64
creation_time (const gchar *xml)
{
  const gchar *at = strstr (xml, "<creationTime>");
  return at != NULL ? g_ascii_strtoll (at + strlen ("<creationTime>"), NULL, 10) : 0;
}

gboolean
molt_snapshot_chain_revert (virDomainPtr dom, const gchar *name, GStrv *dropped, GError **error)
{
  virConnectPtr conn = virDomainGetConnect (dom);
  g_autofree gchar *dom_name = g_strdup (virDomainGetName (dom));
  g_autofree gchar *xml = molt_snapshot_external_xml (dom, name, error);
  g_autofree gchar *memory = NULL, *live_def = NULL, *inactive = NULL, *nvram = NULL;
  g_autofree gchar *start_xml = NULL;
  g_autoptr (GPtrArray) overlays = NULL, records = NULL;
  g_autoptr (GHashTable) newer = NULL;
  g_autoptr (GStrvBuilder) gone = g_strv_builder_new ();
  GHashTableIter iter;
  gpointer key, value;

  if (xml == NULL || (overlays = molt_snapshot_overlays (xml, &memory, error)) == NULL
      || (newer = newer_external (dom, creation_time (xml), error)) == NULL)
    return FALSE;
  if ((live_def = molt_snapshot_recorded_definition (xml, FALSE)) == NULL || overlays->len == 0)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "snapshot '%s' of domain '%s' records no domain or disks", name, dom_name);
      return FALSE;
    }
  if (virDomainIsPersistent (dom) == 1)
    inactive = virDomainGetXMLDesc (dom, VIR_DOMAIN_XML_INACTIVE);
  else
    records = kept_records (dom, newer);
  if (virDomainIsActive (dom) == 1 && virDomainDestroy (dom) < 0)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "cannot stop domain '%s' to revert it to snapshot '%s': %s", dom_name, name,
                   last_error ());
      return FALSE;
    }
  /* The newer snapshots' disks were built on what the revert throws away. */
  g_hash_table_iter_init (&iter, newer);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      g_autofree gchar *newer_memory = NULL;
      g_autoptr (GPtrArray) newer_overlays
          = value != NULL ? molt_snapshot_overlays (value, &newer_memory, NULL) : NULL;

      if (newer_overlays != NULL
          && !remove_snapshot_files (newer_overlays, newer_memory, key, error))
        return FALSE;
      if (!molt_snapshot_forget_metadata (dom, key, error))
        return FALSE;
      g_strv_builder_add (gone, key);
    }
  for (guint i = 0; i < overlays->len; i++)
    if (!fresh_overlay (((MoltSnapshotDisk *) overlays->pdata[i])->file, error))
      {
        g_prefix_error (
            error, "domain '%s' is stopped and not reverted to snapshot '%s': ", dom_name, name);
        return FALSE;
      }
  if ((nvram = nvram_of (live_def)) != NULL)
    {
      g_autofree gchar *dir = g_path_get_dirname (((MoltSnapshotDisk *) overlays->pdata[0])->file);
      g_autofree gchar *copy = nvram_copy_path (dir, name);
      if (g_file_test (copy, G_FILE_TEST_EXISTS) && !copy_file (copy, nvram, error))
        {
          g_prefix_error (error, "cannot put back the UEFI variables of snapshot '%s': ", name);
          return FALSE;
        }
    }
  if (inactive != NULL)
    {
      g_autofree gchar *fixed = on_overlays (inactive, overlays);
      virDomainPtr defined = virDomainDefineXML (conn, fixed);
      if (defined == NULL)
        {
          g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                       "cannot point the definition of domain '%s' at snapshot '%s': %s", dom_name,
                       name, last_error ());
          return FALSE;
        }
      virDomainFree (defined);
    }
  start_xml = on_overlays (live_def, overlays);
  if (memory != NULL
      && virDomainRestoreFlags (conn, memory, start_xml, VIR_DOMAIN_SAVE_RUNNING) < 0)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "cannot restore domain '%s' from the memory of snapshot '%s' (%s): %s", dom_name,
                   name, memory, last_error ());
      return FALSE;
    }
  if (memory == NULL)
    {
      /* A disk-only snapshot: the domain boots from the disks as they were. */
      virDomainPtr started = virDomainCreateXML (conn, start_xml, 0);
      if (started == NULL)
        {
          g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                       "cannot start domain '%s' from the disks of snapshot '%s': %s", dom_name,
                       name, last_error ());
          return FALSE;
        }
      virDomainFree (started);
    }
  if (records != NULL && !redefine_records (conn, dom_name, records, error))
    return FALSE;
  if (dropped != NULL)
    *dropped = g_strv_builder_end (gone);
  return TRUE;
}
