/* GRUB's next boot, pointed at the old kernel for the time of a switch.
 *
 * Layer 3 of the rollback restarts the domain from its definition. A
 * direct-boot domain's names the old kernel; a guest that boots by its own
 * GRUB would boot GRUB's default entry, which the package that installed
 * the new kernel made the new kernel. So before the kexec the guest's
 * one-shot next_entry names the old kernel's entry (GRUB clears it as it
 * boots it), and once the switch is resolved it is cleared. */
#include "molt-agent-client.h"
#include "molt-domain-kernel.h"
#include "molt-journal.h"
#include "molt-protocol-error.h"
#include "molt-reply.h"
#include "molt-switch-private.h"

#define MOLT_JOURNAL_BOOT_ONCE_ENTRY "boot-once-entry"

void
molt_switch_pin_boot_entry (MoltSwitch *sw, MoltAgentClient *client)
{
  g_autoptr (JsonObject) args = json_object_new ();
  g_autoptr (JsonObject) reply = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *kernel = NULL;
  g_autofree gchar *initrd = NULL;
  g_autofree gchar *cmdline = NULL;
  const gchar *entry = NULL;

  if (sw->o->method != MOLT_SWITCH_METHOD_KEXEC || sw->live_xml == NULL || sw->old_release == NULL)
    return;
  if (!molt_domain_xml_get_kernel (sw->live_xml, &kernel, &initrd, &cmdline, &error))
    {
      g_prefix_error (&error, "cannot tell whether the domain boots by its own GRUB: ");
      molt_switch_warn (sw, "prepare", error);
      return;
    }
  /* Direct boot: the restart boots the <kernel> of the journaled definition. */
  if (kernel != NULL)
    return;
  json_object_set_string_member (args, "release", sw->old_release);
  reply = molt_switch_call_object (client, "boot-once", args, &error);
  if (reply == NULL || !molt_reply_get_string (reply, "boot-once", "entry", 0, &entry, &error))
    {
      if (g_error_matches (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_COMMAND_NOT_FOUND))
        g_prefix_error (&error, "the guest's molt-agent is older than this molt: ");
      g_prefix_error (&error,
                      "should the new kernel not come back, the restart (rollback layer 3) boots "
                      "the guest's default boot entry, which may be the new kernel: ");
      molt_switch_warn (sw, "prepare", error);
      return;
    }
  molt_journal_set_string (sw->journal, MOLT_JOURNAL_BOOT_ONCE_ENTRY, entry);
  json_object_set_string_member (sw->report, "boot-once-entry", entry);
  molt_switch_progress (sw,
                        "GRUB's next boot: '%s' (the old kernel %s), once, should the new kernel "
                        "not come back",
                        entry, sw->old_release);
}

void
molt_switch_unpin_boot_entry (MoltSwitch *sw, MoltAgentClient *client)
{
  g_autoptr (JsonObject) args = json_object_new ();
  g_autoptr (JsonObject) reply = NULL;
  g_autoptr (GError) error = NULL;
  const gchar *entry = molt_journal_get_string (sw->journal, MOLT_JOURNAL_BOOT_ONCE_ENTRY);

  if (entry == NULL)
    return;
  json_object_set_boolean_member (args, "clear", TRUE);
  reply = molt_switch_call_object (client, "boot-once", args, &error);
  if (reply == NULL)
    {
      g_prefix_error (&error,
                      "GRUB's next boot still names '%s' (in the guest, 'grub-editenv "
                      "/boot/grub/grubenv unset next_entry' clears it): ",
                      entry);
      molt_switch_warn (sw, "boot entry", error);
    }
}
