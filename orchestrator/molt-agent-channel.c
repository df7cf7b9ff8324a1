#include <string.h>

#include <libvirt/virterror.h>

#include "molt-agent-channel.h"
#include "molt-host-error.h"
#include "molt-libvirt.h"

const gchar *
molt_channel_state_to_string (MoltChannelState state)
{
  switch (state)
    {
    case MOLT_CHANNEL_PRESENT:
      return "present";
    case MOLT_CHANNEL_ADDED:
      return "added";
    case MOLT_CHANNEL_ABSENT_NA:
    default:
      return "n/a";
    }
}

/* One definition (the live one, or the persistent one): read, and the
 * channel attached when it lacks it. */
static gboolean
ensure_in (virDomainPtr dom, gboolean live, MoltChannelState *state, GError **error)
{
  const gchar *name = virDomainGetName (dom);
  const gchar *which = live ? "the running domain" : "its persistent definition";
  g_autofree gchar *xml = virDomainGetXMLDesc (dom, live ? 0 : VIR_DOMAIN_XML_INACTIVE);

  if (xml == NULL)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "cannot read the definition of domain '%s': %s", name,
                   virGetLastErrorMessage ());
      return FALSE;
    }
  if (molt_libvirt_xml_has_agent_channel (xml))
    {
      *state = MOLT_CHANNEL_PRESENT;
      return TRUE;
    }
  /* libvirt 9.0 hot-plugs a channel only onto an existing virtio-serial
   * controller ("'virtio-serial' controller cannot be hot plugged"); most
   * domains have one, for qemu-guest-agent's channel. */
  if (live && strstr (xml, "<controller type='virtio-serial'") == NULL)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "cannot add the agent channel to the running domain '%s': it has no "
                   "virtio-serial controller, and libvirt cannot hot-plug one. %s",
                   name,
                   virDomainIsPersistent (dom) == 1
                       ? "The channel is in its persistent definition now: it works once the "
                         "domain is shut down and started again"
                       : "It is transient: add the channel to the XML it is started from");
      return FALSE;
    }
  if (virDomainAttachDeviceFlags (dom, molt_libvirt_channel_xml (),
                                  live ? VIR_DOMAIN_AFFECT_LIVE : VIR_DOMAIN_AFFECT_CONFIG)
      != 0)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "cannot add the agent channel to %s '%s': %s", which, name,
                   virGetLastErrorMessage ());
      return FALSE;
    }
  *state = MOLT_CHANNEL_ADDED;
  return TRUE;
}

gboolean
molt_agent_channel_ensure (virDomainPtr dom, MoltChannelState *live, MoltChannelState *config,
                           GError **error)
{
  int active = virDomainIsActive (dom);
  int persistent = virDomainIsPersistent (dom);

  *live = *config = MOLT_CHANNEL_ABSENT_NA;
  if (active < 0 || persistent < 0)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED, "cannot query domain '%s': %s",
                   virDomainGetName (dom), virGetLastErrorMessage ());
      return FALSE;
    }
  /* The persistent definition first: a hot-plug that fails still leaves
   * the channel for the next start. */
  if (persistent == 1 && !ensure_in (dom, FALSE, config, error))
    return FALSE;
  if (active == 1 && !ensure_in (dom, TRUE, live, error))
    return FALSE;
  return TRUE;
}
