#include <glib.h>
#include <libvirt/virterror.h>

#include "molt-host-error.h"
#include "molt-snapshot.h"

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
  g_autoptr (virDomainSnapshot) snap = virDomainSnapshotCreateXML (dom, xml, 0);

  if (snap == NULL)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "cannot snapshot domain '%s': %s", virDomainGetName (dom), last_error ());
      return FALSE;
    }
  return TRUE;
}

static virDomainSnapshotPtr
lookup (virDomainPtr dom, const gchar *name, GError **error)
{
  virDomainSnapshotPtr snap = virDomainSnapshotLookupByName (dom, name, 0);

  if (snap == NULL)
    g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                 "domain '%s' has no snapshot '%s': %s", virDomainGetName (dom), name,
                 last_error ());
  return snap;
}

gboolean
molt_snapshot_revert (virDomainPtr dom, const gchar *name, GError **error)
{
  g_autoptr (virDomainSnapshot) snap = lookup (dom, name, error);

  if (snap == NULL)
    return FALSE;
  /* FORCE: after --method reboot the running QEMU has another kernel than
   * the snapshot; libvirt then needs a new QEMU process for the revert. */
  if (virDomainRevertToSnapshot (snap, VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING
                                           | VIR_DOMAIN_SNAPSHOT_REVERT_FORCE)
      < 0)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "cannot revert domain '%s' to snapshot '%s': %s", virDomainGetName (dom), name,
                   last_error ());
      return FALSE;
    }
  return TRUE;
}

gboolean
molt_snapshot_delete (virDomainPtr dom, const gchar *name, GError **error)
{
  g_autoptr (virDomainSnapshot) snap = lookup (dom, name, error);

  if (snap == NULL)
    return FALSE;
  if (virDomainSnapshotDelete (snap, 0) < 0)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "cannot delete snapshot '%s' of domain '%s': %s", name, virDomainGetName (dom),
                   last_error ());
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
