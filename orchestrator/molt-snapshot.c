#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <libvirt/virterror.h>

#include "molt-host-error.h"
#include "molt-snapshot.h"
#include "molt-snapshot-external.h"

static const gchar *
last_error (void)
{
  const gchar *msg = virGetLastErrorMessage ();
  return msg != NULL ? msg : "unknown libvirt error";
}

gboolean
molt_snapshot_create (virDomainPtr dom, const gchar *name, const gchar *description, GError **error)
{
  g_autofree gchar *xml = g_markup_printf_escaped (
      "<domainsnapshot><name>%s</name><description>%s</description></domainsnapshot>", name,
      description);
  /* Before the call that may fail: every libvirt call resets the last
   * error, virDomainGetName too, so it must not run between the failure
   * and the reading of its message. */
  const gchar *dom_name = virDomainGetName (dom);
  g_autoptr (virDomainSnapshot) snap = virDomainSnapshotCreateXML (dom, xml, 0);

  if (snap == NULL)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "cannot snapshot domain '%s': %s", dom_name, last_error ());
      return FALSE;
    }
  return TRUE;
}

static virDomainSnapshotPtr
lookup (virDomainPtr dom, const gchar *name, GError **error)
{
  const gchar *dom_name = virDomainGetName (dom); /* before the call: see create */
  virDomainSnapshotPtr snap = virDomainSnapshotLookupByName (dom, name, 0);

  if (snap == NULL)
    g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                 "domain '%s' has no snapshot '%s': %s", dom_name, name, last_error ());
  return snap;
}

gboolean
molt_snapshot_revert (virDomainPtr dom, const gchar *name, GError **error)
{
  const gchar *dom_name = virDomainGetName (dom); /* before the call: see create */
  g_autoptr (virDomainSnapshot) snap = lookup (dom, name, error);

  if (snap == NULL)
    return FALSE;
  /* libvirt 9.0 reverts no external snapshot: molt does. */
  if (molt_snapshot_is_external (dom, name))
    return molt_snapshot_external_revert (dom, name, error);
  /* FORCE: after --method reboot the running QEMU has another kernel than
   * the snapshot; libvirt then needs a new QEMU process for the revert. */
  if (virDomainRevertToSnapshot (snap, VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING
                                           | VIR_DOMAIN_SNAPSHOT_REVERT_FORCE)
      < 0)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "cannot revert domain '%s' to snapshot '%s': %s", dom_name, name, last_error ());
      return FALSE;
    }
  return TRUE;
}

gboolean
molt_snapshot_delete (virDomainPtr dom, const gchar *name, GError **error)
{
  const gchar *dom_name = virDomainGetName (dom); /* before the call: see create */
  g_autoptr (virDomainSnapshot) snap = lookup (dom, name, error);

  if (snap == NULL)
    return FALSE;
  /* libvirt 9.0 deletes no external snapshot: molt merges it back. */
  if (molt_snapshot_is_external (dom, name))
    return molt_snapshot_external_delete (dom, name, error);
  if (virDomainSnapshotDelete (snap, 0) < 0)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "cannot delete snapshot '%s' of domain '%s': %s", name, dom_name, last_error ());
      return FALSE;
    }
  return TRUE;
}

gboolean
molt_snapshot_exists (virDomainPtr dom, const gchar *name)
{
  g_autoptr (virDomainSnapshot) snap = virDomainSnapshotLookupByName (dom, name, 0);
  return snap != NULL;
}

void
molt_snapshot_info_free (MoltSnapshotInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->name);
  g_free (info->description);
  g_free (info->state);
  g_free (info);
}

/* The text of the first <tag> in libvirt's XML, entities decoded. */
static gchar *
element_text (const gchar *xml, const gchar *tag)
{
  g_autofree gchar *open = g_strdup_printf ("<%s>", tag);
  g_autofree gchar *close = g_strdup_printf ("</%s>", tag);
  const gchar *start = strstr (xml, open);
  const gchar *end;
  GString *out;

  if (start == NULL)
    return NULL;
  start += strlen (open);
  end = strstr (start, close);
  if (end == NULL)
    return NULL;
  out = g_string_new_len (start, end - start);
  g_string_replace (out, "&lt;", "<", 0);
  g_string_replace (out, "&gt;", ">", 0);
  g_string_replace (out, "&quot;", "\"", 0);
  g_string_replace (out, "&apos;", "'", 0);
  g_string_replace (out, "&amp;", "&", 0);
  return g_string_free (out, FALSE);
}

static gint
oldest_first (gconstpointer a, gconstpointer b)
{
  const MoltSnapshotInfo *x = *(MoltSnapshotInfo *const *) a;
  const MoltSnapshotInfo *y = *(MoltSnapshotInfo *const *) b;
  if (x->creation_time != y->creation_time)
    return x->creation_time < y->creation_time ? -1 : 1;
  return g_strcmp0 (x->name, y->name);
}

GPtrArray *
molt_snapshot_list (virDomainPtr dom, GError **error)
{
  const gchar *dom_name = virDomainGetName (dom); /* before the call: see create */
  virDomainSnapshotPtr *snaps = NULL;
  GPtrArray *list;
  int n = virDomainListAllSnapshots (dom, &snaps, 0);

  if (n < 0)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "cannot list the snapshots of '%s': %s", dom_name, last_error ());
      return NULL;
    }
  list = g_ptr_array_new_with_free_func ((GDestroyNotify) molt_snapshot_info_free);
  for (int i = 0; i < n; i++)
    {
      g_autofree gchar *xml = virDomainSnapshotGetXMLDesc (snaps[i], 0);
      MoltSnapshotInfo *info = g_new0 (MoltSnapshotInfo, 1);
      g_autofree gchar *created = NULL;

      info->name = g_strdup (virDomainSnapshotGetName (snaps[i]));
      if (xml != NULL)
        {
          info->description = element_text (xml, "description");
          info->state = element_text (xml, "state");
          created = element_text (xml, "creationTime");
          info->creation_time = created != NULL ? g_ascii_strtoll (created, NULL, 10) : 0;
        }
      g_ptr_array_add (list, info);
      virDomainSnapshotFree (snaps[i]);
    }
  free (snaps);
  g_ptr_array_sort (list, oldest_first);
  return list;
}

gboolean
molt_snapshot_create_full (virDomainPtr dom, const gchar *name, const gchar *description,
                           gboolean memory, GError **error)
{
  if (!memory && virDomainIsActive (dom) == 1)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "domain '%s' is running: libvirt 9.0 takes internal snapshots of a running "
                   "domain with its memory only (set memory=true, or snapshot it shut off)",
                   virDomainGetName (dom));
      return FALSE;
    }
  return molt_snapshot_create (dom, name, description, error);
}
